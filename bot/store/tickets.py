"""Member questions for staff (tickets) and FAQ drafts made from them."""

from __future__ import annotations

import aiosqlite

from bot.records import FaqDraft, Ticket
from bot.store.db import Database, from_db_time


def _ticket(row: aiosqlite.Row) -> Ticket:
    return Ticket(
        row["id"],
        row["user_id"],
        row["question"],
        row["area_code"],
        row["role"],
        row["status"],
        row["assigned_to"],
        row["answer"],
        from_db_time(row["created_at"]),  # type: ignore[arg-type]
    )


def _faq_draft(row: aiosqlite.Row) -> FaqDraft:
    return FaqDraft(
        id=row["id"],
        ticket_id=row["ticket_id"],
        question=row["question"],
        answer=row["answer"],
        created_by=row["created_by"],
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
    )


class Tickets:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_count(self, user_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM tickets WHERE user_id = ? AND status = 'open'", (user_id,)
        )
        return int(row[0]) if row else 0

    async def create(
        self, user_id: int, question: str, area_code: str | None, role: str | None
    ) -> Ticket:
        row = await self._db.fetchone(
            "INSERT INTO tickets (user_id, question, area_code, role, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING *",
            (user_id, question, area_code, role, self._db.now()),
        )
        assert row is not None
        return _ticket(row)

    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self._db.fetchone("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return _ticket(row) if row else None

    async def open(self, limit: int = 20) -> list[Ticket]:
        rows = await self._db.fetchall(
            "SELECT * FROM tickets WHERE status = 'open' ORDER BY created_at, id LIMIT ?", (limit,)
        )
        return [_ticket(r) for r in rows]

    async def of_member(self, user_id: int) -> list[Ticket]:
        rows = await self._db.fetchall(
            "SELECT * FROM tickets WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 20",
            (user_id,),
        )
        return [_ticket(r) for r in rows]

    async def answer(self, ticket_id: int, answer: str, by: str) -> Ticket | None:
        row = await self._db.fetchone(
            "UPDATE tickets SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?"
            " WHERE id = ? AND status = 'open' RETURNING *",
            (answer, by, self._db.now(), ticket_id),
        )
        return _ticket(row) if row else None

    async def close(self, ticket_id: int) -> bool:
        return (
            await self._db.execute(
                "UPDATE tickets SET status = 'closed' WHERE id = ? AND status != 'closed'",
                (ticket_id,),
            )
            > 0
        )

    async def assign(self, ticket_id: int, to: str) -> bool:
        return (
            await self._db.execute(
                "UPDATE tickets SET assigned_to = ? WHERE id = ? AND status = 'open'",
                (to, ticket_id),
            )
            > 0
        )

    async def unnotified(self) -> list[Ticket]:
        rows = await self._db.fetchall(
            "SELECT * FROM tickets WHERE status = 'open' AND notified_at IS NULL ORDER BY id"
        )
        return [_ticket(r) for r in rows]

    async def mark_notified(self, ticket_ids: list[int]) -> None:
        now = self._db.now()
        async with self._db.transaction() as tx:
            await tx.executemany(
                "UPDATE tickets SET notified_at = ? WHERE id = ?", [(now, i) for i in ticket_ids]
            )

    async def draft_faq(self, ticket: Ticket, by: str) -> int:
        row = await self._db.fetchone(
            "INSERT INTO faq_drafts (ticket_id, question, answer, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (ticket.id, ticket.question, ticket.answer or "", by, self._db.now()),
        )
        assert row is not None
        return int(row["id"])

    async def faq_drafts(self) -> list[FaqDraft]:
        rows = await self._db.fetchall("SELECT * FROM faq_drafts ORDER BY id")
        return [_faq_draft(r) for r in rows]
