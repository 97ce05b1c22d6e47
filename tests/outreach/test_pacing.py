"""The pacer on an injected clock: even spacing, per-chat gaps, flood pauses, interactive first."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.outreach.pacing import Pacer


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
