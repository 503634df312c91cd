"""`python -m bot whoami`: the Telegram ids a deployment needs, told by Telegram itself.

ADMIN_IDS and SUPPORT_IDS hold Telegram user ids, SUPPORT_CHAT_ID the support group's id: numbers no Telegram app
shows. While this command runs (long polling, before `run` or `serve` is started), everyone who writes to the bot
in a private chat gets their own user id back, and a group the bot is added to (or where someone writes a command
such as /id) gets the group's id, whether it is a supergroup with topics, and the bot's status there. Each answer
is printed on the terminal too. No database and no NIK_PEPPER are needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, Chat, ChatMember, Update, User
from telegram.error import TimedOut

from bot.settings import Settings, SettingsError
from bot.signals import stop_on_signals
from handlers.i18n import DEFAULT_LOCALE, Translator, translator
from handlers.router import escape

log = logging.getLogger(__name__)

POLL_TIMEOUT = 20  # seconds a getUpdates call waits for news
ALLOWED_UPDATES = [Update.MESSAGE, Update.MY_CHAT_MEMBER]
GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)


def _person(user: User | None) -> str:
    if user is None:
        return "?"
    name = user.full_name + (f" (@{user.username})" if user.username else "")
    return f"{name}: {user.id}"


def answer_for(t: Translator, update: Update, bot_username: str) -> tuple[int, str, str] | None:
    """(chat id, the reply, the terminal line) for an update, or None when there is nothing to tell."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    if chat.type == Chat.PRIVATE:
        text = t.gettext("Id Telegram Anda: <code>{id}</code>\nUntuk ADMIN_IDS atau SUPPORT_IDS di pengaturan bot."
                         ).format(id=user.id if user else chat.id)
        return chat.id, text, f"user {_person(user)}"
    if chat.type not in GROUP_TYPES:
        return None
    member = update.my_chat_member.new_chat_member if update.my_chat_member else None
    if member is not None and member.status in (ChatMember.LEFT, ChatMember.BANNED):
        return None  # removed from the group: nothing can be said there
    forum = bool(chat.is_forum)
    lines = [t.gettext("Id grup ini: <code>{id}</code> (untuk SUPPORT_CHAT_ID).").format(id=chat.id)]
    if not forum:
        lines.append(t.gettext("⚠️ Grup ini belum memakai topik: aktifkan Topik di pengaturan grup (grup menjadi"
                               " supergrup dan id-nya berubah), lalu jalankan perintah ini lagi."))
    if member is not None:
        admin = member.status == ChatMember.ADMINISTRATOR
        topics = bool(getattr(member, "can_manage_topics", False))
        lines.append(t.gettext("Status @{bot} di sini: {status}.").format(bot=escape(bot_username),
                                                                         status=member.status))
        if not (admin and topics):
            lines.append(t.gettext("⚠️ Jadikan @{bot} admin dengan izin Kelola Topik.").format(
                bot=escape(bot_username)))
    if user is not None and not update.my_chat_member:
        lines.append(t.gettext("Id Telegram Anda: <code>{id}</code>").format(id=user.id))
    line = f"group {chat.title or ''}: {chat.id} (forum: {'yes' if forum else 'no'}"
    line += f", bot: {member.status})" if member is not None else ")"
    return chat.id, "\n".join(lines), line


async def run_whoami(settings: Settings, *, once: bool = False, stop: asyncio.Event | None = None) -> int:
    """Answer until Ctrl+C (or the first answer, with `once`)."""
    token = settings.require_telegram_token()
    t = translator(DEFAULT_LOCALE)
    stop = stop or asyncio.Event()
    remove_signal_handlers = stop_on_signals(stop)
    try:
        async with Bot(token, base_url=settings.telegram_api_url) as bot:  # getMe: the token works
            webhook = await bot.get_webhook_info()
            if webhook.url:
                raise SettingsError(f"the bot has a webhook ({webhook.url}): `serve` receives its updates, so"
                                    " whoami cannot; run whoami before `serve`, or stop serve and delete the"
                                    " webhook (any `python -m bot run` does)")
            print(f"@{bot.username} answers everyone who writes to it with their Telegram id; add it to the"
                  " support group to learn the group's id. Stop with Ctrl+C.", flush=True)
            await _answer_until(bot, t, stop, once)
    finally:
        remove_signal_handlers()
    return 0


async def _answer_until(bot: Bot, t: Translator, stop: asyncio.Event, once: bool) -> None:
    offset: int | None = None
    while not stop.is_set():
        polling = asyncio.ensure_future(bot.get_updates(offset=offset, timeout=POLL_TIMEOUT,
                                                        allowed_updates=ALLOWED_UPDATES))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not polling.done():
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimedOut):
                await polling
            return
        try:
            updates = polling.result()
        except TimedOut:
            continue
        for update in updates:
            offset = update.update_id + 1
            answer = answer_for(t, update, bot.username)
            if answer is None:
                continue
            chat_id, text, line = answer
            await bot.send_message(chat_id, text, parse_mode="HTML")
            print(line, flush=True)
            if once:
                await bot.get_updates(offset=offset, timeout=0)  # confirm what was read: not answered twice
                return
