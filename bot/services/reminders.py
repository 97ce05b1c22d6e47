"""Reminders: event reminders, personal re-check reminders and the weekly learning tip.

The database is the source of truth. `plan()` turns the calendar into `reminder_firings` rows for
the coming year (idempotent), `tick()` fires every row that is due exactly once (a row settles from
pending to fired or missed in one statement), and `arm()` gives APScheduler a timer for each row
due soon. A fired reminder becomes an announcement, so it reaches people through the same outbox,
limits and reports as everything else.

Missed fire times (the bot was down): still sent at start when within the event's grace period
(default 2 hours), otherwise marked missed and reported to the staff. Personal reminders never go
out in quiet hours (default 21:00-07:00): they wait for the end of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.catalog.events import AUDIENCE, Event, Occurrence, parse_event
from bot.catalog.reader import Problem, Reader
from bot.records import AudienceFilter

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.catalog.i18n import Translator
    from bot.services.outreach import OutreachService
    from bot.services.scheduling import Scheduler
    from bot.store import Store

log = logging.getLogger(__name__)

ALL_EVENTS = "events"  # the topic of members who follow every event
WEEKLY_TIP = "weekly-tip"
TIP_DAY, TIP_TIME = 6, time(19, 0)  # Sunday 19:00 local
HORIZON = timedelta(days=400)
ARM_AHEAD = timedelta(days=2)  # timers are armed this far ahead; a daily job re-arms


def event_topic(event_id: str) -> str:
    return f"event:{event_id}"


class ReminderService:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        i18n: Translator,
        outreach: OutreachService,
        *,
        clock: Callable[[], datetime],
        timezone: ZoneInfo,
        quiet: tuple[time, time] = (time(21, 0), time(7, 0)),
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.i18n = i18n
        self.outreach = outreach
        self.clock = clock
        self.timezone = timezone
        self.quiet = quiet
        self.custom: tuple[Event, ...] = ()
        self.scheduler: Scheduler | None = None

    # -- the calendar ---------------------------------------------------------------------------
    async def load_custom(self) -> None:
        events = []
        for body in await self.store.calendar.active_events():
            problems: list[Problem] = []
            reader = Reader(
                "custom_events", {"e": body}, {}, self.catalog.campaign.locales, problems
            )
            event = parse_event(reader, ("e",), custom=True)
            if problems:
                log.warning("custom event %s: %s", body.get("id"), "; ".join(map(str, problems)))
            events.append(event)
        self.custom = tuple(events)

    def events(self) -> tuple[Event, ...]:
        return self.catalog.events + self.custom

    def event(self, event_id: str) -> Event | None:
        return next((e for e in self.events() if e.id == event_id), None)

    def today(self) -> date:
        return self.clock().astimezone(self.timezone).date()

    def upcoming(self, days: int = 60) -> list[Occurrence]:
        """Occurrences starting (or still running) from today, within `days`, soonest first."""
        today = self.today()
        found = []
        for event in self.events():
            for occurrence in event.occurrences(
                today - timedelta(days=31), today + timedelta(days)
            ):
                if occurrence.end >= today:
                    found.append(occurrence)
        return sorted(found, key=lambda o: (o.start, o.event.id))

    def upcoming_for(
        self, role: str | None, area_code: str | None, staff: bool, days: int = 60
    ) -> list[Occurrence]:
        """`upcoming`, only the events meant for this person (see `Event.shown_to`)."""
        return [o for o in self.upcoming(days) if o.event.shown_to(role, area_code, staff)]

    def occurrence(self, event_id: str, key: str) -> Occurrence | None:
        event = self.event(event_id)
        if event is None:
            return None
        try:
            day = date.fromisoformat(key)
        except ValueError:
            return None
        return next(iter(event.occurrences(day, day)), None)

    # -- quiet hours ----------------------------------------------------------------------------
    def in_quiet_hours(self, local: datetime) -> bool:
        start, end = self.quiet
        now = local.time()
        return now >= start or now < end if start > end else start <= now < end

    def after_quiet_hours(self, local: datetime) -> datetime:
        """The same moment, or the end of the quiet hours it falls in."""
        if not self.in_quiet_hours(local):
            return local
        end = datetime.combine(local.date(), self.quiet[1], tzinfo=local.tzinfo)
        return end if end > local else end + timedelta(days=1)

    # -- planning and firing ----------------------------------------------------------------------
    async def plan(self) -> int:
        """Firings for every reminder of the next year, and weekly tips; returns new rows."""
        now = self.clock()
        today = self.today()
        rows = []
        for event in self.events():
            for occurrence in event.occurrences(today, today + HORIZON):
                for slot, reminder in enumerate(event.reminders):
                    day = occurrence.start - timedelta(days=reminder.days_before)
                    local = datetime.combine(day, reminder.at, tzinfo=self.timezone)
                    fire_at = self.after_quiet_hours(local)
                    if fire_at + event.grace < now:
                        continue  # long past before it was ever planned: nothing to send or miss
                    rows.append(
                        (
                            "event",
                            event.id,
                            occurrence.key,
                            slot,
                            fire_at,
                            event.grace.total_seconds(),
                        )
                    )
        if self.catalog.tips:
            sunday = today + timedelta(days=(TIP_DAY - today.weekday()) % 7)
            for week in range(8):
                day = sunday + timedelta(weeks=week)
                fire_at = datetime.combine(day, TIP_TIME, tzinfo=self.timezone)
                if fire_at + timedelta(hours=2) >= now:
                    rows.append(("tip", "weekly", day.isoformat(), 0, fire_at, 7200.0))
        return await self.store.calendar.plan(rows)

    async def tick(self) -> dict[str, int]:
        """Fire what is due, exactly once; mark what is too late as missed and tell the staff."""
        now = self.clock()
        summary = {"fired": 0, "missed": 0, "rechecks": 0}
        missed: list[str] = []
        for firing in await self.store.calendar.due(now):
            if now - firing.fire_at > timedelta(seconds=firing.grace_s):
                if await self.store.calendar.settle(firing.id, "missed"):
                    summary["missed"] += 1
                    if firing.kind == "event":  # a missed weekly tip is not worth a report
                        missed.append(
                            self._missed_line(firing.key, firing.occurrence, firing.fire_at)
                        )
                continue
            if firing.kind == "tip":
                ids = await self._send_tip(date.fromisoformat(firing.occurrence))
            else:
                ids = await self._send_event_reminder(firing.key, firing.occurrence, firing.slot)
                if ids is None:  # the event is gone (cancelled or removed from content)
                    await self.store.calendar.settle(firing.id, "cancelled")
                    continue
            if await self.store.calendar.settle(firing.id, "fired", ids):
                summary["fired"] += 1
            else:  # another run settled it first: take back what we queued
                for announcement_id in ids:
                    await self.outreach.cancel(announcement_id)
        summary["rechecks"] = await self._send_rechecks(now)
        if missed:
            await self._report_missed(missed)
        return summary

    async def _announce_by_locale(
        self, render: Callable[[str], str], audience: AudienceFilter
    ) -> list[int]:
        """One announcement per language, each to the members reading that language."""
        ids = []
        for locale in self.catalog.campaign.locales:
            audience_in = replace(audience, locale=locale)
            if await self.outreach.audience_size(audience_in) == 0:
                continue
            announcement = await self.outreach.announce("reminders", render(locale), audience_in)
            ids.append(announcement.id)
        return ids

    async def _send_event_reminder(self, event_id: str, key: str, slot: int) -> list[int] | None:
        occurrence = self.occurrence(event_id, key)
        if occurrence is None or slot >= len(occurrence.event.reminders):
            return None
        event = occurrence.event
        days = event.reminders[slot].days_before
        audience = AudienceFilter(
            areas=event.areas,
            roles=event.roles,
            staff_only=event.staff_only,
            topics=() if event.notify == AUDIENCE else (event_topic(event.id), ALL_EVENTS),
        )
        return await self._announce_by_locale(
            lambda locale: self.reminder_text(occurrence, locale, days), audience
        )

    def reminder_text(self, occurrence: Occurrence, locale: str, days: int) -> str:
        t, event = self.i18n, occurrence.event
        soon = (
            t.t(locale, "events.today")
            if days == 0
            else t.t(locale, "events.tomorrow")
            if days == 1
            else t.t(locale, "events.in_days", days=days)
        )
        lines = [
            t.t(locale, "events.reminder_head", title=t.text(locale, event.title), soon=soon),
            self.when(occurrence, locale),
        ]
        if event.place:
            lines.append(t.t(locale, "events.place", place=t.text(locale, event.place)))
        lines += ["", t.text(locale, event.description)]
        theme = event.theme(occurrence.start.year)
        if theme:
            lines += ["", t.t(locale, "events.theme", theme=t.text(locale, theme))]
        lines += ["", t.t(locale, "events.reminder_foot")]
        return "\n".join(lines)

    def when(self, occurrence: Occurrence, locale: str) -> str:
        """ "📅 Thứ Năm, 01/10/2026" or "📅 01–07/10/2026" (VOICE.md forms), with a time if any."""
        t = self.i18n
        start, end = occurrence.start, occurrence.end
        if end == start:
            text = t.date(locale, start)
            at = occurrence.event.start_time()
            if at is not None:
                text = t.t(locale, "admin.when", date=text, time=f"{at:%H:%M}")
        elif (start.year, start.month) == (end.year, end.month):
            text = f"{start:%d}–{end:%d/%m/%Y}"
        elif start.year == end.year:
            text = f"{start:%d/%m}–{end:%d/%m/%Y}"
        else:
            text = f"{start:%d/%m/%Y}–{end:%d/%m/%Y}"
        return f"📅 {text}"

    async def _send_tip(self, sunday: date) -> list[int]:
        tips = self.catalog.tips
        tip = tips[sunday.isocalendar().week % len(tips)]
        return await self._announce_by_locale(
            lambda locale: self.i18n.t(locale, "events.tip", tip=self.i18n.text(locale, tip)),
            AudienceFilter(topics=(WEEKLY_TIP,)),
        )

    async def _send_rechecks(self, now: datetime) -> int:
        """Personal re-check reminders that are due, unless it is quiet hours now."""
        if self.in_quiet_hours(now.astimezone(self.timezone)):
            return 0
        sent = 0
        for recheck in await self.store.assessments.rechecks_due(now):
            if not await self.store.assessments.recheck_sent(recheck.id):
                continue
            definition = self.catalog.definition(recheck.definition_id)
            user = await self.store.users.get(recheck.user_id)
            if definition is None or user is None or not user.receives_announcements:
                continue
            text = self.i18n.t(
                user.locale, "events.recheck", title=self.i18n.text(user.locale, definition.title)
            )
            await self.outreach.announce("reminders", text, AudienceFilter(user_ids=(user.id,)))
            sent += 1
        return sent

    def _missed_line(self, key: str, occurrence: str, fire_at: datetime) -> str:
        event = self.event(key)
        name = self.i18n.text(self.i18n.default, event.title) if event else key
        local = fire_at.astimezone(self.timezone)
        return f"• {name} ({occurrence}): {local:%d/%m/%Y %H:%M}"

    async def _report_missed(self, lines: list[str]) -> None:
        await self._announce_by_locale(
            lambda locale: self.i18n.t(locale, "events.missed", lines="\n".join(lines)),
            AudienceFilter(staff_only=True),
        )

    # -- timers -----------------------------------------------------------------------------------
    async def arm(self) -> int:
        """Give APScheduler a timer for every firing and re-check due in the next two days."""
        if self.scheduler is None:
            return 0
        now = self.clock()
        until = now + ARM_AHEAD
        armed = 0
        for firing in await self.store.calendar.upcoming(now, until):
            self.scheduler.at(f"firing:{firing.id}", firing.fire_at, self.tick)
            armed += 1
        for recheck in await self.store.assessments.rechecks_upcoming(now, until):
            moment = self.after_quiet_hours(recheck.due_at.astimezone(self.timezone))
            self.scheduler.at(f"recheck:{recheck.id}", moment, self.tick)
            armed += 1
        return armed

    async def refresh(self) -> None:
        """After the calendar changed (a staff event added or cancelled): plan and re-arm."""
        await self.load_custom()
        await self.plan()
        await self.arm()

    async def housekeeping(self) -> None:
        await self.refresh()
        await self.tick()

    async def start(self, scheduler: Scheduler) -> None:
        """At start: catch up on what was missed, then keep timers for what comes."""
        self.scheduler = scheduler
        await self.load_custom()
        await self.plan()
        summary = await self.tick()
        armed = await self.arm()
        # Once a minute: pick up events added from the command line, keep a year planned and
        # two days armed, and fire anything that became due between timers (a re-check asked
        # for today). Every step is idempotent, so this costs a few cheap queries.
        scheduler.every("reminders:housekeeping", 60, self.housekeeping)
        log.info("reminders: %s at start, %d timers armed", summary, armed)
