"""Dates and times as people type them, in local time: the one parser of the bot and its CLI.

Accepted everywhere: `dd/mm/yyyy [hh:mm]` ("05/12/2026 8:00", "5/12 8h30", "01/10 lúc 07:30") and
ISO `yyyy-mm-dd [hh:mm]` ("2026-12-05 08:00", "2026-12-05T08:00"). A date without a year is the
next such date from now. Each caller decides whether the time may be left out (an event may last
all day; an announcement's sending time may not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

_FORMS = re.compile(
    r"^\s*(?:(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2})"
    r"|(?P<d2>\d{1,2})/(?P<m2>\d{1,2})(?:/(?P<y2>\d{4}))?)"
    r"(?:(?:\s+|T)(?:lúc\s+|at\s+)?(?P<h>\d{1,2})[:hg.](?P<mi>\d{2}))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Typed:
    """What was typed: a local, timezone-aware moment (00:00 when no time was given)."""

    moment: datetime
    has_time: bool


def parse_local(text: str, tz: ZoneInfo, now: datetime) -> Typed | None:
    """`text` in one of the accepted forms, in `tz`; None when it is not a valid date."""
    match = _FORMS.match(text)
    if match is None:
        return None
    parts = match.groupdict()
    day = int(parts["d1"] or parts["d2"])
    month = int(parts["m1"] or parts["m2"])
    year_text = parts["y1"] or parts["y2"]
    has_time = parts["h"] is not None
    hour, minute = (int(parts["h"]), int(parts["mi"])) if has_time else (0, 0)
    local_now = now.astimezone(tz)
    year = int(year_text) if year_text else local_now.year
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=tz)
        if not year_text and (moment if has_time else moment.date()) < (
            local_now if has_time else local_now.date()
        ):
            moment = moment.replace(year=year + 1)
    except ValueError:
        return None
    return Typed(moment, has_time)
