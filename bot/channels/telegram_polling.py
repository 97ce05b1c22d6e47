"""Long polling for Telegram that hands each update on as the JSON it came as.

python-telegram-bot's `Updater` turns every update into `Update` objects first; the channel reads a
handful of fields from each, and building the objects was a sixth of the bot's CPU under load
(bench/README.md). This poller calls `getUpdates` through the same `Bot` (same request class,
timeouts and errors) and puts the dicts on the `Application`'s update queue, where a
`TypeHandler(dict)` takes them. It keeps the `Updater`'s manners: back off on errors, stop on a
rejected token, and confirm what was handled when it stops. Unlike the `Updater`, it confirms an
update to Telegram only once it is stored in the inbound log, so a crash loses no message: the
next start handles what the log still holds (a restart may handle one again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from telegram.error import EndPointNotFound, InvalidToken, RetryAfter, TelegramError

from bot.core.channel import InboundLog

log = logging.getLogger(__name__)

BATCH = 100  # the most updates one getUpdates returns
READ_MARGIN_S = 5.0  # on top of the long-poll timeout before a silent connection counts as dead
MAX_BACKOFF_S = 30.0
# After a batch that was not full, wait this long before the next getUpdates. Asked at once, a
# busy bot gets one update per answer and pays a request for each (measured with 300 members:
# 4,736 getUpdates for 5,400 updates; 660 -> 720 updates/s with 10 ms). A member never notices
# 10 ms, and a quiet bot waits in the long poll as before.
GATHER_S = 0.01
# Handled updates leave the inbound log in batches, this often (one statement per batch).
RELEASE_EVERY_S = 0.05
CHANNEL = "telegram"


class Poller:
    """getUpdates in a loop from `start()` to `stop()`; each update goes on `queue` as a dict.

    Telegram forgets every update below the offset a getUpdates call carries, so the offset
    moves past an update only once it is stored in the inbound log (one statement per fetched
    batch); a handled update leaves the log (in batches). A crash then loses nothing: the next
    start handles what the log holds first (at least once). The offset never waits for slow
    updates, so a fetch returns only new updates: before the log, the offset stayed at the
    oldest update in hand, and a busy bot fetched and decoded every update in hand again and
    again (84,851 updates fetched for 5,400 handled, 300 members; bench/README.md), and could
    not see new updates at all while 100 were in hand.

    When the log cannot be written (the database locked past its patience, a full disk), the
    updates are handled all the same (the member gets "Hội đang bận" at worst), and the offset
    stays at the oldest of them until it is handled, as Telegram's own at-least-once allows.
    """

    def __init__(
        self,
        bot: Any,
        queue: asyncio.Queue[object],
        kept: InboundLog,
        *,
        timeout: int,
        allowed_updates: list[str],
        backoff_base: float = 1.0,
    ) -> None:
        self.bot = bot
        self.queue = queue
        self.kept = kept
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self.backoff_base = backoff_base
        self.gather_s = GATHER_S
        self._next: int | None = None  # the lowest update not yet taken
        self._in_hand: set[int] = set()  # taken, not yet handled
        self._unkept: set[int] = set()  # in hand and not in the log: Telegram must keep them
        self._released: list[int] = []  # handled, still in the log
        self._releasing: asyncio.Task[None] | None = None
        self._resumed = False
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
        """Stop fetching; tell Telegram which updates are kept (the log has the rest)."""
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
        """Release the handled updates from the log now, and tell Telegram the offset."""
        if self._releasing is not None:
            self._releasing.cancel()
            self._releasing = None
        await self._release()
        if self._next is None:
            return
        with contextlib.suppress(TelegramError):
            await self._fetch(timeout=0, limit=1)

    def handled(self, update_id: int) -> None:
        """The channel has finished with `update_id`: it may leave the log (soon, in a batch)."""
        if update_id not in self._in_hand:
            return  # not one of ours: a webhook's update
        self._in_hand.discard(update_id)
        if update_id in self._unkept:
            self._unkept.discard(update_id)  # the next getUpdates may confirm it
            return
        self._released.append(update_id)
        if self._releasing is None or self._releasing.done():
            self._releasing = asyncio.create_task(self._release_soon())

    @property
    def offset(self) -> int | None:
        """What getUpdates tells Telegram: forget everything below this."""
        return min(self._unkept) if self._unkept else self._next

    async def _release_soon(self) -> None:
        await asyncio.sleep(RELEASE_EVERY_S)
        await self._release()

    async def _release(self) -> None:
        ids, self._released = self._released, []
        try:
            await self.kept.release(CHANNEL, ids)
        except Exception:  # the database out of reach: try again with the next batch
            log.exception("telegram: could not release %d handled updates", len(ids))
            self._released.extend(ids)

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
                if not self._resumed:
                    await self._resume()
                if not await self._poll_once():
                    return
            except asyncio.CancelledError:
                raise
            # A bug, a malformed answer or the database out of reach must not end polling
            # silently: the bot would look alive and answer no one.
            except Exception as exc:
                log.exception("telegram: polling failed unexpectedly")
                await self._pause(self._backoff(), exc)

    async def _resume(self) -> None:
        """First, the updates a previous run kept but did not finish (it crashed)."""
        bodies = await self.kept.pending(CHANNEL)
        for body in bodies:
            await self._take(json.loads(body))
        if bodies:
            log.warning("telegram: handling %d updates the last run left unfinished", len(bodies))
        self._resumed = True

    async def _poll_once(self) -> bool:
        """One getUpdates and its updates kept and taken; False when polling must end."""
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
        fresh = [u for u in updates if self._is_new(u)]
        # Stored before taken: once kept, the next getUpdates may tell Telegram to forget them.
        kept = await self._keep(fresh)
        for update in fresh:
            await self._take(update, kept=kept)
        if updates and not fresh:  # only malformed ones, which come back until a good one
            await asyncio.sleep(self.backoff_base)
        elif 0 < len(updates) < BATCH:
            # Busy: let a few more updates gather before asking again. Asked at once,
            # the answer holds one update and every update costs a request of its own.
            await asyncio.sleep(self.gather_s)
        return True

    async def _keep(self, updates: list[dict[str, Any]]) -> bool:
        """Store the updates in the log; False when the database cannot take them now."""
        bodies = [
            (u["update_id"], json.dumps(u, ensure_ascii=False, separators=(",", ":")))
            for u in updates
        ]
        try:
            await self.kept.keep(CHANNEL, bodies)
        except Exception as exc:
            log.warning(
                "telegram: cannot keep %d updates (%s); Telegram keeps them", len(bodies), exc
            )
            return False
        return True

    def _is_new(self, update: Any) -> bool:
        update_id = _id_of(update)
        if update_id is None:
            log.warning("telegram: skipped an update without an update_id: %.200r", update)
            return False
        return self._next is None or update_id >= self._next

    async def _take(self, update: dict[str, Any], *, kept: bool = True) -> None:
        """Queue one update; the offset moves past it if it is kept."""
        update_id = update["update_id"]
        await self.queue.put(update)
        self._in_hand.add(update_id)
        if not kept:
            self._unkept.add(update_id)
        self._next = max(self._next or 0, update_id + 1)

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


def _id_of(update: Any) -> int | None:
    update_id = update.get("update_id") if isinstance(update, dict) else None
    return update_id if isinstance(update_id, int) else None


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after: seconds today, a timedelta in coming PTB versions."""
    delay = exc.retry_after
    return delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
