"""The web console's login links and sessions (hashes of their secrets only)."""

from __future__ import annotations

from datetime import datetime

from bot.records import ConsoleSession
from bot.store.db import Database, from_db_time, to_db_time


class Console:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_login(self, token_hash: str, user_id: int, expires_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO console_logins (token_hash, user_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (token_hash, user_id, self._db.now(), to_db_time(expires_at)),
        )

    async def login_valid(self, token_hash: str, now: datetime) -> bool:
        """Whether the link still works (unused, not expired), without using it."""
        row = await self._db.fetchone(
            "SELECT 1 FROM console_logins WHERE token_hash = ? AND used_at IS NULL"
            " AND expires_at > ?",
            (token_hash, to_db_time(now)),
        )
        return row is not None

    async def use_login(self, token_hash: str, now: datetime) -> int | None:
        """Use the link, in one statement so two uses at once cannot both win: the member's id,
        or None when it is unknown, used or expired."""
        row = await self._db.fetchone(
            "UPDATE console_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
            " AND expires_at > ? RETURNING user_id",
            (to_db_time(now), token_hash, to_db_time(now)),
        )
        return int(row["user_id"]) if row else None

    async def open_session(
        self, id_hash: str, user_id: int, csrf: str, expires_at: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (id_hash, user_id, csrf, self._db.now(), to_db_time(expires_at)),
        )

    async def session(self, id_hash: str, now: datetime) -> ConsoleSession | None:
        row = await self._db.fetchone(
            "SELECT user_id, csrf, expires_at FROM console_sessions"
            " WHERE id_hash = ? AND expires_at > ?",
            (id_hash, to_db_time(now)),
        )
        if row is None:
            return None
        return ConsoleSession(row["user_id"], row["csrf"], from_db_time(row["expires_at"]))  # type: ignore[arg-type]

    async def end(self, id_hash: str) -> bool:
        return (
            await self._db.execute("DELETE FROM console_sessions WHERE id_hash = ?", (id_hash,)) > 0
        )

    async def end_all(self, user_id: int) -> int:
        """End every session of one member (their staff role was taken away)."""
        return await self._db.execute("DELETE FROM console_sessions WHERE user_id = ?", (user_id,))

    async def prune(self, now: datetime) -> int:
        """Forget expired sessions, and links used or expired."""
        moment = to_db_time(now)
        ended = await self._db.execute(
            "DELETE FROM console_sessions WHERE expires_at <= ?", (moment,)
        )
        await self._db.execute(
            "DELETE FROM console_logins WHERE used_at IS NOT NULL OR expires_at <= ?", (moment,)
        )
        return ended
