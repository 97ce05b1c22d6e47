"""An aiogram 3 bot making, per update, the same Bot API calls our bot makes (bench/peers/
replay.py): it answers the button, edits or sends, with the same texts and keyboards. Idiomatic
aiogram: typed methods, keyboards built as objects per call, the dispatcher's defaults.

    TELEGRAM_BOT_TOKEN=1:x TELEGRAM_API_ROOT=http://127.0.0.1:PORT BENCH_TRANSCRIPT=steps.json \
        python -m bench.peers.aiogram_same
"""

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message

from bench.peers.replay import Transcript

dp = Dispatcher()
transcript = Transcript()


def _options(params: dict) -> dict:
    options: dict = {"parse_mode": params.get("parse_mode")}
    if "reply_markup" in params:
        options["reply_markup"] = InlineKeyboardMarkup.model_validate(params["reply_markup"])
    if "link_preview_options" in params:
        options["link_preview_options"] = LinkPreviewOptions(**params["link_preview_options"])
    return options


async def _replay(bot: Bot, chat_id: int, query: CallbackQuery | None) -> None:
    for call in transcript.calls_for(chat_id):
        method, params = call["method"], call["params"]
        if method == "answerCallbackQuery" and query is not None:
            await query.answer(params.get("text"))
        elif method == "editMessageText" and query is not None and query.message is not None:
            await bot.edit_message_text(
                params["text"],
                chat_id=chat_id,
                message_id=query.message.message_id,
                **_options(params),
            )
        elif method == "sendMessage":
            await bot.send_message(chat_id, params["text"], **_options(params))


@dp.message()
async def on_message(message: Message, bot: Bot) -> None:
    await _replay(bot, message.chat.id, None)


@dp.callback_query()
async def on_press(query: CallbackQuery, bot: Bot) -> None:
    await _replay(bot, query.from_user.id, query)


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_ROOT"]))
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
