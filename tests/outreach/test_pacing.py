"""The pacer on an injected clock: even spacing, per-chat gaps, flood pauses, interactive first."""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest

from bot.services.outreach.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slept(monkeypatch):
    """asyncio.sleep replaced by an advance of the fake clock (no real waiting)."""
    clock = Clock()
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return clock, waits


async def test_slots_are_evenly_spaced_at_the_rate(slept):
    clock, _ = slept
    pacer = Pacer(25, clock=clock)
    starts = []
    for n in range(100):
        await pacer.slot(str(n))
        starts.append(clock.now)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(starts)}
    assert gaps == {round(1 / (25 * 0.97), 6)}  # 3% under the limit, for network jitter
    # No one-second window ever holds more than 25 bulk sends.
    assert max(sum(1 for t in starts if s <= t < s + 1) for s in starts) <= 25


async def test_a_flood_pause_is_honoured_exactly_then_resumed(slept):
    clock, _ = slept
    pacer = Pacer(30, clock=clock)
    await pacer.slot("a")
    pacer.pause(5)
    paused_at = clock.now
    await pacer.slot("b")
    assert clock.now == pytest.approx(paused_at + 5)
    await pacer.slot("c")
    assert clock.now == pytest.approx(paused_at + 5 + 1 / (30 * 0.97))


async def test_chat_gaps_and_interactive_replies(slept):
    clock, _ = slept
    pacer = Pacer(30, chat_interval=1.0, group_interval=3.0, clock=clock)
    await pacer.slot("42")
    assert pacer.chat_ready_in("42") == pytest.approx(1.0)
    await pacer.slot("-100")
    assert pacer.chat_ready_in("-100") == pytest.approx(3.0)
    before = clock.now
    pacer.note_interactive("7")  # a reply to a chatting member takes the next slot
    await pacer.slot("8")
    assert clock.now - before == pytest.approx(2 / (30 * 0.97))


class VirtualTime:
    """asyncio.sleep on a virtual clock where sleepers really wait: the earliest wakes first, and
    `lateness(n)` makes the n-th wake-up late, as a busy event loop does. Sleepers whose time has
    passed by then all wake together."""

    def __init__(self, monkeypatch, lateness) -> None:
        self.clock = Clock()
        self.lateness = lateness
        self._heap: list[tuple[float, int, asyncio.Future]] = []
        self._order = itertools.count()
        self._real_sleep = asyncio.sleep
        monkeypatch.setattr(asyncio, "sleep", self.sleep)

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.clock.now + seconds, next(self._order), future))
        await future

    async def run(self, *coroutines) -> None:
        task = asyncio.gather(*coroutines)
        wakes = itertools.count()
        while not task.done():
            for _ in range(5):  # let everything that can run now run
                await self._real_sleep(0)
            if self._heap:
                due, _, future = heapq.heappop(self._heap)
                self.clock.now = max(self.clock.now, due + self.lateness(next(wakes)))
                future.set_result(None)
        await task


async def test_a_late_wake_up_delays_the_rest_instead_of_bursting(monkeypatch):
    """A busy event loop wakes a sleeper late; the sends queued behind it must not all go at once
    to catch up, or the one-second window after the stall holds more than the limit (a 429)."""
    time = VirtualTime(monkeypatch, lambda n: 0.3 if n == 10 else 0.0)  # one 300 ms stall
    pacer = Pacer(30, clock=time.clock)
    starts: list[float] = []

    async def send(n: int) -> None:
        await pacer.slot(str(n))
        starts.append(time.clock.now)

    await time.run(*(send(n) for n in range(90)))  # all waiting at once, as the worker's are
    assert len(starts) == 90
    # After the stall the sends go on evenly spaced; at most 0.3 of a gap is made up.
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.7 / (30 * 0.97) - 1e-9
    assert max(sum(1 for t in starts if s <= t < s + 1) for s in starts) <= 30


async def test_timer_lateness_at_a_high_rate_is_made_up_within_the_limit(monkeypatch):
    """At 1,000/s every sleep overshoots a little; a few saved-up sends make up for it."""
    time = VirtualTime(monkeypatch, lambda n: 0.001)
    pacer = Pacer(1000, clock=time.clock)
    starts: list[float] = []

    async def send_all() -> None:
        for n in range(5000):
            await pacer.slot(str(n))
            starts.append(time.clock.now)

    await time.run(send_all())
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert rate >= 0.95 * 1000
    window = 0
    for i, t in enumerate(starts):  # the most sends in any one-second window
        while starts[window] <= t - 1:
            window += 1
        assert i - window + 1 <= 1000
