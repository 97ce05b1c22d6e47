"""The campaign calendar: events, their occurrences and their reminders.

Occurrences are computed, never stored: a yearly event on "10-01" happens every 1 October; a
yearly event on 29 February happens on 28 February in years without one (an explicit rule, so a
leap-day event is never silently skipped). Reminder times are local; the service turns them into
UTC firings.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.catalog.reader import Reader, Text

YEARLY, ONCE = "yearly", "once"
SUBSCRIBERS, AUDIENCE = "subscribers", "audience"
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}))?$")
_TIME = re.compile(r"^(\d{2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Reminder:
    days_before: int
    at: time


@dataclass(frozen=True)
class Event:
    id: str
    title: Text
    description: Text
    recurrence: str  # YEARLY | ONCE
    start: tuple[int, int] | datetime | date  # (month, day) for yearly
    end: tuple[int, int] | datetime | date | None = None
    place: Text | None = None
    link: str | None = None
    roles: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    staff_only: bool = False
    attend: bool = False  # one can take part (a meeting, a week of activities), not only mark it
    notify: str = SUBSCRIBERS
    reminders: tuple[Reminder, ...] = ()
    grace: timedelta = timedelta(hours=2)
    themes: dict[int, Text] = field(default_factory=dict)
    custom: bool = False  # created by staff (in the database), not in content

    def occurrences(self, first: date, last: date) -> list[Occurrence]:
        """Every occurrence whose start falls between `first` and `last` (inclusive)."""
        if self.recurrence == ONCE:
            start, end = _as_day(self.start), _as_day(self.end) if self.end else None
            return [Occurrence(self, start, end or start)] if first <= start <= last else []
        found = []
        for year in range(first.year, last.year + 1):
            start = _yearly(year, self.start)  # type: ignore[arg-type]
            end = _yearly(year, self.end) if self.end else start  # type: ignore[arg-type]
            if end < start:  # e.g. 12-30 to 01-02: ends the next year
                end = _yearly(year + 1, self.end)  # type: ignore[arg-type]
            if first <= start <= last:
                found.append(Occurrence(self, start, end))
        return found

    def shown_to(self, role: str | None, area_code: str | None, staff: bool) -> bool:
        """Whether the event belongs in this person's calendar: staff see every event; a member
        sees the events for members, of their role and area when the audience names some."""
        if staff:
            return True
        if self.staff_only:
            return False
        if self.roles and role not in self.roles:
            return False
        return not self.areas or area_code in self.areas

    def start_time(self) -> time | None:
        return self.start.time() if isinstance(self.start, datetime) else None

    def theme(self, year: int) -> Text | None:
        return self.themes.get(year)


@dataclass(frozen=True, slots=True)
class Occurrence:
    event: Event
    start: date
    end: date

    @property
    def key(self) -> str:
        return self.start.isoformat()


def _yearly(year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def _as_day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def parse_event(r: Reader, path: tuple, *, custom: bool = False) -> Event:
    """One event from `r` at `path` (a content list entry, or a stored custom event)."""
    recurrence = r.string((*path, "recurrence"), default=ONCE)
    if recurrence not in (YEARLY, ONCE):
        r.problem((*path, "recurrence"), "must be yearly or once")

    def when(name: str, required: bool) -> Any:
        raw = r.raw((*path, name), required=required)
        if raw is None:
            return None
        text = str(raw)
        if recurrence == YEARLY:
            match = _MONTH_DAY.match(text)
            if match is None:
                r.problem((*path, name), f'a yearly event gives "MM-DD", not {text!r}')
                return (1, 1)
            month, day = int(match.group(1)), int(match.group(2))
            try:
                date(2024, month, day)  # a leap year, so 02-29 is valid
            except ValueError:
                r.problem((*path, name), f"no such day {text!r}")
                return (1, 1)
            return (month, day)
        match = _DAY.match(text)
        if match is None:
            r.problem((*path, name), f'expected "YYYY-MM-DD" or "YYYY-MM-DD HH:MM", not {text!r}')
            return date(2000, 1, 1)
        y, m, d, hh, mm = match.groups()
        try:
            if hh is None:
                return date(int(y), int(m), int(d))
            return datetime(int(y), int(m), int(d), int(hh), int(mm))
        except ValueError:
            r.problem((*path, name), f"no such date {text!r}")
            return date(2000, 1, 1)

    reminders = []
    for rpath in r.items((*path, "reminders"), required=False):
        days = r.number((*rpath, "days_before"))
        at_text = r.string((*rpath, "at"))
        match = _TIME.match(at_text)
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            r.problem((*rpath, "at"), f'a local time "HH:MM", not {at_text!r}')
            continue
        if days is None or days < 0 or days > 60 or not float(days).is_integer():
            r.problem((*rpath, "days_before"), "a whole number of days from 0 to 60")
            continue
        reminders.append(Reminder(int(days), time(int(match.group(1)), int(match.group(2)))))
    notify = r.string((*path, "notify"), required=False, default=SUBSCRIBERS)
    if notify not in (SUBSCRIBERS, AUDIENCE):
        r.problem((*path, "notify"), "must be subscribers or audience")
    grace = r.number((*path, "grace_hours"), required=False)
    themes = {}
    raw_themes = r.raw((*path, "themes"), required=False) or {}
    if not isinstance(raw_themes, dict):
        r.problem((*path, "themes"), "must map a year to a text")
        raw_themes = {}
    for year in raw_themes:
        if not isinstance(year, int):
            r.problem((*path, "themes", year), "the key must be a year")
            continue
        themes[year] = r.text((*path, "themes", year))
    audience = r.raw((*path, "audience"), required=False) or {}
    if not isinstance(audience, dict):
        r.problem((*path, "audience"), "must be a mapping (roles, areas, staff)")
        audience = {}
    link = r.string((*path, "link"), required=False) or None
    if link and not link.startswith("https://"):
        r.problem((*path, "link"), "must be an https:// address")
    start = when("start", True)
    end = when("end", False)
    if recurrence == ONCE and end is not None and _as_day(end) < _as_day(start):
        r.problem((*path, "end"), "ends before it starts")
    return Event(
        id=r.string((*path, "id")),
        title=r.text((*path, "title")),
        description=r.text((*path, "description"), required=not custom),
        recurrence=recurrence,
        start=start,
        end=end,
        place=r.text((*path, "place"), required=False) or None,
        link=link,
        roles=tuple(audience.get("roles") or ()),
        areas=tuple(str(a) for a in audience.get("areas") or ()),
        staff_only=audience.get("staff") is True,
        # Staff add meetings and classes: theirs can be attended unless they say otherwise.
        attend=r.raw((*path, "attend"), required=False) is True
        or (custom and r.raw((*path, "attend"), required=False) is not False),
        notify=notify,
        reminders=tuple(reminders),
        grace=timedelta(hours=float(grace)) if grace is not None else timedelta(hours=2),
        themes=themes,
        custom=custom,
    )
