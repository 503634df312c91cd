"""The Telegram channel: python-telegram-bot in front of the platform-free router.

- updates.py: Update -> Event        - markup.py: Reply -> HTML messages and keyboards
- delivery.py: sending, safely       - processor.py: one chat in order, chats concurrently
- commands.py: setMyCommands         - application.py: the Application and long polling
- request.py: the lean HTTP path     - groups.py: what is said outside private chats
- topics.py: the support desk
"""

from bot.channels.telegram.application import build_application, run_polling
from bot.channels.telegram.processor import ChatOrderedProcessor

__all__ = ["ChatOrderedProcessor", "build_application", "run_polling"]
