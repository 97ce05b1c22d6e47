"""A plain aiogram 3 echo bot (aiohttp transport, the dispatcher's defaults), as in its own
examples. Token and server root from the environment.

    TELEGRAM_BOT_TOKEN=1:x TELEGRAM_API_ROOT=http://127.0.0.1:PORT \
        python -m bench.peers.aiogram_echo
"""

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()


@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_ROOT"]))
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
