"""The fake Zalo Bot Platform in a process of its own, for `bench_zalobot`.

    python -m bench.zalobot_server

Starts `fakes.zalo_bot_api.FakeZaloBot` (real HTTP on 127.0.0.1: one update per getUpdates, the
bot's own sends echoed back as updates, as the platform does), prints one JSON line
`{"api_url": ..., "token": ..., "pid": ...}`, then answers commands on stdin as
bench.fake_server does:

    {"op": "ready", "timeout": 30}     first getUpdates seen -> {"t": monotonic time}
    {"op": "drive", "members": M}      M members at once, each in order: onboarding and one
                                       self-assessment by typed numbers -> counts and times
    {"op": "quit"}
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.control import answer_commands  # noqa: E402
from fakes.zalo_bot_api import FakeZaloBot  # noqa: E402

STEP_TIMEOUT = 60.0
CHOICE = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)
NOT_AN_ANSWER = ("‹ Câu trước", "Dừng, hủy bài")


class BenchFakeZaloBot(FakeZaloBot):
    """FakeZaloBot plus a per-chat record of the last message and a per-chat wake-up, so that
    thousands of waiting members cost nothing while they wait."""

    def __init__(self) -> None:
        super().__init__()
        self.first_poll: float | None = None
        self.ready = asyncio.Event()
        self.version: defaultdict[str, int] = defaultdict(int)
        self.last_text: dict[str, str] = {}
        self._waiters: dict[str, list[asyncio.Future]] = defaultdict(list)

    async def _m_getUpdates(self, params: dict) -> Any:
        if self.first_poll is None:
            self.first_poll = time.monotonic()
            self.ready.set()
        return await super()._m_getUpdates(params)

    def _sent(self, params: dict) -> Any:
        answer = super()._sent(params)
        chat = str(params.get("chat_id", ""))
        self.sent.clear()  # kept per chat below instead: the list would only grow
        self.version[chat] += 1
        self.last_text[chat] = params.get("text") or params.get("caption") or ""
        for future in self._waiters.pop(chat, ()):
            if not future.done():
                future.set_result(None)
        return answer

    async def changed(self, chat: str, seen: int) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while self.version[chat] <= seen:
            future = asyncio.get_running_loop().create_future()
            self._waiters[chat].append(future)
            await asyncio.wait_for(future, max(0.0, deadline - time.monotonic()))


class Driver:
    def __init__(self, fake: BenchFakeZaloBot) -> None:
        self.fake = fake
        self.updates = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []

    async def _say(self, chat: str, text: str, want: str | None = None) -> str:
        """Send `text`; wait for the answer (and for one listing `want` among its choices)."""
        seen = self.fake.version[chat]
        started = time.monotonic()
        self.fake.say(chat, text, name=f"M{chat[-4:]}")
        self.updates += 1
        await self.fake.changed(chat, seen)
        self.latencies.append(time.monotonic() - started)
        while want is not None and self._number(chat, want) is None:
            await self.fake.changed(chat, self.fake.version[chat])
        return self.fake.last_text[chat]

    def _number(self, chat: str, label: str) -> str | None:
        for number, shown in CHOICE.findall(self.fake.last_text.get(chat, "")):
            if label in shown:
                return number
        return None

    async def _choose(self, chat: str, label: str, want: str | None = None) -> str:
        number = self._number(chat, label)
        if number is None:
            raise LookupError(f"{chat}: no choice {label!r}")
        return await self._say(chat, number, want)

    async def member(self, n: int) -> None:
        chat = f"be{n:018x}"
        await self._say(chat, "Xin chào", "Tiếng Việt")
        await self._choose(chat, "Tiếng Việt", "Đồng ý")
        await self._choose(chat, "Đồng ý", "Hộ gia đình")
        await self._choose(chat, "Hộ gia đình")
        await self._say(chat, "ninh kieu", "Ninh Kiều")
        await self._choose(chat, "Ninh Kiều")
        await self._say(chat, "/assess", "Gia đình học tập")
        await self._choose(chat, "Gia đình học tập", "Bắt đầu")
        text = await self._choose(chat, "Bắt đầu")
        for _ in range(9):  # the family assessment's questions
            answers = [k for k, label in CHOICE.findall(text) if label not in NOT_AN_ANSWER]
            text = await self._say(chat, answers[0])

    async def run(self, members: int) -> dict:
        async def one(n: int) -> None:
            try:
                await self.member(n)
            except Exception as exc:
                self.errors.append(f"{n}: {type(exc).__name__}: {exc}")

        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.gather(*(one(n) for n in range(members)))
        elapsed = time.monotonic() - t0
        lat = sorted(self.latencies)
        return {
            "updates": self.updates,
            "elapsed": elapsed,
            "fake_cpu_s": time.process_time() - cpu0,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "reply_p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0,
        }


async def serve() -> None:
    fake = BenchFakeZaloBot()
    await fake.start()

    async def handle(op: str, command: dict) -> dict:
        if op == "ready":
            await asyncio.wait_for(fake.ready.wait(), command.get("timeout", 30))
            return {"t": fake.first_poll}
        if op == "drive":
            return await Driver(fake).run(command["members"])
        return {"error": f"unknown op {op!r}"}

    hello = {"api_url": fake.api_url, "token": fake.token, "pid": os.getpid()}
    try:
        await answer_commands(hello, handle)
    finally:
        await fake.stop()


if __name__ == "__main__":
    gc.disable()  # a short-lived measuring process: no collection pauses (see fake_server)
    asyncio.run(serve())
