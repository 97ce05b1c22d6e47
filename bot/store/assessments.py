"""Assessment runs (in progress and completed), definition snapshots and re-check reminders."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot.records import IN_PROGRESS, Recheck, Run
from bot.store.db import Database, from_db_time, to_db_time

ABANDON_AFTER = timedelta(days=30)  # an unfinished run untouched this long is dropped
CACHED_RUNS = 10_000  # runs in progress kept in memory at most (members answering right now)


def _run(row: aiosqlite.Row) -> Run:
    return Run(
        id=row["id"],
        user_id=row["user_id"],
        definition_id=row["definition_id"],
        version=row["version"],
        kind=row["kind"],
        role=row["role"],
        area_code=row["area_code"],
        status=row["status"],
        position=row["position"],
        answers=json.loads(row["answers"]),
        criteria=json.loads(row["criteria"]) if row["criteria"] else None,
        total=row["total"],
        max_total=row["max_total"],
        passed=None if row["passed"] is None else bool(row["passed"]),
        started_at=from_db_time(row["started_at"]),  # type: ignore[arg-type]
        updated_at=from_db_time(row["updated_at"]),  # type: ignore[arg-type]
        finished_at=from_db_time(row["finished_at"]),
        entered_by=row["entered_by"],
    )


def _recheck(row: aiosqlite.Row) -> Recheck:
    return Recheck(
        id=row["id"],
        user_id=row["user_id"],
        definition_id=row["definition_id"],
        due_at=from_db_time(row["due_at"]),  # type: ignore[arg-type]
    )


class Assessments:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Runs in progress as this process last wrote them, by id. Every answer reads its run and
        # writes it back, and the read was a database trip (~80 us) on every answer. All writes to
        # runs go through this class and keep the copies right, and a member forgotten clears
        # them all. Only the running bot writes runs (the CLI reads them). On PostgreSQL other
        # instances write runs too (a member's next press may land on any): nothing is kept.
        self._in_progress: dict[int, Run] = {}
        self._caching = db.kind == "sqlite"

    # -- snapshots --------------------------------------------------------------------------
    async def snapshot(self, definition_id: str, version: int, kind: str, body: Any) -> None:
        """Keep the definition as first seen at this version (later edits keep the version)."""
        await self._db.execute(
            "INSERT INTO definition_snapshots (definition_id, version, kind, body, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (definition_id, version, kind, json.dumps(body, ensure_ascii=False), self._db.now()),
        )

    async def snapshot_body(self, definition_id: str, version: int) -> Any | None:
        row = await self._db.fetchone(
            "SELECT body FROM definition_snapshots WHERE definition_id = ? AND version = ?",
            (definition_id, version),
        )
        return json.loads(row["body"]) if row else None

    async def latest_versions(self) -> dict[str, int]:
        """The highest version each definition was ever started on (a new version of edited
        content must not reuse a number that already means something else)."""
        rows = await self._db.fetchall(
            "SELECT definition_id, MAX(version) AS version FROM definition_snapshots"
            " GROUP BY definition_id"
        )
        return {row["definition_id"]: row["version"] for row in rows}

    # -- runs -------------------------------------------------------------------------------
    async def start(
        self,
        user_id: int,
        definition_id: str,
        version: int,
        kind: str,
        role: str | None,
        area_code: str | None,
        entered_by: str | None = None,
    ) -> Run:
        """A fresh run; any unfinished run of the same definition is abandoned (a retake).
        `entered_by`: the officer filling it in for the member (helper mode)."""
        now = self._db.now()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE assessment_runs SET status = 'abandoned', answers = '{}', updated_at = ?"
                " WHERE user_id = ? AND definition_id = ? AND status = 'in_progress'",
                (now, user_id, definition_id),
            )
            row = await tx.fetchone(
                "INSERT INTO assessment_runs (user_id, definition_id, version, kind, role,"
                " area_code, started_at, updated_at, entered_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (user_id, definition_id, version, kind, role, area_code, now, now, entered_by),
            )
        assert row is not None
        for old in [r for r in self._in_progress.values() if r.user_id == user_id]:
            if old.definition_id == definition_id:  # abandoned just now
                del self._in_progress[old.id]
        return self._keep(_run(row))

    async def get(self, run_id: int) -> Run | None:
        cached = self._in_progress.get(run_id)
        if cached is not None:
            return cached
        row = await self._db.fetchone("SELECT * FROM assessment_runs WHERE id = ?", (run_id,))
        return self._keep(_run(row)) if row else None

    def forget_cached(self) -> None:
        """Drop the in-memory runs (after changes made around this class)."""
        self._in_progress.clear()

    def _keep(self, run: Run) -> Run:
        if run.status != IN_PROGRESS or not self._caching:
            self._in_progress.pop(run.id, None)
            return run
        self._in_progress[run.id] = run
        if len(self._in_progress) > CACHED_RUNS:  # the longest untouched goes first
            del self._in_progress[next(iter(self._in_progress))]
        return run

    async def save_progress(self, run_id: int, answers: dict[str, str], position: int) -> Run:
        row = await self._db.fetchone(
            "UPDATE assessment_runs SET answers = ?, position = ?, updated_at = ?"
            " WHERE id = ? AND status = 'in_progress' RETURNING *",
            (json.dumps(answers), position, self._db.now(), run_id),
        )
        if row is None:
            self._in_progress.pop(run_id, None)
            raise LookupError(f"run {run_id} is not in progress")
        self._in_progress.pop(run_id, None)  # re-inserted last: the order is last touched
        return self._keep(_run(row))

    async def complete(
        self,
        run_id: int,
        answers: dict[str, str],
        criteria: list[dict[str, Any]],
        total: float,
        max_total: float,
        passed: bool,
    ) -> Run:
        """Finish a run; it becomes the member's latest result for its assessment."""
        self._in_progress.pop(run_id, None)
        now = self._db.now()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE assessment_runs SET status = 'completed', answers = ?, criteria = ?,"
                " total = ?, max_total = ?, passed = ?, updated_at = ?, finished_at = ?"
                " WHERE id = ? AND status = 'in_progress' RETURNING *",
                (
                    json.dumps(answers),
                    json.dumps(criteria),
                    total,
                    max_total,
                    int(passed),
                    now,
                    now,
                    run_id,
                ),
            )
            if row is None:
                raise LookupError(f"run {run_id} is not in progress")
            await tx.execute(
                "UPDATE assessment_runs SET latest = CASE WHEN id = ? THEN 1 ELSE 0 END"
                " WHERE user_id = ? AND definition_id = ? AND (latest = 1 OR id = ?)",
                (run_id, row["user_id"], row["definition_id"], run_id),
            )
        return _run(row)

    async def abandon(self, run_id: int) -> None:
        """Cancel: the partial answers are deleted, not kept."""
        self._in_progress.pop(run_id, None)
        await self._db.execute(
            "UPDATE assessment_runs SET status = 'abandoned', answers = '{}', updated_at = ?"
            " WHERE id = ? AND status = 'in_progress'",
            (self._db.now(), run_id),
        )

    async def expire(self, older_than: datetime) -> int:
        """Unfinished runs untouched since `older_than` are abandoned and their answers dropped."""
        for run in [r for r in self._in_progress.values() if r.updated_at < older_than]:
            del self._in_progress[run.id]
        return await self._db.execute(
            "UPDATE assessment_runs SET status = 'abandoned', answers = '{}'"
            " WHERE status = 'in_progress' AND updated_at < ?",
            (to_db_time(older_than),),
        )

    async def in_progress(self, user_id: int) -> list[Run]:
        rows = await self._db.fetchall(
            "SELECT * FROM assessment_runs WHERE user_id = ? AND status = 'in_progress'"
            " ORDER BY updated_at DESC, id DESC",
            (user_id,),
        )
        return [_run(r) for r in rows]

    async def history(self, user_id: int, limit: int = 20) -> list[Run]:
        rows = await self._db.fetchall(
            "SELECT * FROM assessment_runs WHERE user_id = ? AND status = 'completed'"
            " ORDER BY finished_at DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        return [_run(r) for r in rows]

    async def passed_quiz_plans(self, user_id: int) -> set[str]:
        rows = await self._db.fetchall(
            "SELECT DISTINCT definition_id FROM assessment_runs"
            " WHERE user_id = ? AND kind = 'quiz' AND status = 'completed' AND passed = 1",
            (user_id,),
        )
        return {r["definition_id"] for r in rows}

    # -- re-check reminders -------------------------------------------------------------------
    async def remind_recheck(self, user_id: int, definition_id: str, due: datetime) -> None:
        await self._db.execute(
            "INSERT INTO recheck_reminders (user_id, definition_id, due_at, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, definition_id)"
            " DO UPDATE SET due_at = excluded.due_at, sent_at = NULL",
            (user_id, definition_id, to_db_time(due), self._db.now()),
        )

    async def recheck_due(self, user_id: int, definition_id: str) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT due_at FROM recheck_reminders WHERE user_id = ? AND definition_id = ?"
            " AND sent_at IS NULL",
            (user_id, definition_id),
        )
        return from_db_time(row["due_at"]) if row else None

    async def rechecks_due(self, now: datetime) -> list[Recheck]:
        """Re-check reminders not sent yet whose time has come, earliest first."""
        rows = await self._db.fetchall(
            "SELECT id, user_id, definition_id, due_at FROM recheck_reminders"
            " WHERE sent_at IS NULL AND due_at <= ? ORDER BY due_at",
            (to_db_time(now),),
        )
        return [_recheck(r) for r in rows]

    async def rechecks_upcoming(self, now: datetime, until: datetime) -> list[Recheck]:
        """Re-check reminders not sent yet that fall due after `now`, up to `until`."""
        rows = await self._db.fetchall(
            "SELECT id, user_id, definition_id, due_at FROM recheck_reminders"
            " WHERE sent_at IS NULL AND due_at > ? AND due_at <= ?",
            (to_db_time(now), to_db_time(until)),
        )
        return [_recheck(r) for r in rows]

    async def recheck_sent(self, reminder_id: int) -> bool:
        changed = await self._db.execute(
            "UPDATE recheck_reminders SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
            (self._db.now(), reminder_id),
        )
        return changed > 0
