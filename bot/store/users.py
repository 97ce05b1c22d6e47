"""Members (users) and their conversation sessions: the repositories handlers use."""

from __future__ import annotations

import html
import json
import secrets
from datetime import datetime
from typing import Any

import aiosqlite

from bot.records import ASSISTED, Session, User
from bot.store.db import Database, from_db_time

# Tables whose rows belong to one member (a `user_id` column, ON DELETE CASCADE). /mydata counts
# them and /forget deletes them; a feature that stores per-member rows adds its table here.
PERSONAL_TABLES: list[str] = [
    "sessions",
    "assessment_runs",
    "recheck_reminders",
    "subscriptions",
    "deliveries",
    "rsvps",
    "tickets",
]
_EDITABLE = {
    "display_name",
    "locale",
    "role",
    "area_code",
    "status",
    "consent_at",
    "preferred_channel",
}


def _user(row: aiosqlite.Row) -> User:
    return User(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        chat_id=row["chat_id"],
        display_name=row["display_name"],
        locale=row["locale"],
        role=row["role"],
        area_code=row["area_code"],
        status=row["status"],
        consent_at=from_db_time(row["consent_at"]),
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        last_seen_at=from_db_time(row["last_seen_at"]),  # type: ignore[arg-type]
        preferred_channel=row["preferred_channel"],
    )


class Users:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.forgotten: list = []  # callbacks after a member is deleted (caches to drop)

    async def seen(
        self, channel: str, external_id: str, *, chat_id: str, display_name: str, locale: str
    ) -> tuple[User, bool]:
        """Record that a member wrote; create them on first contact. Returns (user, created).

        `locale` is only used for a new member (their app's language as a first guess).
        """
        user, created, _ = await self.arrive(
            channel, external_id, chat_id=chat_id, display_name=display_name, locale=locale
        )
        return user, created

    async def arrive(
        self, channel: str, external_id: str, *, chat_id: str, display_name: str, locale: str
    ) -> tuple[User, bool, Session]:
        """`seen`, and the member's conversation state with it: (user, created, session).

        One statement, as this runs for every update (each statement is a trip to the database
        thread, about 80 us of CPU): insert the member or touch their row, and read their
        session in the same RETURNING. A row created just now is the one whose creation time is
        this very `now`.
        """
        now = self._db.now()
        row = await self._db.fetchone(
            "INSERT INTO users (channel, external_id, chat_id, display_name, locale, created_at,"
            " last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, external_id)"
            " DO UPDATE SET last_seen_at = excluded.last_seen_at, chat_id = excluded.chat_id,"
            " display_name = excluded.display_name RETURNING *,"
            " (SELECT state FROM sessions WHERE user_id = users.id) AS session_state,"
            " (SELECT data FROM sessions WHERE user_id = users.id) AS session_data",
            (channel, external_id, chat_id, display_name, locale, now, now),
        )
        assert row is not None
        created = row["created_at"] == now and row["last_seen_at"] == now
        return _user(row), created, _session(row["session_state"], row["session_data"])

    async def touch(
        self, channel: str, external_id: str, *, chat_id: str | None, display_name: str
    ) -> tuple[User, Session] | None:
        """A known member wrote: note when, and their current chat and name, and read their
        session in the same statement (this runs for every update). None for someone unknown:
        nobody is stored before they agree to the privacy notice. `chat_id` None keeps the chat
        known (the member wrote in a group, which is not where to reach them)."""
        row = await self._db.fetchone(
            "UPDATE users SET last_seen_at = ?, chat_id = coalesce(?, chat_id), display_name = ?"
            " WHERE channel = ? AND external_id = ? RETURNING *,"
            " (SELECT state FROM sessions WHERE user_id = users.id) AS session_state,"
            " (SELECT data FROM sessions WHERE user_id = users.id) AS session_data",
            (self._db.now(), chat_id, display_name, channel, external_id),
        )
        if row is None:
            return None
        return _user(row), _session(row["session_state"], row["session_data"])

    async def register_assisted(
        self, name: str, role: str, area_code: str, locale: str, by: str
    ) -> User:
        """A member an officer registered with the person present (helper mode): no chat
        account yet (channel ASSISTED, an id of its own, no chat), consent as confirmed by the
        officer, and who registered them."""
        now = self._db.now()
        row = await self._db.fetchone(
            "INSERT INTO users (channel, external_id, chat_id, display_name, locale, role,"
            " area_code, consent_at, created_at, last_seen_at, registered_by)"
            " VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (ASSISTED, secrets.token_hex(8), name, locale, role, area_code, now, now, now, by),
        )
        assert row is not None
        return _user(row)

    async def registered_by(self, by: str, limit: int = 50) -> list[User]:
        """The members an officer registered, newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM users WHERE registered_by = ? ORDER BY id DESC LIMIT ?", (by, limit)
        )
        return [_user(r) for r in rows]

    async def get(self, user_id: int) -> User | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    async def find(self, channel: str, external_id: str) -> User | None:
        row = await self._db.fetchone(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return _user(row) if row else None

    async def update(self, user_id: int, **changes: Any) -> User:
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        row = await self._db.fetchone(
            f"UPDATE users SET {assignments} WHERE id = ? RETURNING *",
            (*changes.values(), user_id),
        )
        if row is None:
            raise LookupError(f"user {user_id} does not exist")
        return _user(row)

    async def set_status(self, channel: str, external_id: str, status: str) -> bool:
        """Mark a member blocked/active from a platform event; False when we never knew them."""
        changed = await self._db.execute(
            "UPDATE users SET status = ? WHERE channel = ? AND external_id = ?",
            (status, channel, external_id),
        )
        return changed > 0

    async def inactive_among(self, user_ids: set[int]) -> set[int]:
        """Which of these members are stopped or blocked now."""
        if not user_ids:
            return set()
        marks = ", ".join("?" * len(user_ids))
        rows = await self._db.fetchall(
            f"SELECT id FROM users WHERE status != 'active' AND id IN ({marks})", sorted(user_ids)
        )
        return {r["id"] for r in rows}

    async def last_seen_of(self, user_ids: set[int]) -> dict[int, datetime]:
        if not user_ids:
            return {}
        marks = ", ".join("?" * len(user_ids))
        rows = await self._db.fetchall(
            f"SELECT id, last_seen_at FROM users WHERE id IN ({marks})", sorted(user_ids)
        )
        return {r["id"]: from_db_time(r["last_seen_at"]) for r in rows}  # type: ignore[misc]

    async def personal_data_counts(self, user_id: int) -> dict[str, int]:
        """How many rows each personal table holds for this member (for /mydata)."""
        counts = {}
        for table in PERSONAL_TABLES:
            row = await self._db.fetchone(
                f"SELECT count(*) FROM {table} WHERE user_id = ?", (user_id,)
            )
            counts[table] = int(row[0]) if row else 0
        return counts

    async def forget(self, user_id: int) -> dict[str, int]:
        """Delete the member and everything that hangs off them; returns what was deleted.

        Their words and identity also leave the rows that are not theirs: answers sent to them
        (which quote their question), staff notes quoting it, FAQ drafts made from it and the
        audit trail of what they did. Those rows stay, anonymised, as records of an action.
        """
        async with self._db.transaction() as tx:
            counts = {}
            for table in PERSONAL_TABLES:
                row = await tx.fetchone(
                    f"SELECT count(*) FROM {table} WHERE user_id = ?", (user_id,)
                )
                counts[table] = int(row[0]) if row else 0
            await _erase_traces(tx, user_id)
            # ON DELETE CASCADE removes the rows counted above together with the member.
            await tx.execute("DELETE FROM users WHERE id = ?", (user_id,))
        for callback in self.forgotten:
            callback()
        return counts


FORGOTTEN = "forgotten"  # who a forgotten member becomes in the rows that stay
# "The column holds this text" (a plain substring, not a LIKE pattern), in each database's words.
CONTAINS = {"sqlite": "instr({column}, ?) > 0", "postgresql": "strpos({column}, ?) > 0"}
QUOTE_GONE = "…"  # what stands where a forgotten member's question was quoted


async def _erase_traces(tx: Any, user_id: int) -> None:
    """Take a member's words and identity out of the rows that outlive them (before the member
    row goes: their questions and their "channel:id" are read from it)."""
    member = await tx.fetchone(
        "SELECT channel, external_id, chat_id FROM users WHERE id = ?", (user_id,)
    )
    if member is None:
        return
    # The person's other accounts too: /forget forgets them everywhere.
    accounts = [member] + await tx.fetchall(
        "SELECT channel, external_id, chat_id FROM linked_accounts WHERE user_id = ?", (user_id,)
    )
    refs = [f"{a['channel']}:{a['external_id']}" for a in accounts]
    questions = [
        r["question"]
        for r in await tx.fetchall("SELECT question FROM tickets WHERE user_id = ?", (user_id,))
    ]
    await _erase_announcements(tx, user_id, questions)
    await tx.execute(
        "UPDATE faq_drafts SET question = '', ticket_id = NULL"
        " WHERE ticket_id IN (SELECT id FROM tickets WHERE user_id = ?)",
        (user_id,),
    )
    for ref in refs:
        # What they did as staff, or tried to do, stays on record without saying who.
        await tx.execute("UPDATE audit_log SET actor = ? WHERE actor = ?", (FORGOTTEN, ref))
        await tx.execute(
            "UPDATE audit_log SET detail = replace(detail, ?, ?) WHERE "
            + CONTAINS[tx.kind].format(column="detail"),
            (json.dumps(ref)[1:-1], FORGOTTEN, json.dumps(ref)[1:-1]),
        )
    # A broadcast they sent no longer reports its progress to their chat.
    for account in accounts:
        await tx.execute(
            "UPDATE announcements SET report_chat = NULL, report_message = NULL"
            " WHERE report_channel = ? AND report_chat = ?",
            (account["channel"], account["chat_id"]),
        )
    for table, column in _REF_COLUMNS:
        for ref in refs:
            await tx.execute(
                f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (FORGOTTEN, ref)
            )


# Columns naming a member as "channel:external_id" in rows that are not theirs.
_REF_COLUMNS = [
    ("announcements", "created_by"),
    ("tickets", "assigned_to"),
    ("tickets", "answered_by"),
    ("faq_drafts", "created_by"),
    ("custom_events", "created_by"),
    ("staff", "granted_by"),
]


async def _erase_announcements(tx: Any, user_id: int, questions: list[str]) -> None:
    """A message meant for this member alone (an answer, a reminder) loses its text; a message
    to others that quotes one of their questions (a staff digest) loses the quote."""
    rows = await tx.fetchall(
        "SELECT id, text, audience FROM announcements WHERE audience LIKE '%user_ids%'"
        + "".join(" OR " + CONTAINS[tx.kind].format(column="text") for _ in questions),
        [_quoted(q) for q in questions],
    )
    for row in rows:
        text = row["text"]
        if json.loads(row["audience"] or "{}").get("user_ids") == [user_id]:
            text = ""
        for question in questions:
            for quote in _quotes(question):
                text = text.replace(quote, QUOTE_GONE)
        if text != row["text"]:
            await tx.execute("UPDATE announcements SET text = ? WHERE id = ?", (text, row["id"]))


def _quoted(question: str) -> str:
    """The start every quote of a question shares: HTML-escaped, and the shortest cut a message
    makes (the staff digest's 120 characters)."""
    return html.escape(question[:120], quote=False)


def _quotes(question: str) -> list[str]:
    """Every way a message quotes a question (whole, or cut at 500 or 120 characters), the
    longest first so a long quote goes whole rather than leave its tail."""
    cuts = sorted({question, question[:500], question[:120]}, key=len, reverse=True)
    return [html.escape(cut, quote=False) for cut in cuts]


class Sessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> Session:
        row = await self._db.fetchone(
            "SELECT state, data FROM sessions WHERE user_id = ?", (user_id,)
        )
        return _session(row["state"], row["data"]) if row else Session()

    async def choices(self, user_id: int) -> list[list[str]]:
        row = await self._db.fetchone("SELECT choices FROM sessions WHERE user_id = ?", (user_id,))
        return json.loads(row["choices"]) if row else []

    async def save_choices(self, user_id: int, choices: list[list[str]]) -> None:
        """The numbered choices just shown to the member ([label, packed action] each)."""
        await self._db.execute(
            "INSERT INTO sessions (user_id, choices, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET choices = excluded.choices",
            (user_id, json.dumps(choices, ensure_ascii=False), self._db.now()),
        )

    async def first_time_seen(self, channel: str, message_id: str) -> bool:
        """True the first time a platform message id arrives; False for a repeat."""
        row = await self._db.fetchone(
            "INSERT INTO inbound_seen (channel, message_id, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING message_id",
            (channel, message_id, self._db.now()),
        )
        return row is not None

    async def prune_seen(self, before: str) -> int:
        """Forget platform message ids older than any redelivery (UTC text time)."""
        return await self._db.execute("DELETE FROM inbound_seen WHERE seen_at < ?", (before,))

    async def prune(self, untouched_since: str) -> int:
        """Forget conversation states nobody came back to (UTC text time)."""
        return await self._db.execute(
            "DELETE FROM sessions WHERE updated_at < ?", (untouched_since,)
        )

    async def save(self, user_id: int, session: Session) -> None:
        await self._db.execute(
            "INSERT INTO sessions (user_id, state, data, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, data = excluded.data,"
            " updated_at = excluded.updated_at",
            (user_id, session.state, json.dumps(session.data, ensure_ascii=False), self._db.now()),
        )


def _session(state: str | None, data: str | None) -> Session:
    """A session from its columns (no row yet: the empty session)."""
    return Session(state=state, data=json.loads(data)) if data is not None else Session()
