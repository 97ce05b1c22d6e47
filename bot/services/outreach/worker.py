"""The delivery worker: turns due announcements into deliveries and sends them under the limits.

Everything it does is rebuilt from the database: at start, rows a dead worker left "sending" go
back to pending. Delivery is at-least-once: after a crash, the sends that were in flight and the
confirmations not yet written (at most `max_in_flight` sends plus `flush_every` seconds of
results) may be sent again; nothing is ever lost.

Sends overlap (`max_in_flight`), while the `Pacer` spaces their start at the configured rate, so
the rate limit, not the round trip, sets the pace, and one slow send never stalls the rest.

A channel whose platform stops answering (5xx, timeouts, refused connections for every chat, as
its `Sender.probe` confirms) is *down*: its deliveries wait, attempts untouched, while the platform
is asked again with back-off; they go out when it answers, or end skipped at the announcement's
expiry (`DEFAULT_EXPIRY` after its start when it has none). /healthz and the progress report say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.core.channel import DeliveryError, Failure, Sender
from bot.records import BLOCKED, FAILED, PENDING, SENT, SKIPPED, Announcement, Delivery, Outcome
from bot.services.outreach.pacing import Pacer
from bot.store import Store

log = logging.getLogger(__name__)

OUTSIDE_WINDOW = "outside_window"  # skipped: the platform allows no message to this member now
# (announcement, counts, locale, final, outside_window) -> the sender's progress or report text
ReportText = Callable[..., str]
NotMet = Callable[[str], list[str]]  # title id -> definition ids
# Failures after which a person's delivery moves to another of their linked accounts: this
# account cannot be reached (a quota counts when its wait is long; a flood limit of a second
# does not).
MOVE_ON = (Failure.BLOCKED, Failure.UNREACHABLE, Failure.NOT_FOUND)
QUOTA_WAIT = 30.0
PHOTO_ID_CHANNEL = "telegram"  # the platform whose photo id an announcement keeps (`Sent`)
# How long an announcement without its own `expires_at` keeps waiting for a channel that is down.
DEFAULT_EXPIRY = timedelta(hours=24)


@dataclass
class Outage:
    """A channel whose platform does not answer: its outbox waits, and is probed with back-off.

    While a channel is down, a failed send costs the delivery nothing (it stays pending with its
    attempts unchanged): an outage must not burn every delivery to `failed` one after another.
    """

    since: datetime
    error: str
    backoff: float
    retry_at: datetime


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        senders: dict[str, Sender],
        pacer: Pacer,
        *,
        clock: Callable[[], datetime],
        not_met_definitions: NotMet,
        report_text: ReportText | None = None,
        wakeup: asyncio.Event | None = None,
        extra_chat: tuple[str, str] | None = None,
        super_admins: set[tuple[str, str]] | None = None,
        metrics: Any = None,
        channel_pacers: dict[str, Pacer] | None = None,
        max_in_flight: int = 32,
        max_attempts: int = 5,
        batch: int = 200,
        flush_every: float = 0.1,
        progress_every: float = 3.0,
        idle_poll: float = 1.0,
        backoff_base: float = 2.0,
        outage_backoff_max: float = 15.0,
        default_expiry: timedelta = DEFAULT_EXPIRY,
    ) -> None:
        self.store = store
        self.senders = senders
        # Only deliveries of the channels this process serves are taken; the others wait for
        # the process that serves theirs (a terminal chat never takes Telegram's deliveries).
        self.channels = tuple(senders)
        self.pacer = pacer
        self.clock = clock
        self.not_met_definitions = not_met_definitions
        self.report_text = report_text
        self.extra_chat = extra_chat
        self.super_admins = super_admins or set()
        self.metrics = metrics  # bot.web.metrics.Metrics, when the app exports metrics
        self.channel_pacers = channel_pacers or {}  # a channel with limits of its own (Zalo)
        self.max_in_flight = max_in_flight
        self.max_attempts = max_attempts
        self.batch = batch
        self.flush_every = flush_every
        self.progress_every = progress_every
        self.idle_poll = idle_poll
        self.backoff_base = backoff_base
        self.outage_backoff_max = outage_backoff_max
        self.default_expiry = default_expiry
        self.outages: dict[str, Outage] = {}  # channel -> since when its platform is down
        self._probes: dict[str, asyncio.Task[str | None]] = {}
        # Set by whoever records work that is due now (the outreach service, the timers).
        self._wake = wakeup or asyncio.Event()
        self._stopping = False
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[asyncio.Task] = set()
        self._outcomes: list[Outcome] = []
        self._touched: set[int] = set()
        self._announcements: dict[int, Announcement] = {}
        self._last_progress: dict[int, float] = {}
        self._tasks: list[asyncio.Task] = []
        self._flushed = asyncio.Event()
        self._last_seen: dict[int, datetime] = {}
        self._tried: dict[int, set[str]] = {}  # delivery -> channels it could not go through
        self.sent_count = 0

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        recovered = await self.store.deliveries.recover(self.channels)
        if recovered:
            log.warning(
                "outbox: %d deliveries were in flight at the last stop; resending", recovered
            )
        self._tasks = [
            asyncio.create_task(self._run(), name="outbox-run"),
            asyncio.create_task(self._flush_loop(), name="outbox-flush"),
        ]

    async def stop(self) -> None:
        """Stop taking work, let in-flight sends finish, write every outcome down."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.gather(self._tasks[0], return_exceptions=True)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if len(self._tasks) > 1:
            self._tasks[1].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tasks[1]
        await self._flush()
        await self.store.deliveries.recover(self.channels)  # claimed, never sent: pending again

    def wake(self) -> None:
        """Something may be due now (a new announcement, a scheduled time reached)."""
        self._wake.set()

    # -- the loop -------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            try:
                worked = await self._step()
            except Exception:
                log.exception("outbox: step failed; retrying shortly")
                worked = False
            if not worked and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), await self._idle_wait())

    async def _idle_wait(self) -> float:
        live = self._live_channels()
        due = await self.store.deliveries.next_due(live) if live else None
        moments = [o.retry_at for o in self.outages.values()] + ([due] if due else [])
        if not moments:
            return self.idle_poll
        return min(self.idle_poll, max(0.01, (min(moments) - self.clock()).total_seconds()))

    def _live_channels(self) -> tuple[str, ...]:
        """The channels whose deliveries may be taken now: those not down."""
        return tuple(c for c in self.channels if c not in self.outages)

    async def _step(self) -> bool:
        now = self.clock()
        for announcement in await self.store.announcements.due(now):
            await self._start_announcement(announcement)
        await self.store.deliveries.skip_expired(now, now - self.default_expiry)
        await self._probe_outages(now)
        live = self._live_channels()
        claimed = await self.store.deliveries.claim(now, self.batch, live) if live else []
        if not claimed:
            return False
        inactive = await self._inactive_users(claimed)
        self._last_seen = await self.store.users.last_seen_of(
            {d.user_id for d in claimed if d.user_id is not None and d.channel in self._windowed()}
        )
        for delivery in claimed:
            if self._stopping:
                break  # the rest stays "sending" and is put back to pending by stop()
            await self._dispatch(delivery, inactive)
        return True

    async def _start_announcement(self, announcement: Announcement) -> None:
        not_met = (
            self.not_met_definitions(announcement.audience.not_met)
            if announcement.audience.not_met
            else []
        )
        extra = self.extra_chat if announcement.audience.is_everyone() else None
        total = await self.store.announcements.start_sending(
            announcement, not_met, extra, self.super_admins
        )
        log.info("outbox: announcement %d started for %d recipients", announcement.id, total)
        self._touched.add(announcement.id)

    async def _inactive_users(self, claimed: list[Delivery]) -> set[int]:
        return await self.store.users.inactive_among(
            {d.user_id for d in claimed if d.user_id is not None}
        )

    async def _dispatch(self, delivery: Delivery, inactive: set[int]) -> None:
        announcement = await self._announcement(delivery.announcement_id)
        sender = self.senders.get(delivery.channel)
        if announcement is None or announcement.status == "cancelled":
            self._record(delivery, Outcome(delivery.id, SKIPPED, delivery.attempts, "cancelled"))
            return
        assert sender is not None  # claimed for the channels this worker has senders for
        outage = self.outages.get(delivery.channel)
        if outage is not None:  # went down since this batch was claimed: no send, no attempt
            self._record(delivery, self._wait_out(delivery, outage))
            return
        window = sender.reach_window
        seen = self._last_seen.get(delivery.user_id or 0)
        if window is not None and seen is not None and seen < self.clock() - window:
            # e.g. Zalo: no message to a member silent for more than 7 days; said in the report
            self._record(
                delivery,
                await self._elsewhere(delivery, OUTSIDE_WINDOW)
                or Outcome(delivery.id, SKIPPED, delivery.attempts, OUTSIDE_WINDOW),
            )
            return
        if delivery.user_id in inactive:
            self._record(
                delivery,
                await self._elsewhere(delivery, "blocked")
                or Outcome(delivery.id, SKIPPED, delivery.attempts, "stopped or blocked"),
            )
            return
        pacer = self.channel_pacers.get(delivery.channel, self.pacer)
        wait = pacer.chat_ready_in(delivery.chat_id)
        if wait > 0:  # this chat had a message a moment ago: come back to it
            self._record(
                delivery,
                Outcome(
                    delivery.id,
                    PENDING,
                    delivery.attempts,
                    next_attempt_at=self.clock() + timedelta(seconds=wait),
                ),
            )
            return
        # The in-flight place first, the pacer's slot last: a send let through by the pacer must
        # go out at once. Waiting for a place after it would bunch sends up (429s at 1,000/s).
        await self._slots.acquire()
        await pacer.slot(delivery.chat_id)
        if announcement.photo and not announcement.photo_file_id:
            # The first recipient uploads the photo; everyone after reuses its file id.
            await self._send(delivery, announcement, sender)
            return
        task = asyncio.create_task(self._send(delivery, announcement, sender))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _announcement(self, announcement_id: int) -> Announcement | None:
        cached = self._announcements.get(announcement_id)
        if cached is None:
            cached = await self.store.announcements.get(announcement_id)
            if cached is not None:
                self._announcements[announcement_id] = cached
        return cached

    # -- one send -------------------------------------------------------------------------------
    async def _send(self, delivery: Delivery, announcement: Announcement, sender: Sender) -> None:
        attempts = delivery.attempts + 1
        try:
            outage = self.outages.get(delivery.channel)
            if outage is not None:  # went down while this one waited for its turn
                self._record(delivery, self._wait_out(delivery, outage))
                return
            photo: str | bytes | None = announcement.photo_file_id or announcement.photo
            if announcement.photo and (
                not announcement.photo_file_id or delivery.channel != PHOTO_ID_CHANNEL
            ):
                # A photo id is Telegram's; the other channels get the picture itself when
                # it is a file (a CLI photo).
                photo = _photo_source(announcement.photo)
            sent = await sender.deliver(
                delivery.chat_id, announcement.text, photo=photo, paid=announcement.paid
            )
        except DeliveryError as error:
            self._record(delivery, await self._failed(delivery, attempts, error))
        except Exception as error:  # a bug or an unexpected library error: retry, bounded
            log.exception("outbox: delivery %d failed unexpectedly", delivery.id)
            self._record(
                delivery,
                await self._failed(
                    delivery, attempts, DeliveryError(Failure.TRANSIENT, repr(error))
                ),
            )
        else:
            self.sent_count += 1
            if self.outages.pop(delivery.channel, None) is not None:  # it answers: up again
                log.warning("outbox: %s answers again; resuming its deliveries", delivery.channel)
                self._tell_senders()
            self._record(delivery, Outcome(delivery.id, SENT, attempts, message_id=sent.message_id))
            if sent.photo_file_id and not announcement.photo_file_id:
                updated = await self.store.announcements.update(
                    announcement.id, photo_file_id=sent.photo_file_id
                )
                self._announcements[announcement.id] = updated
        finally:
            self._slots.release()

    async def _elsewhere(self, delivery: Delivery, why: str) -> Outcome | None:
        """A person this channel cannot reach now (blocked, outside its window, its quota used
        up) who has another linked account on a channel served here: the delivery moves there
        and goes at once. None when there is no such account. Each channel is tried once."""
        if delivery.user_id is None:
            return None
        tried = self._tried.setdefault(delivery.id, set())
        tried.add(delivery.channel)
        other = await self.store.accounts.alternative(delivery.user_id, tried, self.channels)
        if other is None:
            return None
        channel, chat_id = other
        await self.store.accounts.redirect(delivery.id, channel, chat_id)
        log.info(
            "outbox: delivery %d moves from %s to %s (%s)",
            delivery.id,
            delivery.channel,
            channel,
            why,
        )
        return Outcome(
            delivery.id,
            PENDING,
            delivery.attempts,
            f"moved from {delivery.channel}: {why}",
            next_attempt_at=self.clock(),
        )

    async def _failed(self, delivery: Delivery, attempts: int, error: DeliveryError) -> Outcome:
        now = self.clock()
        if error.kind is Failure.RETRY_AFTER:
            # Honour the flood limit exactly, then resume; this try does not count as a failure.
            self.channel_pacers.get(delivery.channel, self.pacer).pause(error.retry_after)
            if self.metrics is not None:
                self.metrics.throttled.inc()
        if error.kind is Failure.BLOCKED and delivery.user_id is not None:
            # That account only: the person may have others.
            await self.store.accounts.blocked(delivery.user_id, delivery.channel)
        if error.kind in MOVE_ON or (
            error.kind is Failure.RETRY_AFTER and error.retry_after >= QUOTA_WAIT
        ):
            moved = await self._elsewhere(delivery, str(error.kind))
            if moved is not None:
                return moved
        if error.kind is Failure.RETRY_AFTER:
            return Outcome(
                delivery.id,
                PENDING,
                delivery.attempts,
                error.detail,
                next_attempt_at=now + timedelta(seconds=error.retry_after),
            )
        if error.kind is Failure.UNREACHABLE:
            return Outcome(delivery.id, SKIPPED, attempts, f"{OUTSIDE_WINDOW}: {error.detail}")
        if error.kind is Failure.BLOCKED:
            return Outcome(delivery.id, BLOCKED, attempts, error.detail)
        if error.kind is Failure.TRANSIENT:
            outage = await self._outage(delivery.channel, error)
            if outage is not None:
                return self._wait_out(delivery, outage)
        if error.kind is Failure.TRANSIENT and attempts < self.max_attempts:
            backoff = min(300.0, self.backoff_base * 2.0 ** (attempts - 1))
            return Outcome(
                delivery.id,
                PENDING,
                attempts,
                error.detail,
                next_attempt_at=now + timedelta(seconds=backoff),
            )
        return Outcome(delivery.id, FAILED, attempts, error.detail)

    # -- outages ------------------------------------------------------------------------------
    def _wait_out(self, delivery: Delivery, outage: Outage) -> Outcome:
        """Pending again, its attempts unchanged, until the channel answers (or it expires)."""
        return Outcome(
            delivery.id,
            PENDING,
            delivery.attempts,
            f"channel down: {outage.error}",
            next_attempt_at=outage.retry_at,
        )

    async def _outage(self, channel: str, error: DeliveryError) -> Outage | None:
        """After a transient failure: is the whole channel down, or only this chat? One probe
        of the platform (shared by every send failing meanwhile) tells them apart."""
        if channel in self.outages:
            return self.outages[channel]
        problem = await self._probe(channel)
        if problem is None:
            return None  # the platform answers: this chat's trouble, counted as an attempt
        if channel not in self.outages:
            now = self.clock()
            backoff = self.backoff_base
            self.outages[channel] = Outage(
                now, problem or error.detail, backoff, now + timedelta(seconds=backoff)
            )
            log.warning("outbox: %s is down (%s); its deliveries wait", channel, problem)
            self._tell_senders()
        return self.outages[channel]

    async def _probe_outages(self, now: datetime) -> None:
        """Ask each down channel's platform again once its back-off has passed."""
        for channel, outage in list(self.outages.items()):
            if outage.retry_at > now:
                continue
            problem = await self._probe(channel)
            if problem is None:
                del self.outages[channel]
                log.warning("outbox: %s answers again; resuming its deliveries", channel)
                self._tell_senders()
                continue
            outage.error = problem
            outage.backoff = min(self.outage_backoff_max, outage.backoff * 2.0)
            outage.retry_at = self.clock() + timedelta(seconds=outage.backoff)

    async def _probe(self, channel: str) -> str | None:
        """None when the channel's platform answers; else what went wrong. Sends failing at
        the same moment share one probe instead of asking the platform each."""
        task = self._probes.get(channel)
        if task is None or task.done():
            task = asyncio.create_task(self._ask(channel), name=f"outbox-probe-{channel}")
            self._probes[channel] = task
        return await asyncio.shield(task)

    async def _ask(self, channel: str) -> str | None:
        try:
            await self.senders[channel].probe()
        except DeliveryError as error:
            return error.detail if error.kind is Failure.TRANSIENT else None
        except Exception:  # not an outage we know how to wait out: sends decide as before
            log.exception("outbox: probing %s failed unexpectedly", channel)
        return None

    def _tell_senders(self) -> None:
        """A channel went down or came back: every progress report in the works says so at the
        next write, however recently it was last edited."""
        for announcement_id in self._announcements:
            self._touched.add(announcement_id)
            self._last_progress.pop(announcement_id, None)

    def down(self) -> dict[str, datetime]:
        """Channels whose platform does not answer now, and since when (/healthz, reports)."""
        return {channel: outage.since for channel, outage in self.outages.items()}

    def _windowed(self) -> set[str]:
        return {c for c, s in self.senders.items() if s.reach_window is not None}

    def _record(self, delivery: Delivery, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        if outcome.status != PENDING:
            self._tried.pop(delivery.id, None)
        if self.metrics is not None:
            if outcome.status == PENDING and outcome.error is not None:
                self.metrics.retries.inc()
            elif outcome.status != PENDING:
                self.metrics.deliveries.labels(outcome.status).inc()
        self._touched.add(delivery.announcement_id)

    # -- writing results down -----------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every)
            try:
                await self._flush()
            except Exception:
                log.exception("outbox: could not write delivery outcomes; will retry")

    async def _flush(self) -> None:
        """Write the delivery outcomes gathered since the last flush, finish the announcements
        they complete, report progress. On a failure (a database locked longer than the store's
        patience) everything is kept for the next flush: a lost outcome leaves a delivery
        `sending`, its announcement never finishes, and a restart sends it twice."""
        outcomes, self._outcomes = self._outcomes, []
        if outcomes:
            try:
                await self.store.deliveries.record(outcomes)
            except BaseException:
                self._outcomes[:0] = outcomes  # before those that came in meanwhile
                raise
            if any(o.status == PENDING for o in outcomes):
                self._wake.set()
        touched, self._touched = self._touched, set()
        try:
            for announcement_id in await self.store.deliveries.sending_announcements():
                if await self.store.announcements.finish_if_done(announcement_id):
                    touched.discard(announcement_id)
                    self._touched.discard(announcement_id)
                    await self._report(announcement_id, final=True)
                elif announcement_id in touched:
                    touched.discard(announcement_id)
                    await self._report(announcement_id, final=False)
        finally:
            self._touched |= touched  # those not reported yet: again next time
        flushed, self._flushed = self._flushed, asyncio.Event()
        flushed.set()

    async def until(self, condition: Callable[[], Awaitable[bool]], timeout: float) -> None:
        """Wait until `condition()` holds, re-checking after each write of outcomes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("outbox: condition not reached in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flushed.wait(), remaining)

    async def _report(self, announcement_id: int, *, final: bool) -> None:
        if self.report_text is None:
            return
        now = time.monotonic()
        if not final and now - self._last_progress.get(announcement_id, 0.0) < self.progress_every:
            return
        self._last_progress[announcement_id] = now
        announcement = await self.store.announcements.get(announcement_id)
        if announcement is None:
            return
        counts = await self.store.announcements.counts(announcement_id)
        if announcement.report_chat:  # the sender's progress message takes a slot too
            pacer = self.channel_pacers.get(announcement.report_channel or "", self.pacer)
            pacer.note_interactive(announcement.report_chat)
        try:
            await self._send_report(announcement, counts, final)
        except Exception:
            log.exception("outbox: progress report for %d failed", announcement_id)
        if final:
            self._announcements.pop(announcement_id, None)
            self._last_progress.pop(announcement_id, None)

    async def _send_report(
        self, announcement: Announcement, counts: dict[str, int], final: bool
    ) -> None:
        """Keep the sender's progress message up to date, then report the outcome."""
        assert self.report_text is not None
        channel, chat = announcement.report_channel, announcement.report_chat
        sender = self.senders.get(channel or "")
        if sender is None or chat is None:
            return
        store = self.store.announcements
        outside = await store.outside_window(announcement.id) if final else 0
        text = self.report_text(
            announcement,
            counts,
            announcement.report_locale,
            final=final,
            outside_window=outside,
            down=() if final else tuple(self.outages),
            by_channel=await store.counts_by_channel(announcement.id) if final else None,
        )
        if announcement.report_message:
            await sender.edit(chat, announcement.report_message, text)
            if not final:
                return
        # The first progress line, and the final report, are new messages: they notify.
        sent = await sender.deliver(chat, text)
        if not final:
            await self.store.announcements.update(announcement.id, report_message=sent.message_id)


def _photo_source(photo: str) -> str | bytes:
    """A CLI photo is a file path: its bytes are uploaded once. Anything else is a platform id."""
    path = Path(photo)
    if path.is_file():
        return path.read_bytes()
    return photo
