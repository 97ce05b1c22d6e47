"""A python-telegram-bot bot making, per update, the same Bot API calls our bot makes (bench/
peers/replay.py), with the library's defaults (httpx transport, updates handled one at a time)
and its typed methods.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT/bot BENCH_TRANSCRIPT=steps.json \
        python -m bench.peers.ptb_same
"""

import os

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench.peers.replay import Transcript

transcript = Transcript()


def _options(params: dict, bot: object) -> dict:
    options: dict = {"parse_mode": params.get("parse_mode")}
    if "reply_markup" in params:
        options["reply_markup"] = InlineKeyboardMarkup.de_json(params["reply_markup"], bot)
    if "link_preview_options" in params:
        options["link_preview_options"] = LinkPreviewOptions(**params["link_preview_options"])
    return options


async def replay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat_id = update.effective_chat.id
    query = update.callback_query
    for call in transcript.calls_for(chat_id):
        method, params = call["method"], call["params"]
        if method == "answerCallbackQuery" and query is not None:
            await query.answer(params.get("text"))
        elif method == "editMessageText" and query is not None:
            await context.bot.edit_message_text(
                params["text"],
                chat_id=chat_id,
                message_id=query.message.message_id,
                **_options(params, context.bot),
            )
        elif method == "sendMessage":
            await context.bot.send_message(chat_id, params["text"], **_options(params, context.bot))


def main() -> None:
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, replay))
    application.add_handler(CallbackQueryHandler(replay))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
