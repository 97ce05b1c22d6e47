"""A person's several channel accounts, and the one-time codes that link them.

The `users` row is the person and holds the account they last wrote from; their other accounts
are `linked_accounts` rows (see migration 0010). Writing from another account swaps the two,
linking merges one person into another, and the outbox asks here for another way to reach a
person when one account cannot be delivered to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.records import ASSISTED, Account, Session, User
from bot.store.db import Database, to_db_time
from bot.store.users import PERSONAL_TABLES, _session, _user


class Accounts:
    def __init__(self, db: Database, forgotten: list) -> None:
        self._db = db
        self._changed = forgotten  # caches keyed by person (staff roles, runs) to drop

    # -- writing from another account -----------------------------------------------------------
    async def switch_to(
        self, channel: str, external_id: str, *, chat_id: str | None, display_name: str
    ) -> tuple[User, Session] | None:
        """A person writes from one of their linked accounts: it becomes the account in their
        `users` row (the one last used) and the one there goes to `linked_accounts`. None when
        the account is nobody's."""
        row = await self._db.fetchone(
            "SELECT user_id, chat_id, status FROM linked_accounts"
            " WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        if row is None:
            return None
        now = self._db.now()
        async with self._db.transaction() as tx:
            person = await tx.fetchone("SELECT * FROM users WHERE id = ?", (row["user_id"],))
            if person is None:
                return None
            await tx.execute(
                "DELETE FROM linked_accounts WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
            await _put_aside(tx, person, now)
            # Writing unblocks; a person who stopped announcements stays stopped.
            person = await tx.fetchone(
                "UPDATE users SET channel = ?, external_id = ?, chat_id = ?, display_name = ?,"
                " last_seen_at = ?, status = CASE status WHEN 'blocked' THEN 'active'"
                " ELSE status END WHERE id = ? RETURNING *,"
                " (SELECT state FROM sessions WHERE user_id = users.id) AS session_state,"
                " (SELECT data FROM sessions WHERE user_id = users.id) AS session_data",
                (
                    channel,
                    external_id,
                    chat_id or row["chat_id"],
                    display_name,
                    now,
                    row["user_id"],
                ),
            )
        assert person is not None
        return _user(person), _session(person["session_state"], person["session_data"])

    # -- linking --------------------------------------------------------------------------------
    async def merge(
        self, channel: str, external_id: str, chat_id: str, into: int
    ) -> tuple[User, int]:
        """Make the account (channel, external_id) the person `into`'s current account. The
        person it belonged to, if any (with their other accounts), is merged into `into`: their
        rows move over (where `into` already has the same row, `into`'s is kept), their profile
        fills what `into` left empty, and their row goes. Returns the person and the id merged
        away (0 when the account was nobody's)."""
        now = self._db.now()
        async with self._db.transaction() as tx:
            person = await tx.fetchone("SELECT * FROM users WHERE id = ?", (into,))
            if person is None:
                raise LookupError(f"user {into} does not exist")
            other = await tx.fetchone(
                "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
            )
            merged = 0
            if other is not None and other["id"] != into:
                merged = other["id"]
                await _move_rows(tx, merged, into)
                await tx.execute(
                    "UPDATE users SET role = coalesce(role, ?), area_code = coalesce(area_code, ?),"
                    " consent_at = coalesce(consent_at, ?) WHERE id = ?",
                    (other["role"], other["area_code"], other["consent_at"], into),
                )
                await tx.execute("DELETE FROM users WHERE id = ?", (merged,))
            await tx.execute(
                "DELETE FROM linked_accounts WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
            # A person an officer registered had no account of their own: nothing to keep.
            mine = (person["channel"], person["external_id"]) != (channel, external_id)
            if mine and person["channel"] != ASSISTED:
                await _put_aside(tx, person, now)
            # One account per channel and person: an older one on this channel is let go.
            await tx.execute(
                "DELETE FROM linked_accounts WHERE user_id = ? AND channel = ?", (into, channel)
            )
            row = await tx.fetchone(
                "UPDATE users SET channel = ?, external_id = ?, chat_id = ?, last_seen_at = ?,"
                " status = CASE status WHEN 'blocked' THEN 'active' ELSE status END"
                " WHERE id = ? RETURNING *",
                (channel, external_id, chat_id, now, into),
            )
        for changed in self._changed:
            changed()
        assert row is not None
        return _user(row), merged

    async def is_linked(self, channel: str, external_id: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM linked_accounts WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        return row is not None

    async def of_person(self, user_id: int) -> list[Account]:
        """The person's accounts, the one they last wrote from first."""
        rows = await self._db.fetchall(
            "SELECT channel, external_id, chat_id, status, 1 AS current FROM users WHERE id = ?"
            " UNION ALL SELECT channel, external_id, chat_id, status, 0 FROM linked_accounts"
            " WHERE user_id = ? ORDER BY current DESC, channel",
            (user_id, user_id),
        )
        return [
            Account(r["channel"], r["external_id"], r["chat_id"], r["status"], bool(r["current"]))
            for r in rows
        ]

    async def unlink(self, user_id: int, channel: str) -> bool:
        """Let one of the person's other accounts go (it becomes nobody's again)."""
        removed = await self._db.execute(
            "DELETE FROM linked_accounts WHERE user_id = ? AND channel = ?", (user_id, channel)
        )
        if removed:
            await self._db.execute(
                "UPDATE users SET preferred_channel = NULL WHERE id = ? AND preferred_channel = ?",
                (user_id, channel),
            )
            for changed in self._changed:
                changed()
        return removed > 0

    # -- delivering -----------------------------------------------------------------------------
    async def blocked(self, user_id: int, channel: str) -> None:
        """The platform says the person's account on `channel` cannot be written to."""
        await self._db.execute(
            "UPDATE users SET status = 'blocked'"
            " WHERE id = ? AND channel = ? AND status = 'active'",
            (user_id, channel),
        )
        await self._db.execute(
            "UPDATE linked_accounts SET status = 'blocked' WHERE user_id = ? AND channel = ?",
            (user_id, channel),
        )

    async def blocked_elsewhere(self, channel: str, external_id: str) -> bool:
        """A platform event: a linked account (not the current one) blocked the bot."""
        changed = await self._db.execute(
            "UPDATE linked_accounts SET status = 'blocked' WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        return changed > 0

    async def alternative(
        self, user_id: int, exclude: Sequence[str], channels: Sequence[str]
    ) -> tuple[str, str] | None:
        """Another of the person's accounts to deliver to: on one of `channels`, not in
        `exclude`, not blocked; none for a person who stopped announcements. The one last used
        first. (channel, chat_id) or None."""
        accounts = await self.of_person(user_id)
        if not accounts or accounts[0].status == "stopped":
            return None
        for account in accounts:
            if account.status == "active" and account.channel in channels:
                if account.channel not in exclude:
                    return account.channel, account.chat_id
        return None

    async def redirect(self, delivery_id: int, channel: str, chat_id: str) -> None:
        await self._db.execute(
            "UPDATE deliveries SET channel = ?, chat_id = ? WHERE id = ?",
            (channel, chat_id, delivery_id),
        )

    # -- codes ----------------------------------------------------------------------------------
    async def add_code(self, code: str, user_id: int, expires_at: datetime) -> bool:
        """False when the code is taken already (drawn twice)."""
        row = await self._db.fetchone(
            "INSERT INTO link_codes (code, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING code",
            (code, user_id, self._db.now(), to_db_time(expires_at)),
        )
        return row is not None

    async def codes_since(self, user_id: int, since: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM link_codes WHERE user_id = ? AND created_at >= ?",
            (user_id, to_db_time(since)),
        )
        return int(row[0]) if row else 0

    async def take_code(self, code: str, now: datetime) -> int | None:
        """The person a valid code was issued to, marking it used (once, whoever asks first);
        None for an unknown, used or expired code."""
        row = await self._db.fetchone(
            "UPDATE link_codes SET used_at = ? WHERE code = ? AND used_at IS NULL"
            " AND expires_at > ? RETURNING user_id",
            (to_db_time(now), code, to_db_time(now)),
        )
        return int(row["user_id"]) if row else None

    async def prune_codes(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM link_codes WHERE expires_at < ?", (to_db_time(before),)
        )


async def _put_aside(tx: Any, person: Any, now: str) -> None:
    """The account in the person's `users` row becomes one of their linked accounts."""
    await tx.execute(
        "INSERT INTO linked_accounts (channel, external_id, chat_id, user_id, status, linked_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, channel) DO NOTHING",
        (
            person["channel"],
            person["external_id"],
            person["chat_id"],
            person["id"],
            "blocked" if person["status"] == "blocked" else "active",
            now,
            person["last_seen_at"],
        ),
    )


async def _move_rows(tx: Any, source: int, target: int) -> None:
    """Every per-member row of `source` becomes `target`'s; where `target` already has the same
    row (a unique key: a session, a follow, a delivery of one announcement), `target`'s stays."""
    for table in [*PERSONAL_TABLES, "staff", "linked_accounts", "link_codes"]:
        key = _UNIQUE_WITH_USER[table]
        if key is None:
            await tx.execute(f"UPDATE {table} SET user_id = ? WHERE user_id = ?", (target, source))
        else:
            # A row moves unless `target` has one with the same key already (SQLite's UPDATE OR
            # IGNORE, said in words both databases know).
            same = "".join(f" AND mine.{column} = {table}.{column}" for column in key)
            await tx.execute(
                f"UPDATE {table} SET user_id = ? WHERE user_id = ? AND NOT EXISTS"
                f" (SELECT 1 FROM {table} mine WHERE mine.user_id = ?{same})",
                (target, source, target),
            )
        await tx.execute(f"DELETE FROM {table} WHERE user_id = ?", (source,))


# Every table with rows of a person, and the other columns of its unique key with user_id (None:
# no such key, every row moves). A table added to PERSONAL_TABLES must be added here.
_UNIQUE_WITH_USER: dict[str, tuple[str, ...] | None] = {
    "sessions": (),
    "assessment_runs": None,
    "recheck_reminders": ("definition_id",),
    "subscriptions": ("topic",),
    "deliveries": ("announcement_id",),
    "rsvps": ("event_id", "occurrence"),
    "tickets": None,
    "staff": (),
    "linked_accounts": ("channel",),
    "link_codes": None,
}
