"""Rate limits for bulk sends: overall messages per second, a minimum gap per chat, a pause after a
flood-limit answer, and headroom for interactive replies, which always go first.

Telegram allows about 30 messages a second overall (1,000 with paid broadcasts), one a second per
chat and 20 a minute per group. The pacer hands out send slots evenly spaced at the configured rate,
so no one-second window ever holds more than that many bulk messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# Sends are spaced a little under the limit: their arrival times jitter by milliseconds, and at
# exactly the limit a one-second window then sometimes holds one message too many (a 429).
HEADROOM = 0.97


class Pacer:
    def __init__(
        self,
        rate: float,
        *,
        chat_interval: float = 1.0,
        group_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.limit = rate
        self.rate = rate * HEADROOM
        self.chat_interval = chat_interval
        self.group_interval = group_interval
        self._clock = clock
        self._next_slot = clock()
        self._paused_until = 0.0
        self._chat_ready: dict[str, float] = {}
        self.waited_s = 0.0

    def pause(self, seconds: float) -> None:
        """A 429 answer: no bulk send before `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def note_interactive(self, chat_id: str) -> None:
        """A reply to a chatting member used a slot: bulk sends make room for it."""
        now = self._clock()
        self._next_slot = max(self._next_slot, now) + 1.0 / self.rate
        self._chat_ready[chat_id] = now + self._interval(chat_id)

    def chat_ready_in(self, chat_id: str) -> float:
        """Seconds until this chat may receive another message (0 when it may now)."""
        return max(0.0, self._chat_ready.get(chat_id, 0.0) - self._clock())

    async def slot(self, chat_id: str) -> None:
        """Wait for the next overall slot, then book the chat's own gap."""
        now = self._clock()
        start = max(self._next_slot, self._paused_until, now)
        self._next_slot = start + 1.0 / self.rate
        delay = start - now
        if delay > 0:
            self.waited_s += delay
            await asyncio.sleep(delay)
        self._chat_ready[chat_id] = self._clock() + self._interval(chat_id)
        if len(self._chat_ready) > 10_000:  # forget chats whose gap has long passed
            horizon = self._clock()
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > horizon}

    def _interval(self, chat_id: str) -> float:
        return self.group_interval if chat_id.startswith("-") else self.chat_interval
