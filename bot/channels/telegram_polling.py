"""Long polling for Telegram that hands each update on as the JSON it came as.

python-telegram-bot's `Updater` turns every update into `Update` objects first; the channel reads a
handful of fields from each, and building the objects was a sixth of the bot's CPU under load
(bench/README.md). This poller calls `getUpdates` through the same `Bot` (same request class,
timeouts and errors) and puts the dicts on the `Application`'s update queue, where a
`TypeHandler(dict)` takes them. It keeps the `Updater`'s manners: back off on errors, stop on a
rejected token, and confirm what was fetched when it stops, so nothing is handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram.error import EndPointNotFound, InvalidToken, RetryAfter, TelegramError

log = logging.getLogger(__name__)

BATCH = 100  # the most updates one getUpdates returns
READ_MARGIN_S = 5.0  # on top of the long-poll timeout before a silent connection counts as dead
MAX_BACKOFF_S = 30.0
# After a batch that was not full, wait this long before the next getUpdates. Asked at once, a
# busy bot gets one update per answer and pays a request for each (measured with 300 members:
# 4,736 getUpdates for 5,400 updates; 660 -> 720 updates/s with 10 ms). A member never notices
# 10 ms, and a quiet bot waits in the long poll as before.
GATHER_S = 0.01


class Poller:
    """getUpdates in a loop from `start()` to `stop()`; each update goes on `queue` as a dict."""

    def __init__(
        self,
        bot: Any,
        queue: asyncio.Queue[object],
        *,
        timeout: int,
        allowed_updates: list[str],
        backoff_base: float = 1.0,
    ) -> None:
        self.bot = bot
        self.queue = queue
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self.backoff_base = backoff_base
        self.gather_s = GATHER_S
        self.offset: int | None = None  # the next update wanted; earlier ones are confirmed
        self.failures = 0  # in a row
        self._task: asyncio.Task[None] | None = None
        self.ended = asyncio.Event()  # set when polling has ended, for whatever reason

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self.ended.clear()
        self._task = asyncio.create_task(self._run(), name="telegram-poller")
        self._task.add_done_callback(lambda _: self.ended.set())

    async def stop(self) -> None:
        """Stop fetching; tell Telegram the fetched updates are taken (they are on the queue)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self.offset is not None:
            with contextlib.suppress(TelegramError):
                await self._fetch(timeout=0, limit=1)

    async def _fetch(self, *, timeout: int, limit: int = BATCH) -> list[dict[str, Any]]:
        params = {"timeout": timeout, "limit": limit, "allowed_updates": self.allowed_updates}
        if self.offset is not None:
            params["offset"] = self.offset
        return await self.bot.do_api_request(
            "getUpdates", api_kwargs=params, read_timeout=timeout + READ_MARGIN_S
        )

    async def _run(self) -> None:
        while True:
            try:
                updates = await self._fetch(timeout=self.timeout)
            # do_api_request reports a 401/404 as EndPointNotFound; getUpdates exists, so
            # either means the token was revoked.
            except (InvalidToken, EndPointNotFound):
                log.critical("telegram: the bot token was rejected; polling stops")
                return
            except RetryAfter as exc:
                await self._pause(retry_seconds(exc), exc)
                continue
            # Network errors, timeouts, 5xx; Conflict: another process polls with this token.
            except TelegramError as exc:
                await self._pause(self._backoff(), exc)
                continue
            self.failures = 0
            for update in updates:
                await self.queue.put(update)
                self.offset = int(update["update_id"]) + 1
            if 0 < len(updates) < BATCH:
                # Busy: let a few more updates gather before asking again. Asked at once,
                # the answer holds one update and every update costs a request of its own.
                await asyncio.sleep(self.gather_s)

    def _backoff(self) -> float:
        """1, 2, 4 ... 30 seconds: a network outage is not hammered, a blip costs a second."""
        return min(MAX_BACKOFF_S, self.backoff_base * 2.0 ** min(self.failures, 5))

    async def _pause(self, seconds: float, exc: Exception) -> None:
        self.failures += 1
        log.warning(
            "telegram: getUpdates failed (%s: %s); again in %.0f s",
            type(exc).__name__,
            exc,
            seconds,
        )
        await asyncio.sleep(seconds)


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after: seconds today, a timedelta in coming PTB versions."""
    delay = exc.retry_after
    return delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
