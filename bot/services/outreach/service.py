"""Outreach: announcements to members by area, role, language, topic or assessment result,
delivered through the durable outbox (`worker.DeliveryWorker`) under Telegram's limits.

`OutreachService` is what handlers and the CLI use: it records announcements, sizes audiences,
changes a waiting announcement's audience, schedules, cancels, lists what is waiting and what went
out, and words the live progress and final report the sender sees. Above the store it is the only
writer of announcement rows (with its delivery worker, which records progress).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.dates import parse_local
from bot.records import (
    APPROVED,
    CANCELLED,
    DONE,
    DRAFT,
    RETURNED,
    SCHEDULED,
    SENDING_A,
    Announcement,
    AudienceFilter,
    RecipientOutcome,
)
from bot.services.outreach.funnel import Funnel, funnel

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.catalog.i18n import Translator
    from bot.services.scheduling import Scheduler
    from bot.store import Store

__all__ = ["AudienceFilter", "OutreachService", "parse_when"]

# What may still change before it goes out: a draft, or an announcement waiting for its time.
WAITING = (DRAFT, SCHEDULED)
# What /report lists: everything that was or will be sent, and what was called off.
REPORTED = (SENDING_A, DONE, SCHEDULED, CANCELLED)


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """ "01/10 07:30", "01/10/2026 07:30" or "2026-10-01 07:30", local time -> aware datetime
    (bot.core.dates reads it). Without a year, the next such date from `now`. None when the text
    is not a valid date with a time."""
    typed = parse_local(text, tz, now)
    return typed.moment if typed is not None and typed.has_time else None


class OutreachService:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        i18n: Translator,
        *,
        clock: Callable[[], datetime],
        timezone: ZoneInfo,
        paid: bool = False,
        super_admins: Iterable[tuple[str, str]] = (),
        scheduler: Scheduler | None = None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.i18n = i18n
        self.clock = clock
        self.timezone = timezone
        self.paid = paid
        self.super_admins = frozenset(super_admins)  # (channel, id) from ADMIN_IDS
        # In the process that sends (`khuyenhoc run`): the timers, and a nudge to the delivery
        # worker. Elsewhere (a CLI command) the running bot's worker finds new rows by itself.
        self.scheduler = scheduler
        self.wake = wake or (lambda: None)

    def arm(self, announcement: Announcement) -> None:
        """Wake the worker exactly when a scheduled announcement is due."""
        if self.scheduler is not None and announcement.scheduled_at is not None:
            self.scheduler.at(f"announce:{announcement.id}", announcement.scheduled_at, self.wake)

    async def rearm(self) -> int:
        """At start: arm every announcement still waiting in the database."""
        waiting = await self.store.announcements.listing([SCHEDULED], limit=10_000)
        for announcement in waiting:
            self.arm(announcement)
        return len(waiting)

    def not_met_definitions(self, title_id: str) -> list[str]:
        return [d.id for d in self.catalog.assessments() if d.title_id == title_id]

    async def audience_size(self, audience: AudienceFilter) -> int:
        if audience.chats:
            return len(audience.chats)
        return await self.store.announcements.count_audience(
            audience, self.not_met_definitions(audience.not_met or ""), self.super_admins
        )

    async def draft(
        self,
        created_by: str,
        text: str,
        *,
        photo: str | None = None,
        report_to: tuple[str, str, str] | None = None,
    ) -> Announcement:
        return await self.store.announcements.create(
            created_by=created_by,
            text=text,
            photo=photo,
            audience=AudienceFilter(),
            status=DRAFT,
            paid=self.paid,
            report_to=report_to,
        )

    async def announce(
        self,
        created_by: str,
        text: str,
        audience: AudienceFilter,
        *,
        photo: str | None = None,
        at: datetime | None = None,
        expires: datetime | None = None,
        report_to: tuple[str, str, str] | None = None,
    ) -> Announcement:
        """Record an announcement to go out at `at` (now when None); the worker takes it."""
        announcement = await self.store.announcements.create(
            created_by=created_by,
            text=text,
            photo=photo,
            audience=audience,
            status=SCHEDULED,
            scheduled_at=at,
            expires_at=expires,
            paid=self.paid,
            report_to=report_to,
        )
        self.arm(announcement)
        self.wake()
        return announcement

    async def alert_staff(self, key: str, **params: object) -> Announcement:
        """Tell every staff member (super admins included) of trouble the bot met, in the
        default language: a channel's quota reached, its token rejected."""
        text = self.i18n.t(self.i18n.default, key, **params)
        return await self.announce("bot", str(text), AudienceFilter(staff_only=True))

    async def resend_missed(self, announcement_id: int, by: str) -> Announcement | None:
        """Send a finished announcement again, as a new one, to the members it missed: their
        delivery failed, or expired while a channel was down. None when it missed nobody.

        Raises LookupError for an unknown announcement, ValueError for one not finished yet
        (its deliveries may still go out: a resend now could reach someone twice)."""
        original = await self.store.announcements.get(announcement_id)
        if original is None:
            raise LookupError(f"announcement {announcement_id} does not exist")
        if original.status != DONE:
            raise ValueError(f"announcement {announcement_id} is {original.status}, not done")
        audience = AudienceFilter(missed_from=announcement_id)
        if await self.audience_size(audience) == 0:
            return None
        again = await self.announce(
            by, original.text, audience, photo=original.photo_file_id or original.photo
        )
        await self.store.staff.audit(by, "announcement_resend", of=announcement_id, to=again.id)
        return again

    async def schedule(
        self,
        announcement_id: int,
        at: datetime | None,
        *,
        report_to: tuple[str, str, str] | None = None,  # (channel, chat_id, locale)
    ) -> Announcement | None:
        """Send a draft (or move a scheduled one) at `at`, or now; progress and the final report
        go to `report_to` when given (whoever sends it, not who drafted it). None when it is no
        longer waiting (sent, being sent or cancelled meanwhile)."""
        report = {}
        if report_to is not None:
            channel, chat, locale = report_to
            report = {"report_channel": channel, "report_chat": chat, "report_locale": locale}
        announcement = await self.store.announcements.update_if(
            announcement_id, WAITING, status=SCHEDULED, scheduled_at=at, **report
        )
        if announcement is None:
            return None
        self.arm(announcement)
        self.wake()
        return announcement

    # -- approval of branch broadcasts ------------------------------------------------------------
    async def ask_approval(
        self, announcement_id: int, at: datetime | None, report_to: tuple[str, str, str]
    ) -> Announcement | None:
        """A branch's draft waits for a city admin (to go at `at`, or as soon as approved);
        None when it is no longer a draft. Asking again while it waits changes nothing else."""
        return await self.store.announcements.ask_approval(announcement_id, at, report_to)

    async def approve(self, announcement_id: int, by: str) -> Announcement | None:
        """Approve a waiting draft: it goes out at the time its author asked for (or now, when
        that time has passed). None when it was decided, sent or cancelled meanwhile: an
        approval never sends anything twice."""
        decided = await self.store.announcements.decide(announcement_id, APPROVED, by)
        if decided is None:
            return None
        at = decided.wanted_at if decided.wanted_at and decided.wanted_at > self.clock() else None
        return await self.schedule(announcement_id, at)

    async def send_back(self, announcement_id: int, by: str, reason: str) -> Announcement | None:
        """Return a waiting draft to its author with a reason; it stays a draft they may change
        and send again. None when it was decided or cancelled meanwhile."""
        return await self.store.announcements.decide(announcement_id, RETURNED, by, reason)

    async def awaiting_approval(self) -> list[Announcement]:
        return await self.store.announcements.awaiting_approval()

    async def set_audience(
        self, announcement_id: int, audience: AudienceFilter
    ) -> Announcement | None:
        """Change who a waiting announcement goes to; None when it is no longer waiting."""
        return await self.store.announcements.update_if(announcement_id, WAITING, audience=audience)

    async def cancel(self, announcement_id: int) -> Announcement | None:
        """Call off a draft or an announcement waiting for its time; None when it is no longer
        waiting (being sent, sent or cancelled: a worker that started it meanwhile wins)."""
        announcement = await self.store.announcements.update_if(
            announcement_id, WAITING, status=CANCELLED
        )
        if announcement is None:
            return None
        await self.store.deliveries.skip_cancelled(announcement_id)
        if self.scheduler is not None:
            self.scheduler.cancel(f"announce:{announcement_id}")
        return announcement

    # -- reading --------------------------------------------------------------------------------
    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.store.announcements.get(announcement_id)

    async def waiting(self, limit: int = 30) -> list[Announcement]:
        """Drafts and scheduled announcements, the soonest due first (/scheduled)."""
        return await self.store.announcements.listing(WAITING, limit)

    async def recent(self, limit: int = 10) -> list[Announcement]:
        """The latest announcements sent, being sent, scheduled or cancelled, oldest of them
        first (/report without a number)."""
        return await self.store.announcements.listing(REPORTED, limit, newest=True)

    async def every(self, limit: int = 100) -> list[Announcement]:
        """The latest announcements whatever their status, newest first (the web console)."""
        statuses = (DRAFT, SCHEDULED, SENDING_A, DONE, CANCELLED)
        return (await self.store.announcements.listing(statuses, limit, newest=True))[::-1]

    async def funnel(self, announcement: Announcement) -> Funnel:
        """Where its deliveries ended: sent, failed by reason, skipped, pending."""
        store = self.store.announcements
        rows = await store.outcomes(announcement.id)
        return funnel(rows, await store.counts(announcement.id), announcement.total)

    async def recipients(self, announcement_id: int, limit: int = 500) -> list[RecipientOutcome]:
        """Its deliveries, one per recipient, failures first."""
        return await self.store.announcements.recipients(announcement_id, limit)

    async def status_report(self, announcement: Announcement, locale: str) -> str:
        """Where its deliveries stand now, in the words of the progress and final reports."""
        store = self.store.announcements
        counts = await store.counts(announcement.id)
        final = announcement.status == DONE
        outside = await store.outside_window(announcement.id) if final else 0
        by_channel = await store.counts_by_channel(announcement.id) if final else {}
        return self.report_text(
            announcement,
            counts,
            locale,
            final=final,
            outside_window=outside,
            by_channel=by_channel,
        )

    # -- words for the sender -------------------------------------------------------------------
    def report_text(
        self,
        announcement: Announcement,
        counts: dict[str, int],
        locale: str | None,
        *,
        final: bool,
        outside_window: int = 0,
        down: tuple[str, ...] = (),
        by_channel: dict[str, tuple[int, int]] | None = None,
    ) -> str:
        """The progress or final report; `down` names the channels whose platform does not
        answer now (their deliveries wait for it); `by_channel` ((sent, total) per channel)
        splits the final report when members were reached on more than one channel."""
        t = self.i18n
        locale = locale or t.default
        total = announcement.total or sum(counts.values())
        done = sum(counts[s] for s in ("sent", "failed", "blocked", "skipped"))
        params = {
            "id": announcement.id,
            "total": t.number(locale, total),
            "sent": t.number(locale, counts["sent"]),
            "failed": t.number(locale, counts["failed"]),
            "blocked": t.number(locale, counts["blocked"]),
            "skipped": t.number(locale, counts["skipped"]),
            "pending": t.number(locale, counts["pending"] + counts["sending"]),
        }
        if final:
            text = t.t(locale, "outreach.report_final", **params)
            if outside_window:
                text += "\n" + t.t(
                    locale, "outreach.report_window", count=t.number(locale, outside_window)
                )
            if by_channel and len(by_channel) > 1:
                lines = "; ".join(
                    t.t(
                        locale,
                        "zalobot.report_channel",
                        channel=t.t(locale, f"zalobot.channel.{channel}"),
                        sent=t.number(locale, sent),
                        total=t.number(locale, of),
                    )
                    for channel, (sent, of) in by_channel.items()
                )
                text += "\n" + t.t(locale, "zalobot.report_channels", lines=lines)
            return text
        left = max(0, total - done)
        rate = self._rate_estimate(announcement, done)
        minutes = max(1, round(left / rate / 60)) if rate else 0
        text = t.t(locale, "outreach.report_progress", minutes=minutes, **params)
        for channel in down:
            text += "\n" + t.t(locale, "outreach.channel_down", channel=channel.title())
        return text

    def _rate_estimate(self, announcement: Announcement, done: int) -> float:
        if announcement.started_at is None or done == 0:
            return 0.0
        elapsed = (self.clock() - announcement.started_at).total_seconds()
        return done / elapsed if elapsed > 0 else 0.0
