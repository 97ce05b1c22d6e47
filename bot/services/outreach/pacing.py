"""Rate limits for bulk sends: overall messages per second, a minimum gap per chat, a pause after a
flood-limit answer, and headroom for interactive replies, which always go first.

Telegram allows about 30 messages a second overall (1,000 with paid broadcasts), one a second per
chat and 20 a minute per group, counted when a request arrives. The pacer is a token bucket read
at the moment each send is let through, one send at a time: a send that wakes late (a busy event
loop, a slow timer) delays the ones after it instead of letting them catch up in a burst, so no
one-second window ever holds more than the limit (bench/README.md: 429s before this).
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
        # Sends a late wake-up may make up for. Timers wake a little late all the time (a
        # millisecond at 1,000/s is a whole send), and without this each lateness is lost for
        # good; a third of the headroom keeps every one-second window under the limit with two
        # thirds of the headroom to spare for network jitter. At 30/s that is 0.3 of a send.
        self.burst = 1.0 + (rate - self.rate) / 3
        self.chat_interval = chat_interval
        self.group_interval = group_interval
        self._clock = clock
        self._tokens = 1.0
        self._stamp = clock()
        self._gate = asyncio.Lock()  # one send let through at a time, in arrival order
        self._paused_until = 0.0
        self._chat_ready: dict[str, float] = {}
        self.waited_s = 0.0

    def pause(self, seconds: float) -> None:
        """A 429 answer: no bulk send before `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        # Resume gently: one send when the pause ends, nothing saved up during it.
        self._tokens, self._stamp = 1.0, self._paused_until

    def note_interactive(self, chat_id: str) -> None:
        """A reply to a chatting member used a slot: bulk sends make room for it."""
        now = self._refill()
        self._tokens -= 1.0  # may go below zero: the next bulk send waits the longer
        self._chat_ready[chat_id] = now + self._interval(chat_id)

    def chat_ready_in(self, chat_id: str) -> float:
        """Seconds until this chat may receive another message (0 when it may now)."""
        return max(0.0, self._chat_ready.get(chat_id, 0.0) - self._clock())

    async def slot(self, chat_id: str) -> None:
        """Wait until a send is allowed now, take it, then book the chat's own gap."""
        async with self._gate:
            while True:
                now = self._refill()
                delay = max(self._paused_until - now, (1.0 - self._tokens) / self.rate)
                if delay < 1e-6:  # float rounding must not leave a last, endless microsleep
                    break
                self.waited_s += delay
                await asyncio.sleep(delay)
            self._tokens -= 1.0
        self._chat_ready[chat_id] = now + self._interval(chat_id)
        if len(self._chat_ready) > 10_000:  # forget chats whose gap has long passed
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}

    def _refill(self) -> float:
        now = self._clock()
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
        return now

    def _interval(self, chat_id: str) -> float:
        return self.group_interval if chat_id.startswith("-") else self.chat_interval
