"""The fake Bot API in a process of its own, for the rate and throughput benchmarks.

    python -m bench.fake_server [--global-rate R] [--per-chat-rate R] [--response-delay S]

Starts `fakes.bot_api.FakeBotAPI` (real HTTP on 127.0.0.1) with those limits, prints one
JSON line `{"base_url": ..., "token": ..., "pid": ...}` and then answers commands, one JSON object
per line on stdin, with one JSON line on stdout (the control channel):

    {"op": "ready", "timeout": 30}          first getUpdates seen -> {"t": monotonic time}
    {"op": "stats"}                         counters: accepted sends, first/last send time, 429s
    {"op": "wait_sends", "n": N, "timeout": T}
    {"op": "drive", "script": "khuyenhoc" | "onboard" | "echo", "members": M, "first_id": ID,
     "spread_s": S}                         all members at once, or (open loop) member n starting
                                            n * S / M seconds in; each waits for every answer
    {"op": "record", "first_id": ID}        one member alone through the "khuyenhoc" script ->
                                            {"steps": [[{"method", "params"}, ...], ...]}: the
                                            calls the bot made for each step (for the peers that
                                            make the same calls)
    {"op": "push_start", "id": ID}          queue a member's /start (before a bot polls)
    {"op": "wait_reply", "id": ID, "timeout": T}  -> {"t": monotonic time of the first answer}
    {"op": "quit"}

Running the simulated members here, next to the server, keeps the bench process out of the
measured path; the server reports its own CPU time so a reader can see it is not the bottleneck.
Times are `time.monotonic()` (CLOCK_MONOTONIC: comparable between processes on Linux).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import itertools
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.control import answer_commands  # noqa: E402
from fakes.bot_api import FakeBotAPI, FakeUser, SentMessage  # noqa: E402

STEP_TIMEOUT = 60.0  # a member gives up on a reply after this long (counted as an error)
# The calls a bot makes to answer a member, replayed by the peers that make the same calls.
REPLAYED = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery"})


class BenchFakeBotAPI(FakeBotAPI):
    """FakeBotAPI plus what the benchmarks observe cheaply: accepted sends with their time, and a
    per-chat change signal (new message or edit) that a simulated member waits on."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first_get_updates: float | None = None
        self.send_times: list[float] = []
        self.version: defaultdict[int, int] = defaultdict(int)
        self.last_changed: dict[int, SentMessage] = {}
        self._chat_waiters: dict[int, list[asyncio.Future]] = defaultdict(list)
        self._send_waiters: list[tuple[int, asyncio.Future]] = []
        self.ready_event = asyncio.Event()

    async def _get_updates(self, params: dict, files: dict) -> list[dict]:
        if self.first_get_updates is None:
            self.first_get_updates = time.monotonic()
            self.ready_event.set()
        return await super()._get_updates(params, files)

    def _send_message(self, params: dict, files: dict) -> dict:
        result = super()._send_message(params, files)  # raises on 429 and other refusals
        self.send_times.append(time.monotonic())
        if self._send_waiters:
            count = len(self.send_times)
            still = []
            for n, future in self._send_waiters:
                if count >= n and not future.done():
                    future.set_result(None)
                elif not future.done():
                    still.append((n, future))
            self._send_waiters = still
        return result

    def _record(self, stored: Any) -> Any:
        stored = super()._record(stored)
        self._changed_chat(stored.sent)
        return stored

    def _edit_message_text(self, params: dict, files: dict) -> dict:
        result = super()._edit_message_text(params, files)
        self._changed_chat(self._message_to_edit(params).sent)
        return result

    def _changed_chat(self, sent: SentMessage) -> None:
        chat = sent.chat_id
        self.version[chat] += 1
        self.last_changed[chat] = sent
        for future in self._chat_waiters.pop(chat, ()):
            if not future.done():
                future.set_result(None)

    async def wait_chat_change(self, chat: int, seen: int, timeout: float) -> None:
        """Until the chat's version is above `seen` (a message or an edit arrived)."""
        deadline = time.monotonic() + timeout
        while self.version[chat] <= seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"chat {chat}: no reply")
            future = asyncio.get_running_loop().create_future()
            self._chat_waiters[chat].append(future)
            try:
                await asyncio.wait_for(future, remaining)
            except TimeoutError:
                pass

    async def wait_send_count(self, n: int, timeout: float) -> None:
        if len(self.send_times) >= n:
            return
        future = asyncio.get_running_loop().create_future()
        self._send_waiters.append((n, future))
        await asyncio.wait_for(future, timeout)


def _button(sent: SentMessage | None, prefix: str, avoid: str = ":-:") -> str | None:
    """The first button whose data starts with `prefix` (skip buttons left alone)."""
    if sent is None:
        return None
    for row in sent.buttons():
        for _, data in row:
            if data.startswith(prefix) and avoid not in data:
                return data
    return None


class Driver:
    """Simulated members: each one in order (waits for the reply before the next step), all of
    them at once."""

    def __init__(self, fake: BenchFakeBotAPI) -> None:
        self.fake = fake
        self.updates = 0
        self.errors: list[str] = []
        self.latencies: list[float] = []  # push -> first visible reply, seconds
        self.member_latencies: defaultdict[int, list[float]] = defaultdict(list)

    async def _step(self, user: FakeUser, push: Any, want: str | None) -> SentMessage | None:
        """Push one update, wait for the reply (and for the button `want` to be on screen)."""
        chat = user.id
        seen = self.fake.version[chat]
        started = time.monotonic()
        push()
        self.updates += 1
        await self.fake.wait_chat_change(chat, seen, STEP_TIMEOUT)
        latency = time.monotonic() - started
        self.latencies.append(latency)
        self.member_latencies[chat].append(latency)
        while want is not None and _button(self.fake.last_changed.get(chat), want) is None:
            # The step answered in more than one message: wait for the one with the button.
            seen = self.fake.version[chat]
            await self.fake.wait_chat_change(chat, seen, STEP_TIMEOUT)
        return self.fake.last_changed.get(chat)

    async def _press(self, user: FakeUser, prefix: str, want: str | None) -> SentMessage | None:
        screen = self.fake.last_changed.get(user.id)
        data = _button(screen, prefix)
        if screen is None or data is None:
            raise LookupError(f"member {user.id}: no button {prefix!r} on screen")
        return await self._step(user, lambda: self.fake.user_presses(user, screen, data), want)

    async def onboard_member(self, uid: int) -> None:
        """Onboarding: /start, language, consent, role, area search, pick the area."""
        user = FakeUser(id=uid, first_name=f"M{uid}", language_code="vi")
        say = self.fake.user_sends
        await self._step(user, lambda: say(user, "/start"), "lang:")
        await self._press(user, "lang:vi", "consent:1")
        await self._press(user, "consent:1", "role:")
        await self._press(user, "role:ho-gia-dinh", "area:")
        await self._step(user, lambda: say(user, "ninh kieu"), "area:")
        await self._press(user, "area:", None)

    async def khuyenhoc_member(self, uid: int) -> None:
        """Onboarding, then one self-assessment (/assess, pick one, start, answer every
        question)."""
        await self.onboard_member(uid)
        user = FakeUser(id=uid, first_name=f"M{uid}", language_code="vi")
        say = self.fake.user_sends
        await self._step(user, lambda: say(user, "/assess"), "ad:")
        await self._press(user, "ad:gia-dinh-hoc-tap", "as:")
        screen = await self._press(user, "as:", "aa:")
        while _button(screen, "aa:") is not None:
            screen = await self._press(user, "aa:", None)

    async def echo_member(self, uid: int, messages: int) -> None:
        user = FakeUser(id=uid, first_name=f"M{uid}", language_code="vi")
        for n in range(messages):
            await self._step(
                user, lambda n=n: self.fake.user_sends(user, f"tin {n} của {uid}"), None
            )

    async def record(self, uid: int) -> list[list[dict]]:
        """One member alone through the "khuyenhoc" script: the Bot API calls the bot made for
        each of its steps (chat, message and callback ids left out)."""
        marks: list[int] = []
        push = self.fake.push_update

        def marking(update: dict) -> int:
            marks.append(len(self.fake.calls))
            return push(update)

        self.fake.push_update = marking  # type: ignore[method-assign]
        try:
            await self.khuyenhoc_member(uid)
            await asyncio.sleep(0.5)  # untimed: let the last step's calls arrive
        finally:
            del self.fake.push_update
        marks.append(len(self.fake.calls))
        ids = ("chat_id", "message_id", "callback_query_id")
        return [
            [
                {"method": name, "params": {k: v for k, v in params.items() if k not in ids}}
                for name, params in self.fake.calls[start:end]
                if name in REPLAYED
            ]
            for start, end in itertools.pairwise(marks)
        ]

    async def run(
        self, script: str, members: int, first_id: int, messages: int, spread_s: float = 0.0
    ) -> dict:
        slowest: list[float] = []  # each member's slowest answer

        async def one(n: int) -> None:
            uid = first_id + n
            if spread_s:  # open loop: arrivals on a schedule, whatever the bot's pace
                await asyncio.sleep(max(0.0, t0 + n * spread_s / members - time.monotonic()))
            try:
                if script == "khuyenhoc":
                    await self.khuyenhoc_member(uid)
                elif script == "onboard":
                    await self.onboard_member(uid)
                else:
                    await self.echo_member(uid, messages)
            except Exception as exc:  # recorded and reported: the figure is then not valid
                self.errors.append(f"{uid}: {type(exc).__name__}: {exc}")
                self.member_latencies[uid].append(float("inf"))
            slowest.append(max(self.member_latencies.pop(uid, [0.0])))

        cpu0, t0 = time.process_time(), time.monotonic()
        await asyncio.gather(*(one(n) for n in range(members)))
        elapsed = time.monotonic() - t0
        cpu = time.process_time() - cpu0
        lat = sorted(self.latencies)
        return {
            "members_within_2s": sum(1 for s in slowest if s <= 2.0) / max(1, len(slowest)),
            "updates": self.updates,
            "elapsed": elapsed,
            "started": t0,
            "fake_cpu_s": cpu,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "reply_p50_ms": lat[len(lat) // 2] * 1000 if lat else 0.0,
            "reply_p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0,
        }


async def serve(args: argparse.Namespace) -> None:
    fake = BenchFakeBotAPI(
        global_rate=args.global_rate,
        per_chat_rate=args.per_chat_rate,
        response_delay=args.response_delay,
    )
    await fake.start()

    async def handle(op: str, command: dict) -> dict:
        if op == "ready":
            await asyncio.wait_for(fake.ready_event.wait(), command.get("timeout", 30))
            return {"t": fake.first_get_updates}
        if op == "stats":
            return _stats(fake)
        if op == "wait_sends":
            await fake.wait_send_count(command["n"], command.get("timeout", 600))
            return _stats(fake)
        if op == "drive":
            return await Driver(fake).run(
                command["script"],
                command["members"],
                command.get("first_id", 1_000_000),
                command.get("messages", 18),
                command.get("spread_s", 0.0),
            )
        if op == "record":
            return {"steps": await Driver(fake).record(command["first_id"])}
        if op == "push_start":
            user = FakeUser(id=command["id"], first_name="Lan", language_code="vi")
            fake.user_sends(user, "/start")
            return {"ok": True}
        if op == "wait_reply":
            await fake.wait_chat_change(command["id"], 0, command.get("timeout", 60))
            return {"t": time.monotonic()}
        return {"error": f"unknown op {op!r}"}

    hello = {"base_url": fake.base_url, "token": fake.token, "pid": os.getpid()}
    try:
        await answer_commands(hello, handle, lambda: _stats(fake))
    finally:
        await fake.stop()


def _stats(fake: BenchFakeBotAPI) -> dict:
    times = fake.send_times
    return {
        "sends": len(times),
        "first": times[0] if times else None,
        "last": times[-1] if times else None,
        "rejected_429": fake.rejected_429,
        "calls": len(fake.calls),
        "methods": dict(collections.Counter(name for name, _ in fake.calls)),
        "cpu_s": time.process_time(),
        "t": time.monotonic(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--global-rate", type=float)
    parser.add_argument("--per-chat-rate", type=float)
    parser.add_argument("--response-delay", type=float, default=0.0)
    # The fake stamps a request's arrival when its handler runs. It keeps every call and message,
    # so its heap grows, and a full garbage collection then stalls it for 70-110 ms; the requests
    # queued meanwhile were all stamped at once afterwards and made "bursts" the bot never sent
    # (every 429 of a 20,000-message paid run came right after such a pause). A measuring
    # instrument must not do that: no cyclic collection in this short-lived process.
    gc.disable()
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
