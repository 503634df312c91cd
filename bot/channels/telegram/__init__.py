"""The Telegram channel: python-telegram-bot in front of the platform-free router.

- updates.py: Update -> Event        - markup.py: Reply -> HTML messages and keyboards
- delivery.py: sending, safely       - processor.py: one chat in order, chats concurrently
- commands.py: setMyCommands         - application.py: the Application (bot/run.py polls with it)
- request.py: the lean HTTP path     - groups.py: what is said outside private chats
- topics.py: the support desk        - transport.py: the outbox's transport, downloads of users' files
- webhook.py: webhook bodies PTB cannot read as they come
"""

from bot.channels.telegram.application import build_application
from bot.channels.telegram.processor import ChatOrderedProcessor

__all__ = ["ChatOrderedProcessor", "build_application"]
