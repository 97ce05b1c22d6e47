"""Long polling for Telegram that hands each update on as the JSON it came as.

python-telegram-bot's `Updater` turns every update into `Update` objects first; the channel reads a
handful of fields from each, and building the objects was a sixth of the bot's CPU under load
(bench/README.md). This poller calls `getUpdates` through the same `Bot` (same request class,
timeouts and errors) and puts the dicts on the `Application`'s update queue, where a
`TypeHandler(dict)` takes them. It keeps the `Updater`'s manners: back off on errors, stop on a
rejected token, and confirm what was handled when it stops. Unlike the `Updater`, it confirms an
update only once it is handled, so a crash loses no message (a restart may handle one again).
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
# While every update Telegram returns is still being handled, new ones are looked for this often.
IN_HAND_RECHECK_S = 0.25


class Poller:
    """getUpdates in a loop from `start()` to `stop()`; each update goes on `queue` as a dict.

    Telegram forgets every update below the offset a getUpdates call carries, so the offset only
    moves past an update once the channel reports it `handled`: a crash then loses nothing, and
    a restart handles again what was taken but not finished (at least once). Updates of
    different chats finish out of order, so the offset is the lowest update still in hand. (A
    getUpdates answer holds 100 updates from the offset: one update stuck in hand lets at most
    99 later ones be taken until it finishes.)
    """

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
        self.offset: int | None = None  # the lowest update not yet handled; earlier ones confirmed
        self._next: int | None = None  # the lowest update not yet taken (put on the queue)
        self._in_hand: set[int] = set()  # taken, not yet handled
        self._progress = asyncio.Event()  # an update was handled since the last fetch
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
        """Stop fetching; tell Telegram which updates are handled (the rest come again)."""
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        except Exception:  # _run survives everything; this is for shutdown never to break
            log.exception("telegram: the poller failed")
        self._task = None
        await self.confirm()

    async def confirm(self) -> None:
        """Tell Telegram now that the updates below the offset are handled."""
        if self.offset is None:
            return
        with contextlib.suppress(TelegramError):
            await self._fetch(timeout=0, limit=1)

    def handled(self, update_id: int) -> None:
        """The channel has finished with `update_id`: the offset may move past it."""
        self._in_hand.discard(update_id)
        self.offset = min(self._in_hand) if self._in_hand else self._next
        self._progress.set()

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
                if not await self._poll_once():
                    return
            except asyncio.CancelledError:
                raise
            # A bug or a malformed answer must not end polling silently: the bot would look
            # alive and answer no one.
            except Exception as exc:
                log.exception("telegram: polling failed unexpectedly")
                await self._pause(self._backoff(), exc)

    async def _poll_once(self) -> bool:
        """One getUpdates and its updates taken; False when polling must end."""
        self._progress.clear()
        try:
            updates = await self._fetch(timeout=self.timeout)
        # do_api_request reports a 401/404 as EndPointNotFound; getUpdates exists, so
        # either means the token was revoked.
        except (InvalidToken, EndPointNotFound):
            log.critical("telegram: the bot token was rejected; polling stops")
            return False
        except RetryAfter as exc:
            await self._pause(retry_seconds(exc), exc)
            return True
        # Network errors, timeouts, 5xx; Conflict: another process polls with this token.
        except TelegramError as exc:
            await self._pause(self._backoff(), exc)
            return True
        self.failures = 0
        taken = 0
        for update in updates:
            taken += await self._take(update)
        if updates and not taken and self._in_hand:
            # Everything returned is still being handled (a reply waiting out a flood limit or
            # an outage): asking again at once would return the same updates in a busy loop,
            # and waiting for them would hold up every other member's new updates. Ask again
            # when one is handled, or after a short pause.
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation
            # that stops the poller when the event is set at the same moment.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IN_HAND_RECHECK_S):
                    await self._progress.wait()
        elif updates and not taken:  # only malformed ones, which come back until a good one
            await asyncio.sleep(self.backoff_base)
        elif 0 < len(updates) < BATCH:
            # Busy: let a few more updates gather before asking again. Asked at once,
            # the answer holds one update and every update costs a request of its own.
            await asyncio.sleep(self.gather_s)
        return True

    async def _take(self, update: Any) -> int:
        """Queue one update unless it was taken before; 1 if it was queued now."""
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int):
            log.warning("telegram: skipped an update without an update_id: %.200r", update)
            return 0
        if self._next is not None and update_id < self._next:
            return 0  # still in hand: the offset has not moved past it yet
        await self.queue.put(update)
        # Recorded once queued (an unbounded queue's put does not yield to the handler): an
        # update that failed to go on the queue comes again with the next getUpdates.
        self._in_hand.add(update_id)
        self._next = update_id + 1
        if self.offset is None:
            self.offset = update_id
        return 1

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
