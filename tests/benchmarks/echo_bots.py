"""The baselines of the polling benchmark: the smallest bots two frameworks allow, long polling a Bot API.

    python -m tests.benchmarks.echo_bots ptb|aiogram API_ROOT TOKEN

`ptb`: python-telegram-bot as its documentation's echo example writes it (ApplicationBuilder, one MessageHandler,
`run_polling`, every default). `aiogram`: aiogram 3 likewise (Dispatcher, one message handler, `start_polling`,
its default aiohttp session). Each answers every message with its text (a contact with "contact"). Both stop on
SIGINT/SIGTERM. aiogram is in the optional `bench` extra (`pip install -e '.[bench]'`), not a dependency of the bot.
"""

from __future__ import annotations

import asyncio
import sys

CONTACT_ECHO = "contact"


def ptb(api_root: str, token: str) -> None:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        await message.reply_text(message.text or CONTACT_ECHO)

    application = ApplicationBuilder().token(token).base_url(f"{api_root}/bot").build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling()


def aiogram(api_root: str, token: str) -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or CONTACT_ECHO)

    async def main() -> None:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_root)))
        await dispatcher.start_polling(bot)

    asyncio.run(main())


if __name__ == "__main__":
    kind, root, token = sys.argv[1:4]
    {"ptb": ptb, "aiogram": aiogram}[kind](root, token)
