"""The only place that speaks SQL: the database, its migrations and the repositories."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.store.accounts import Accounts
from bot.store.assessments import Assessments
from bot.store.calendar import Calendar
from bot.store.console import Console
from bot.store.db import Clock, Database, is_url, utc_now
from bot.store.inbound import InboundLog
from bot.store.meta import Meta
from bot.store.outreach import LEASE_S, Announcements, Deliveries, Staff
from bot.store.reports import Reports
from bot.store.tickets import Tickets
from bot.store.users import Sessions, Users

if TYPE_CHECKING:  # imported only on PostgreSQL (asyncpg)
    from bot.store.turns import MemberTurns

__all__ = ["Database", "Store", "open_database"]


async def open_database(target: Path | str, clock: Clock = utc_now) -> Any:
    """The SQLite database at a path, or the PostgreSQL database of a postgresql:// URL; both
    have the same interface (execute, fetchone, fetchall, transaction, now, unwritable...)."""
    if is_url(target):
        # Imported only here: an install on SQLite never loads asyncpg.
        from bot.store.pg import PgDatabase

        return await PgDatabase.open(str(target), clock)
    return await Database.open(target, clock)


class Store:
    """All repositories over one database. Open with `await Store.open(path)`."""

    def __init__(
        self, db: Database, *, shared_rate: float | None = None, lease_s: float = LEASE_S
    ) -> None:
        """`shared_rate` and `lease_s`: how instances sharing a PostgreSQL outbox take from it
        (see Deliveries); SQLite has one process sending, and ignores them."""
        self.db = db
        self.users = Users(db)
        self.sessions = Sessions(db)
        self.assessments = Assessments(db)
        self.staff = Staff(db)
        # A deleted member loses any role, and their runs go with them.
        self.users.forgotten += [self.staff.invalidate, self.assessments.forget_cached]
        # A merge of two persons changes the same caches.
        self.accounts = Accounts(db, self.users.forgotten)
        self.announcements = Announcements(db)
        self.deliveries = Deliveries(db, shared_rate=shared_rate, lease_s=lease_s)
        self.calendar = Calendar(db)
        self.reports = Reports(db)
        self.meta = Meta(db)
        self.tickets = Tickets(db)
        self.inbound = InboundLog(db)
        self.console = Console(db)
        # A member's turn, so that their updates reaching several instances are handled one at
        # a time (bot/store/turns.py). One SQLite process needs none: its channels see to it.
        self.turns: MemberTurns | None = None
        if db.kind == "postgresql":
            from bot.store.turns import MemberTurns

            self.turns = MemberTurns(db)  # type: ignore[arg-type]

    @classmethod
    async def open(cls, target: Path | str, clock: Clock = utc_now, **outbox: Any) -> Store:
        """`target`: a SQLite file, or a postgresql:// URL (DATABASE_URL)."""
        return cls(await open_database(target, clock), **outbox)

    async def close(self) -> None:
        if self.turns is not None:
            await self.turns.close()
        await self.db.close()
