"""The terminal channel: the chat on stdin/stdout (channel.py) and the outbox's transport to it (transport.py)."""

from bot.channels.console.channel import CAPABILITIES, ConsoleChannel, LocalFiles, is_exit, read_lines, to_plain

__all__ = ["CAPABILITIES", "ConsoleChannel", "LocalFiles", "is_exit", "read_lines", "to_plain"]
