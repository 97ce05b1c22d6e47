"""CPU per Bot API call: python-telegram-bot's typed method against `do_api_request` with the
JSON result, the same `sendMessage` (Vietnamese text, a 4-button keyboard) to the fake server in
its own process, 8 calls at a time. Not part of `make bench` (a profile aid, bench/README.md).

    .venv/bin/python -m bench.micro_calls
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bench.harness import fake_server
from bot.channels.aiohttp_request import AiohttpRequest
from bot.channels.telegram import raw_call

CALLS = 3000
CHAT = 5000


async def _measure(label: str, call: Callable[[], Awaitable[object]]) -> None:
    places = asyncio.Semaphore(8)

    async def one() -> None:
        async with places:
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CALLS)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label:18} {cpu * 1e6 / CALLS:6.0f} µs CPU a call  {CALLS / wall:7.0f} calls/s")


async def main() -> None:
    text = "Câu hỏi 3: Gia đình có tủ sách hoặc góc học tập cho con cháu không? " * 3
    rows = [[(f"Lựa chọn {n}", f"aa:1:3:{n}")] for n in range(4)]
    typed = InlineKeyboardMarkup(
        [[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in rows]
    )
    raw = {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in rows]}
    params = {"chat_id": CHAT, "text": text, "parse_mode": "HTML", "reply_markup": raw}
    async with fake_server() as fake:
        bot = Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest())
        await bot.initialize()
        try:
            for _ in range(2):  # the second round is the one to read (warm connections)
                await _measure(
                    "typed send_message",
                    lambda: bot.send_message(CHAT, text, parse_mode="HTML", reply_markup=typed),
                )
                await _measure("raw_call", lambda: raw_call(bot, "sendMessage", params))
        finally:
            await bot.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
