"""Campaign figures as SQL aggregates (never by loading rows into Python), and export records."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import aiosqlite

from bot.records import AreaMembers, CompletedRun
from bot.store.db import Database, from_db_time, to_db_time


def _marks(items: Sequence[object]) -> str:
    return ", ".join("?" * len(items))


# Members seen since the first parameter (a count that both databases sum as an integer).
ACTIVE = "sum(CASE WHEN last_seen_at >= ? THEN 1 ELSE 0 END)"
# The Monday of a run's week ("YYYY-MM-DD") from its UTC text time, in each database's words.
WEEK_START = {
    "sqlite": "date(finished_at, 'weekday 0', '-6 days')",
    "postgresql": "to_char(date_trunc('week', CAST(finished_at AS timestamp)), 'YYYY-MM-DD')",
}


def _within(areas: Sequence[str] | None, column: str = "area_code") -> tuple[str, tuple]:
    """The SQL condition keeping a branch's areas (None: the whole city, no condition)."""
    if areas is None:
        return "", ()
    codes = tuple(sorted(areas))
    if not codes:
        return " AND 0", ()
    return f" AND {column} IN ({_marks(codes)})", codes


def _completed_run(row: aiosqlite.Row) -> CompletedRun:
    return CompletedRun(
        id=row["id"],
        user_id=row["user_id"],
        definition_id=row["definition_id"],
        version=row["version"],
        kind=row["kind"],
        role=row["role"],
        area_code=row["area_code"],
        criteria=json.loads(row["criteria"] or "[]"),
        total=row["total"],
        max_total=row["max_total"],
        passed=None if row["passed"] is None else bool(row["passed"]),
        started_at=from_db_time(row["started_at"]),  # type: ignore[arg-type]
        finished_at=from_db_time(row["finished_at"]),
        entered_by=row["entered_by"],
    )


class Reports:
    """Every figure takes `areas`: a branch's area codes, or None for the whole city."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def members(
        self, active_since: datetime, areas: Sequence[str] | None = None
    ) -> tuple[int, int]:
        """(members who agreed to the privacy notice, of them active since `active_since`)."""
        within, codes = _within(areas)
        row = await self._db.fetchone(
            f"SELECT count(*), coalesce({ACTIVE}, 0) FROM users"
            " WHERE consent_at IS NOT NULL" + within,
            (to_db_time(active_since), *codes),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def members_by_role(self, areas: Sequence[str] | None = None) -> dict[str | None, int]:
        within, codes = _within(areas)
        rows = await self._db.fetchall(
            "SELECT role, count(*) AS n FROM users WHERE consent_at IS NOT NULL"
            f"{within} GROUP BY role",
            codes,
        )
        return {r["role"]: r["n"] for r in rows}

    async def members_per_area(
        self, active_since: datetime, areas: Sequence[str] | None = None
    ) -> list[tuple[str | None, int, int]]:
        """(area code or None, active members, members) of every area with members who agreed
        to the privacy notice: one pass over the covering index gives the member figures."""
        within, codes = _within(areas)
        rows = await self._db.fetchall(
            f"SELECT area_code, {ACTIVE} AS active, count(*) AS n FROM users"
            f" WHERE consent_at IS NOT NULL{within} GROUP BY area_code",
            (to_db_time(active_since), *codes),
        )
        return [(r["area_code"], r["active"], r["n"]) for r in rows]

    async def members_by_area(
        self, active_since: datetime, areas: Sequence[str] | None = None
    ) -> list[AreaMembers]:
        """Members who agreed to the privacy notice, by area and role (the members export)."""
        within, codes = _within(areas)
        rows = await self._db.fetchall(
            f"SELECT area_code, role, count(*) AS n, {ACTIVE} AS active FROM users"
            f" WHERE consent_at IS NOT NULL{within}"
            " GROUP BY area_code, role ORDER BY area_code, role",
            (to_db_time(active_since), *codes),
        )
        return [AreaMembers(r["area_code"], r["role"], r["n"], r["active"]) for r in rows]

    async def results(
        self, definition_ids: Sequence[str], areas: Sequence[str] | None = None
    ) -> dict[str, tuple[int, int, int]]:
        """definition -> (assessments completed, respondents, respondents whose latest met it)."""
        if not definition_ids:
            return {}
        marks = _marks(definition_ids)
        within, codes = _within(areas)
        taken = await self._db.fetchall(
            "SELECT definition_id, count(*) AS n FROM assessment_runs"
            f" WHERE status = 'completed' AND definition_id IN ({marks}){within}"
            " GROUP BY definition_id",
            (*definition_ids, *codes),
        )
        latest = await self._db.fetchall(
            "SELECT definition_id, count(*) AS n, coalesce(sum(passed), 0) AS met"
            f" FROM assessment_runs WHERE latest = 1 AND definition_id IN ({marks}){within}"
            " GROUP BY definition_id",
            (*definition_ids, *codes),
        )
        figures = {d: (0, 0, 0) for d in definition_ids}
        for r in taken:
            figures[r["definition_id"]] = (r["n"], 0, 0)
        for r in latest:
            figures[r["definition_id"]] = (figures[r["definition_id"]][0], r["n"], r["met"])
        return figures

    async def latest_versions(
        self, definition_ids: Sequence[str], areas: Sequence[str] | None = None
    ) -> dict[str, list[int]]:
        """definition -> the versions the respondents' latest results were scored on."""
        if not definition_ids:
            return {}
        within, codes = _within(areas)
        rows = await self._db.fetchall(
            "SELECT DISTINCT definition_id, version FROM assessment_runs"
            f" WHERE latest = 1 AND definition_id IN ({_marks(definition_ids)}){within}"
            " ORDER BY definition_id, version",
            (*definition_ids, *codes),
        )
        found: dict[str, list[int]] = {}
        for r in rows:
            found.setdefault(r["definition_id"], []).append(r["version"])
        return found

    async def results_by_area(
        self, definition_ids: Sequence[str], areas: Sequence[str] | None = None
    ) -> list[tuple[str, int, int]]:
        """(area code, respondents, met) from each respondent's latest result."""
        if not definition_ids:
            return []
        within, codes = _within(areas)
        rows = await self._db.fetchall(
            "SELECT area_code, count(*) AS n, coalesce(sum(passed), 0) AS met FROM assessment_runs"
            f" WHERE latest = 1 AND definition_id IN ({_marks(definition_ids)})"
            f" AND area_code IS NOT NULL{within} GROUP BY area_code ORDER BY area_code",
            (*definition_ids, *codes),
        )
        return [(r["area_code"], r["n"], r["met"]) for r in rows]

    async def area_result(self, definition_ids: Sequence[str], area: str) -> tuple[int, int]:
        if not definition_ids:
            return (0, 0)
        row = await self._db.fetchone(
            "SELECT count(*), coalesce(sum(passed), 0) FROM assessment_runs"
            f" WHERE latest = 1 AND definition_id IN ({_marks(definition_ids)}) AND area_code = ?",
            (*definition_ids, area),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def weekly(
        self, definition_ids: Sequence[str], since: datetime, areas: Sequence[str] | None = None
    ) -> list[tuple[str, int]]:
        """(ISO week start "YYYY-MM-DD", assessments completed) since `since`."""
        if not definition_ids:
            return []
        within, codes = _within(areas)
        rows = await self._db.fetchall(
            f"SELECT {WEEK_START[self._db.kind]} AS week, count(*) AS n"
            " FROM assessment_runs WHERE status = 'completed'"
            f" AND definition_id IN ({_marks(definition_ids)}) AND finished_at >= ?{within}"
            " GROUP BY week ORDER BY week",
            (*definition_ids, to_db_time(since), *codes),
        )
        return [(r["week"], r["n"]) for r in rows]

    async def passed_quiz(self, definition_id: str, areas: Sequence[str] | None = None) -> int:
        within, codes = _within(areas)
        row = await self._db.fetchone(
            "SELECT count(*) FROM assessment_runs WHERE latest = 1 AND definition_id = ?"
            f" AND passed = 1{within}",
            (definition_id, *codes),
        )
        return int(row[0]) if row else 0

    async def completed_runs(
        self,
        start: datetime | None,
        end: datetime | None,
        batch: int = 5000,
        areas: Sequence[str] | None = None,
    ) -> AsyncIterator[list[CompletedRun]]:
        """Completed runs (no names, no chat ids) in batches, oldest first, for exports."""
        last_id = 0
        within, codes = _within(areas)
        while True:
            rows = await self._db.fetchall(
                "SELECT id, user_id, definition_id, version, kind, role, area_code, criteria,"
                " total, max_total, passed, started_at, finished_at, entered_by"
                " FROM assessment_runs WHERE status = 'completed' AND id > ? AND finished_at >= ?"
                f" AND finished_at < ?{within} ORDER BY id LIMIT ?",
                (
                    last_id,
                    to_db_time(start) if start else "",
                    to_db_time(end) if end else "9999",
                    *codes,
                    batch,
                ),
            )
            if not rows:
                return
            # One batch at a time, and its rows dropped before the records are handed on: an
            # export of a million runs holds one batch, in one form, while it is written.
            runs = [_completed_run(r) for r in rows]
            del rows
            yield runs
            last_id = runs[-1].id

    async def salt(self) -> str:
        """The install's secret for pseudonymous ids, created on first use."""
        from bot.store.meta import Meta

        return await Meta(self._db).secret("pseudonym_salt")
