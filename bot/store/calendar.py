"""Staff-created events, reminder firings, RSVPs and topic subscriptions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from bot.records import Firing
from bot.store.db import Database, from_db_time, to_db_time


def _firing(row: aiosqlite.Row) -> Firing:
    return Firing(
        row["id"],
        row["kind"],
        row["key"],
        row["occurrence"],
        row["slot"],
        from_db_time(row["fire_at"]),  # type: ignore[arg-type]
        row["grace_s"],
        row["status"],
    )


class Calendar:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- staff-created events -------------------------------------------------------------------
    async def add_event(self, body: dict[str, Any], created_by: str) -> str:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT count(*) FROM custom_events")
            event_id = f"e{(int(row[0]) if row else 0) + 1}"
            body = {**body, "id": event_id}
            await tx.execute(
                "INSERT INTO custom_events (id, body, created_by, created_at) VALUES (?, ?, ?, ?)",
                (event_id, json.dumps(body, ensure_ascii=False), created_by, self._db.now()),
            )
        return event_id

    async def active_events(self) -> list[dict[str, Any]]:
        rows = await self._db.fetchall(
            "SELECT body FROM custom_events WHERE cancelled_at IS NULL ORDER BY created_at"
        )
        return [json.loads(r["body"]) for r in rows]

    async def cancel_event(self, event_id: str) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE custom_events SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL",
                (self._db.now(), event_id),
            )
            await tx.execute(
                "UPDATE reminder_firings SET status = 'cancelled'"
                " WHERE kind = 'event' AND key = ? AND status = 'pending'",
                (event_id,),
            )
        return changed > 0

    # -- firings ----------------------------------------------------------------------------------
    async def plan(self, rows: Sequence[tuple[str, str, str, int, datetime, float]]) -> int:
        """Insert firings not planned yet; returns how many are new."""
        before = await self._db.fetchone("SELECT count(*) FROM reminder_firings")
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO reminder_firings (kind, key, occurrence, slot, fire_at, grace_s)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (k, key, occ, slot, to_db_time(at), grace)
                    for k, key, occ, slot, at, grace in rows
                ],
            )
        after = await self._db.fetchone("SELECT count(*) FROM reminder_firings")
        return int(after[0]) - int(before[0]) if before and after else 0

    async def due(self, now: datetime) -> list[Firing]:
        rows = await self._db.fetchall(
            "SELECT * FROM reminder_firings WHERE status = 'pending' AND fire_at <= ?"
            " ORDER BY fire_at, id",
            (to_db_time(now),),
        )
        return [_firing(r) for r in rows]

    async def upcoming(self, now: datetime, until: datetime) -> list[Firing]:
        rows = await self._db.fetchall(
            "SELECT * FROM reminder_firings WHERE status = 'pending' AND fire_at > ?"
            " AND fire_at <= ? ORDER BY fire_at",
            (to_db_time(now), to_db_time(until)),
        )
        return [_firing(r) for r in rows]

    async def settle(self, firing_id: int, status: str, announcements: Sequence[int] = ()) -> bool:
        """pending -> fired/missed/cancelled, once: False when another run got there first."""
        changed = await self._db.execute(
            "UPDATE reminder_firings SET status = ?, fired_at = ?, announcements = ?"
            " WHERE id = ? AND status = 'pending'",
            (status, self._db.now(), json.dumps(list(announcements)), firing_id),
        )
        return changed > 0

    async def firings(self, key: str) -> list[Firing]:
        rows = await self._db.fetchall(
            "SELECT * FROM reminder_firings WHERE key = ? ORDER BY fire_at", (key,)
        )
        return [_firing(r) for r in rows]

    # -- RSVPs and subscriptions ------------------------------------------------------------
    async def toggle_rsvp(self, user_id: int, event_id: str, occurrence: str) -> bool:
        """Returns True when the member now attends."""
        removed = await self._db.execute(
            "DELETE FROM rsvps WHERE user_id = ? AND event_id = ? AND occurrence = ?",
            (user_id, event_id, occurrence),
        )
        if removed:
            return False
        await self._db.execute(
            "INSERT INTO rsvps (user_id, event_id, occurrence, created_at) VALUES (?, ?, ?, ?)",
            (user_id, event_id, occurrence, self._db.now()),
        )
        return True

    async def attends(self, user_id: int, event_id: str, occurrence: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM rsvps WHERE user_id = ? AND event_id = ? AND occurrence = ?",
            (user_id, event_id, occurrence),
        )
        return row is not None

    async def rsvp_count(self, event_id: str, occurrence: str) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM rsvps WHERE event_id = ? AND occurrence = ?",
            (event_id, occurrence),
        )
        return int(row[0]) if row else 0

    async def toggle_topic(self, user_id: int, topic: str) -> bool:
        """Returns True when the member now follows the topic."""
        removed = await self._db.execute(
            "DELETE FROM subscriptions WHERE user_id = ? AND topic = ?", (user_id, topic)
        )
        if removed:
            return False
        await self._db.execute(
            "INSERT INTO subscriptions (user_id, topic, created_at) VALUES (?, ?, ?)",
            (user_id, topic, self._db.now()),
        )
        return True

    async def topics_of(self, user_id: int) -> set[str]:
        rows = await self._db.fetchall(
            "SELECT topic FROM subscriptions WHERE user_id = ?", (user_id,)
        )
        return {r["topic"] for r in rows}

    async def followers(self, topic: str) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM subscriptions WHERE topic = ?", (topic,)
        )
        return int(row[0]) if row else 0
