"""A plain python-telegram-bot echo bot: the library's defaults (httpx transport, updates handled
one at a time), as in its own examples. Token and server from the environment.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT/bot python -m bench.peers.ptb_echo
"""

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
