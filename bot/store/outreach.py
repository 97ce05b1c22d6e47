"""Staff roles and their audit trail, announcements, audiences and the delivery outbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from bot.records import (
    ASSISTED,
    DRAFT,
    FINAL,
    PENDING,
    SENDING,
    Announcement,
    AudienceFilter,
    AuditEntry,
    Delivery,
    Outcome,
    RecipientOutcome,
    StaffMember,
)
from bot.store.db import Database, from_db_time, to_db_time

RECHECK_S = 1.0  # how stale a role changed by another process may be
# How the roles kept in memory learn that another process wrote. SQLite counts the commits of
# every other connection in data_version; PostgreSQL has no such counter (and other instances
# write too), so there the roles are simply read again, once a second at most.
DATA_VERSION = {"sqlite": "PRAGMA data_version", "postgresql": None}


def _announcement(row: aiosqlite.Row) -> Announcement:
    return Announcement(
        id=row["id"],
        created_by=row["created_by"],
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        text=row["text"],
        photo=row["photo"],
        photo_file_id=row["photo_file_id"],
        audience=AudienceFilter.from_json(row["audience"]),
        status=row["status"],
        scheduled_at=from_db_time(row["scheduled_at"]),
        expires_at=from_db_time(row["expires_at"]),
        paid=bool(row["paid"]),
        total=row["total"],
        started_at=from_db_time(row["started_at"]),
        finished_at=from_db_time(row["finished_at"]),
        report_chat=row["report_chat"],
        report_channel=row["report_channel"],
        report_message=row["report_message"],
        report_locale=row["report_locale"],
        approval=row["approval"],
        approval_by=row["approval_by"],
        approval_note=row["approval_note"],
        wanted_at=from_db_time(row["wanted_at"]),
    )


# Who an announcement missed, for a resend: their delivery failed, or it expired while waiting
# (a channel down until the announcement's expiry). Not those who blocked the bot, stopped, or
# whom the platform's rules keep out (outside_window).
MISSED = (
    "SELECT d.user_id FROM deliveries d WHERE d.announcement_id = ? AND d.user_id IS NOT NULL"
    " AND (d.status = 'failed' OR (d.status = 'skipped' AND d.last_error LIKE 'expired%'))"
)


# A person who can receive announcements: active, or blocked on the account they last used but
# with another linked account that is not (the outbox then delivers there).
REACHABLE = (
    "(u.status = 'active' OR (u.status = 'blocked' AND u.id IN"
    " (SELECT user_id FROM linked_accounts WHERE status = 'active')))"
)


def _audience_sql(
    audience: AudienceFilter,
    not_met_definitions: Sequence[str],
    super_admins: Iterable[tuple[str, str]] = (),
) -> tuple[str, list]:
    # A member an officer registered has no chat to send to (helper mode).
    where = [REACHABLE, "u.consent_at IS NOT NULL", f"u.channel <> '{ASSISTED}'"]
    params: list[Any] = []
    if audience.areas:
        where.append(f"u.area_code IN ({', '.join('?' * len(audience.areas))})")
        params += audience.areas
    if audience.roles:
        where.append(f"u.role IN ({', '.join('?' * len(audience.roles))})")
        params += audience.roles
    if audience.locale:
        where.append("u.locale = ?")
        params.append(audience.locale)
    if audience.topics:
        marks = ", ".join("?" * len(audience.topics))
        where.append(
            "EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id"
            f" AND s.topic IN ({marks}))"
        )
        params += audience.topics
    if audience.user_ids:
        where.append(f"u.id IN ({', '.join('?' * len(audience.user_ids))})")
        params += audience.user_ids
    if audience.missed_from is not None:
        where.append(f"u.id IN ({MISSED})")
        params.append(audience.missed_from)
    if audience.staff_only:
        supers = sorted(f"{c}:{e}" for c, e in super_admins)
        marks = ", ".join("?" * len(supers))
        in_supers = (
            f" OR (u.channel || ':' || u.external_id) IN ({marks})"
            " OR u.id IN (SELECT user_id FROM linked_accounts"
            f" WHERE (channel || ':' || external_id) IN ({marks}))"
            if supers
            else ""
        )
        city = " WHERE areas = ''" if audience.city_staff else ""
        where.append(f"(u.id IN (SELECT user_id FROM staff{city}){in_supers})")
        params += supers + supers
    if audience.not_met:
        if not not_met_definitions:
            where.append("1 = 0")
        else:
            marks = ", ".join("?" * len(not_met_definitions))
            where.append(
                "(SELECT r.passed FROM assessment_runs r WHERE r.user_id = u.id"
                f" AND r.status = 'completed' AND r.definition_id IN ({marks})"
                " ORDER BY r.finished_at DESC, r.id DESC LIMIT 1) = 0"
            )
            params += not_met_definitions
    return " AND ".join(where), params


class Staff:
    """Officer, editor and admin roles granted in chat or on the command line, each for the whole
    city or some areas (super admins come from ADMIN_IDS).

    Asked on every update, so the few roles are kept in memory. They change here, or in another
    process (`khuyenhoc admins grant` beside a running bot, another instance): looked at once a
    second at most, SQLite's data_version tells when another connection wrote, and the roles are
    read again (on PostgreSQL, always read again; see DATA_VERSION).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._roles: dict[int, tuple[str, tuple[str, ...]]] | None = None
        self._version: int | None = None
        self._checked_at = datetime.min.replace(tzinfo=UTC)
        self._holders: set[int] | None = None  # persons holding a super admin's account

    def invalidate(self) -> None:
        self._roles = None
        self._holders = None

    async def holders(self, accounts: frozenset[tuple[str, str]]) -> set[int]:
        """The persons holding any of these (channel, external id) accounts, as the one they
        last used or a linked one (a super admin who also writes from Zalo is still one).
        Kept in memory until `invalidate` (linking, unlinking and forgetting call it)."""
        if self._holders is None:
            refs = sorted(f"{channel}:{external_id}" for channel, external_id in accounts)
            marks = ", ".join("?" * len(refs))
            rows = (
                await self._db.fetchall(
                    f"SELECT id FROM users WHERE channel || ':' || external_id IN ({marks})"
                    " UNION SELECT user_id FROM linked_accounts"
                    f" WHERE channel || ':' || external_id IN ({marks})",
                    [*refs, *refs],
                )
                if refs
                else []
            )
            self._holders = {int(r[0]) for r in rows}
        return self._holders

    async def _loaded(self) -> dict[int, tuple[str, tuple[str, ...]]]:
        # At most once a second (this runs for every update): has another process written?
        now = self._db.clock()  # the injected clock: tests move it instead of sleeping
        if self._roles is None or abs((now - self._checked_at).total_seconds()) >= RECHECK_S:
            self._checked_at = now
            query = DATA_VERSION[self._db.kind]
            row = await self._db.fetchone(query) if query else None
            version = int(row[0]) if row else None
            if version is None or version != self._version:
                self._roles, self._version = None, version
                if version is None:  # PostgreSQL: another instance may have linked accounts
                    self._holders = None
        if self._roles is None:
            rows = await self._db.fetchall("SELECT user_id, role, areas FROM staff")
            self._roles = {r["user_id"]: (r["role"], _codes(r["areas"])) for r in rows}
        return self._roles

    async def role_of(self, user_id: int) -> str | None:
        held = (await self._loaded()).get(user_id)
        return held[0] if held else None

    async def held(self, user_id: int) -> tuple[str, tuple[str, ...]] | None:
        """(role, area codes) granted to this member; () areas: the whole city."""
        return (await self._loaded()).get(user_id)

    async def grant(self, user_id: int, role: str, by: str, areas: Sequence[str] = ()) -> None:
        await self._db.execute(
            "INSERT INTO staff (user_id, role, areas, granted_by, granted_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, areas = excluded.areas,"
            " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            (user_id, role, ",".join(areas), by, self._db.now()),
        )
        self._roles = None

    async def revoke(self, user_id: int) -> bool:
        self._roles = None
        return await self._db.execute("DELETE FROM staff WHERE user_id = ?", (user_id,)) > 0

    async def members(self) -> list[StaffMember]:
        rows = await self._db.fetchall(
            "SELECT s.role, s.areas, s.granted_at, s.granted_by, u.id AS user_id, u.channel,"
            " u.external_id, u.chat_id, u.display_name, u.locale"
            " FROM staff s JOIN users u ON u.id = s.user_id ORDER BY s.granted_at"
        )
        return [
            StaffMember(
                user_id=r["user_id"],
                role=r["role"],
                granted_at=from_db_time(r["granted_at"]),  # type: ignore[arg-type]
                granted_by=r["granted_by"],
                channel=r["channel"],
                external_id=r["external_id"],
                chat_id=r["chat_id"],
                display_name=r["display_name"],
                locale=r["locale"],
                areas=_codes(r["areas"]),
            )
            for r in rows
        ]

    async def audit(
        self, actor: str, action: str, *, scope: Sequence[str] = (), **detail: Any
    ) -> None:
        await self._db.execute(
            "INSERT INTO audit_log (at, actor, action, detail, scope) VALUES (?, ?, ?, ?, ?)",
            (
                self._db.now(),
                actor,
                action,
                json.dumps(detail, ensure_ascii=False),
                ",".join(scope),
            ),
        )

    async def audit_trail(
        self, limit: int = 50, *, since: datetime | None = None, who: str | None = None
    ) -> list[AuditEntry]:
        """The latest entries, newest first; `since` and `who` (an actor) narrow them."""
        where, params = [], []
        if since is not None:
            where.append("at >= ?")
            params.append(to_db_time(since))
        if who is not None:
            where.append("actor = ?")
            params.append(who)
        sql = "SELECT * FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = await self._db.fetchall(f"{sql} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [
            AuditEntry(
                id=r["id"],
                at=from_db_time(r["at"]),  # type: ignore[arg-type]
                actor=r["actor"],
                action=r["action"],
                detail=json.loads(r["detail"]),
                scope=_codes(r["scope"]),
            )
            for r in rows
        ]


def _codes(text: str | None) -> tuple[str, ...]:
    """Area codes kept comma-separated in one column ('' = the whole city)."""
    return tuple(code for code in (text or "").split(",") if code)


_EDITABLE_COLUMNS = frozenset(
    {
        "text",
        "photo",
        "photo_file_id",
        "audience",
        "status",
        "scheduled_at",
        "expires_at",
        "report_message",
        "report_chat",
        "report_channel",
        "report_locale",
        "wanted_at",
    }
)


class Announcements:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        created_by: str,
        text: str,
        audience: AudienceFilter,
        photo: str | None = None,
        status: str = DRAFT,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        paid: bool = False,
        report_to: tuple[str, str, str] | None = None,  # (channel, chat_id, locale)
    ) -> Announcement:
        channel, chat, locale = report_to or (None, None, None)
        row = await self._db.fetchone(
            "INSERT INTO announcements (created_by, created_at, text, photo, audience, status,"
            " scheduled_at, expires_at, paid, report_channel, report_chat, report_locale)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                created_by,
                self._db.now(),
                text,
                photo,
                audience.to_json(),
                status,
                to_db_time(scheduled_at) if scheduled_at else None,
                to_db_time(expires_at) if expires_at else None,
                int(paid),
                channel,
                chat,
                locale,
            ),
        )
        assert row is not None
        return _announcement(row)

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self._db.fetchone(
            "SELECT * FROM announcements WHERE id = ?", (announcement_id,)
        )
        return _announcement(row) if row else None

    async def update(self, announcement_id: int, **changes: Any) -> Announcement:
        announcement = await self.update_if(announcement_id, (), **changes)
        if announcement is None:
            raise LookupError(f"announcement {announcement_id} does not exist")
        return announcement

    async def update_if(
        self, announcement_id: int, statuses: Iterable[str], **changes: Any
    ) -> Announcement | None:
        """Change the announcement only while its status is one of `statuses` (any when empty),
        in one statement: a worker that started it meanwhile wins. None when nothing changed."""
        unknown = set(changes) - _EDITABLE_COLUMNS
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        values = [
            to_db_time(v)
            if isinstance(v, datetime)
            else v.to_json()
            if isinstance(v, AudienceFilter)
            else v
            for v in changes.values()
        ]
        assignments = ", ".join(f"{name} = ?" for name in changes)
        statuses = tuple(statuses)
        guard = f" AND status IN ({', '.join('?' * len(statuses))})" if statuses else ""
        row = await self._db.fetchone(
            f"UPDATE announcements SET {assignments} WHERE id = ?{guard} RETURNING *",
            (*values, announcement_id, *statuses),
        )
        return _announcement(row) if row else None

    async def ask_approval(
        self, announcement_id: int, wanted_at: datetime | None, report_to: tuple[str, str, str]
    ) -> Announcement | None:
        """A draft waits for approval (to go at `wanted_at`, or as soon as approved); None when
        it is no longer a draft."""
        channel, chat, locale = report_to
        row = await self._db.fetchone(
            "UPDATE announcements SET approval = 'waiting', approval_by = NULL,"
            " approval_note = NULL, wanted_at = ?, report_channel = ?, report_chat = ?,"
            " report_locale = ? WHERE id = ? AND status = 'draft' RETURNING *",
            (
                to_db_time(wanted_at) if wanted_at else None,
                channel,
                chat,
                locale,
                announcement_id,
            ),
        )
        return _announcement(row) if row else None

    async def decide(
        self, announcement_id: int, approval: str, by: str, note: str | None = None
    ) -> Announcement | None:
        """Approve or return a waiting draft, in one statement: of two admins pressing at once
        (or one pressing twice), one decides; the other gets None."""
        row = await self._db.fetchone(
            "UPDATE announcements SET approval = ?, approval_by = ?, approval_note = ?"
            " WHERE id = ? AND status = 'draft' AND approval = 'waiting' RETURNING *",
            (approval, by, note, announcement_id),
        )
        return _announcement(row) if row else None

    async def awaiting_approval(self, limit: int = 30) -> list[Announcement]:
        """Drafts waiting for a city admin's approval, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM announcements WHERE approval = 'waiting' AND status = 'draft'"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [_announcement(r) for r in rows]

    async def listing(
        self, statuses: Iterable[str], limit: int = 30, *, newest: bool = False
    ) -> list[Announcement]:
        """Announcements in these statuses, oldest first (by due or creation time); with
        `newest`, the latest `limit` of them (still oldest first)."""
        statuses = tuple(statuses)
        order = "DESC" if newest else ""
        rows = await self._db.fetchall(
            f"SELECT * FROM announcements WHERE status IN ({', '.join('?' * len(statuses))})"
            f" ORDER BY coalesce(scheduled_at, created_at) {order}, id {order} LIMIT ?",
            (*statuses, limit),
        )
        found = [_announcement(r) for r in rows]
        return found[::-1] if newest else found

    async def due(self, now: datetime) -> list[Announcement]:
        rows = await self._db.fetchall(
            "SELECT * FROM announcements WHERE status = 'scheduled'"
            " AND (scheduled_at IS NULL OR scheduled_at <= ?) ORDER BY id",
            (to_db_time(now),),
        )
        return [_announcement(r) for r in rows]

    async def count_audience(
        self,
        audience: AudienceFilter,
        not_met_definitions: Sequence[str] = (),
        super_admins: Iterable[tuple[str, str]] = (),
    ) -> int:
        where, params = _audience_sql(audience, not_met_definitions, super_admins)
        row = await self._db.fetchone(f"SELECT count(*) FROM users u WHERE {where}", params)
        return int(row[0]) if row else 0

    async def start_sending(
        self,
        announcement: Announcement,
        not_met_definitions: Sequence[str],
        extra_chat: tuple[str, str] | None,
        super_admins: Iterable[tuple[str, str]] = (),
    ) -> int:
        """Resolve the audience into one pending delivery per recipient, in one transaction.

        Only a still-scheduled announcement is started, so two workers (or a restart in the
        middle) can never enqueue it twice; the unique (announcement, user) key guards the rest.
        """
        now = self._db.now()
        where, params = _audience_sql(announcement.audience, not_met_definitions, super_admins)
        async with self._db.transaction() as tx:
            claimed = await tx.execute(
                "UPDATE announcements SET status = 'sending', started_at = ?"
                " WHERE id = ? AND status = 'scheduled'",
                (now, announcement.id),
            )
            if not claimed:
                return 0
            chats = announcement.audience.chats
            if chats:  # a message for chats, not members: no audience query at all
                where, params = "1 = 0", []
            for chat in chats:
                await tx.execute(
                    "INSERT INTO deliveries (announcement_id, user_id, channel, chat_id, status,"
                    " next_attempt_at, updated_at) VALUES (?, NULL, ?, ?, 'pending', ?, ?)",
                    (announcement.id, "telegram", chat, now, now),
                )
            await tx.execute(
                "INSERT INTO deliveries (announcement_id, user_id, channel, chat_id,"
                " status, next_attempt_at, updated_at)"
                " SELECT CAST(? AS BIGINT), u.id, coalesce(p.channel, u.channel),"
                " coalesce(p.chat_id, u.chat_id),"
                " 'pending', ?, ? FROM users u LEFT JOIN linked_accounts p ON p.user_id = u.id"
                " AND p.channel = u.preferred_channel AND p.status = 'active'"
                f" WHERE {where}"
                " ORDER BY u.id ON CONFLICT DO NOTHING",
                (announcement.id, now, now, *params),
            )
            if extra_chat is not None:
                await tx.execute(
                    "INSERT INTO deliveries (announcement_id, user_id, channel, chat_id, status,"
                    " next_attempt_at, updated_at) VALUES (?, NULL, ?, ?, 'pending', ?, ?)",
                    (announcement.id, *extra_chat, now, now),
                )
            row = await tx.fetchone(
                "SELECT count(*) FROM deliveries WHERE announcement_id = ?", (announcement.id,)
            )
            total = int(row[0]) if row else 0
            await tx.execute(
                "UPDATE announcements SET total = ? WHERE id = ?", (total, announcement.id)
            )
        return total

    async def counts(self, announcement_id: int) -> dict[str, int]:
        kept = await self._db.fetchone(
            "SELECT totals FROM announcements WHERE id = ? AND totals IS NOT NULL",
            (announcement_id,),
        )
        if kept is not None:  # its delivery rows were pruned; the totals stay
            return {**dict.fromkeys((PENDING, SENDING, *FINAL), 0), **json.loads(kept["totals"])}
        rows = await self._db.fetchall(
            "SELECT status, count(*) AS n FROM deliveries WHERE announcement_id = ?"
            " GROUP BY status",
            (announcement_id,),
        )
        counts = dict.fromkeys((PENDING, SENDING, *FINAL), 0)
        counts.update({r["status"]: r["n"] for r in rows})
        return counts

    async def counts_by_channel(self, announcement_id: int) -> dict[str, tuple[int, int]]:
        """(sent, total) of the announcement's deliveries on each channel, for the report."""
        rows = await self._db.fetchall(
            "SELECT channel, sum(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS sent,"
            " count(*) AS total FROM deliveries WHERE announcement_id = ? AND user_id IS NOT NULL"
            " GROUP BY channel ORDER BY channel",
            (announcement_id,),
        )
        return {r["channel"]: (int(r["sent"]), int(r["total"])) for r in rows}

    async def outside_window(self, announcement_id: int) -> int:
        """Skipped because the platform allows no message to those members now (Zalo: 7 days)."""
        row = await self._db.fetchone(
            "SELECT count(*) FROM deliveries WHERE announcement_id = ? AND status = 'skipped'"
            " AND last_error LIKE 'outside_window%'",
            (announcement_id,),
        )
        return int(row[0]) if row else 0

    async def outcomes(self, announcement_id: int) -> list[tuple[str, str | None, int]]:
        """(status, last error, how many) of its deliveries, for the console's funnel."""
        rows = await self._db.fetchall(
            "SELECT status, last_error, count(*) AS n FROM deliveries WHERE announcement_id = ?"
            " GROUP BY status, last_error",
            (announcement_id,),
        )
        return [(r["status"], r["last_error"], r["n"]) for r in rows]

    async def recipients(self, announcement_id: int, limit: int = 500) -> list[RecipientOutcome]:
        """Its deliveries with who they were for, failures first (the console lists them)."""
        rows = await self._db.fetchall(
            "SELECT d.user_id, d.channel, coalesce(u.display_name, '') AS name, d.status,"
            " d.last_error, d.updated_at FROM deliveries d LEFT JOIN users u ON u.id = d.user_id"
            " WHERE d.announcement_id = ? ORDER BY d.status = 'sent', d.id LIMIT ?",
            (announcement_id, limit),
        )
        return [
            RecipientOutcome(
                r["user_id"],
                r["channel"],
                r["name"],
                r["status"],
                r["last_error"],
                from_db_time(r["updated_at"]),
            )
            for r in rows
        ]

    async def finish_if_done(self, announcement_id: int) -> bool:
        """Mark a sending announcement done once no delivery is left to do."""
        changed = await self._db.execute(
            "UPDATE announcements SET status = 'done', finished_at = ?"
            " WHERE id = ? AND status = 'sending' AND NOT EXISTS (SELECT 1 FROM deliveries"
            " WHERE announcement_id = ? AND status IN ('pending', 'sending'))",
            (self._db.now(), announcement_id, announcement_id),
        )
        return changed > 0


# Several instances on PostgreSQL: a claimed delivery is leased, not owned. Its next_attempt_at
# becomes the lease's end; past it, the row is taken again (its instance died sending it).
LEASE_S = 60.0
# Which rows a worker may take: due pending rows; on PostgreSQL also rows whose lease ran out.
TAKEABLE = {"sqlite": "status = 'pending'", "postgresql": "status IN ('pending', 'sending')"}
BUCKET = "outbox_bucket"  # the meta row of the rate shared by every instance: "tokens at"
# The bucket holds a twentieth of a second's worth (one or two messages): rows are claimed at
# an even pace, so that over any second the instances together stay under the limit. With a
# fifth of a second's worth, two instances at BROADCAST_RATE=30 met ~970 × 429 in 5,400 sends
# (bench_postgres): a row is counted when claimed, and claims in a burst were sent in a burst.
BURST_S = 0.05


class Deliveries:
    """The outbox. On PostgreSQL, several instances take from it at once: each claims rows
    with FOR UPDATE SKIP LOCKED under a lease, and, given a `shared_rate`, takes no more than a
    token bucket kept in the database allows, so the rate holds for all instances together."""

    def __init__(
        self, db: Database, *, shared_rate: float | None = None, lease_s: float = LEASE_S
    ) -> None:
        self._db = db
        self.shared_rate = shared_rate
        self.lease_s = lease_s
        self._mine: set[int] = set()  # claimed here, outcome not yet recorded (PostgreSQL)

    async def prune(self, finished_before: datetime) -> tuple[int, int]:
        """Delete delivery rows of announcements finished before the cutoff, keeping totals.

        Returns (announcements pruned, rows deleted).
        """
        cutoff = to_db_time(finished_before)
        pruned = deleted = 0
        async with self._db.transaction() as tx:
            old = await tx.fetchall(
                "SELECT id FROM announcements WHERE status IN ('done', 'cancelled')"
                " AND totals IS NULL AND coalesce(finished_at, created_at) < ?",
                (cutoff,),
            )
            for row in old:
                counts = await tx.fetchall(
                    "SELECT status, count(*) AS n FROM deliveries WHERE announcement_id = ?"
                    " GROUP BY status",
                    (row["id"],),
                )
                totals = {c["status"]: c["n"] for c in counts}
                await tx.execute(
                    "UPDATE announcements SET totals = ? WHERE id = ?",
                    (json.dumps(totals), row["id"]),
                )
                deleted += await tx.execute(
                    "DELETE FROM deliveries WHERE announcement_id = ?", (row["id"],)
                )
                pruned += 1
        return pruned, deleted

    async def recover(self, channels: Sequence[str]) -> int:
        """At start: rows a dead worker of these channels was sending go back to pending
        (at-least-once). Other channels' rows belong to the process that serves them.
        On PostgreSQL, other instances may be sending theirs: only the rows this instance
        claimed go back (at stop); a dead instance's come back when their lease runs out."""
        if self._db.kind == "postgresql":
            mine, self._mine = sorted(self._mine), set()
            if not mine:
                return 0
            # Due at once again (next_attempt_at held the lease's end).
            return await self._db.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?"
                f" WHERE status = 'sending' AND id IN ({', '.join('?' * len(mine))})",
                (self._db.now(), *mine),
            )
        marks = ", ".join("?" * len(channels))
        return await self._db.execute(
            "UPDATE deliveries SET status = 'pending' WHERE status = 'sending'"
            f" AND channel IN ({marks})",
            tuple(channels),
        )

    async def claim(self, now: datetime, limit: int, channels: Sequence[str]) -> list[Delivery]:
        """Take up to `limit` due deliveries of these channels; a channel no process serves
        keeps its rows pending until one does."""
        if self._db.kind == "postgresql":
            return await self._claim_leased(now, limit, channels)
        marks = ", ".join("?" * len(channels))
        rows = await self._db.fetchall(
            "UPDATE deliveries SET status = 'sending' WHERE id IN (SELECT id FROM deliveries"
            f" WHERE status = 'pending' AND channel IN ({marks}) AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?)"
            " RETURNING id, announcement_id, user_id, channel, chat_id, attempts",
            (*channels, to_db_time(now), limit),
        )
        return [
            Delivery(
                r["id"],
                r["announcement_id"],
                r["user_id"],
                r["channel"],
                r["chat_id"],
                r["attempts"],
            )
            for r in sorted(rows, key=lambda r: r["id"])
        ]

    async def _claim_leased(
        self, now: datetime, limit: int, channels: Sequence[str]
    ) -> list[Delivery]:
        """PostgreSQL's claim: rows locked by another instance's claim are skipped, not waited
        for; each row taken is leased until now + lease_s; with a shared rate, no more rows
        than the bucket holds tokens."""
        marks = ", ".join("?" * len(channels))
        wait = 0.0
        async with self._db.transaction() as tx:
            if self.shared_rate:
                limit, tokens = await self._tokens(tx, now, limit)
                if limit == 0:
                    wait = (1.0 - tokens) / self.shared_rate
            rows = (
                await tx.fetchall(
                    "UPDATE deliveries SET status = 'sending', next_attempt_at = ?"
                    " WHERE id IN (SELECT id FROM deliveries"
                    f" WHERE {TAKEABLE['postgresql']} AND channel IN ({marks})"
                    " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
                    " FOR UPDATE SKIP LOCKED)"
                    " RETURNING id, announcement_id, user_id, channel, chat_id, attempts",
                    (
                        to_db_time(now + timedelta(seconds=self.lease_s)),
                        *channels,
                        to_db_time(now),
                        limit,
                    ),
                )
                if limit
                else []
            )
            if self.shared_rate and rows:
                await self._spend(tx, now, tokens - len(rows))
        if wait > 0:  # no token left: wait for the next one rather than ask again at once
            await asyncio.sleep(min(wait, 1.0))
        self._mine.update(r["id"] for r in rows)
        return [
            Delivery(
                r["id"],
                r["announcement_id"],
                r["user_id"],
                r["channel"],
                r["chat_id"],
                r["attempts"],
            )
            for r in sorted(rows, key=lambda r: r["id"])
        ]

    async def _tokens(self, tx: Any, now: datetime, limit: int) -> tuple[int, float]:
        """(rows that may be taken, tokens in the bucket): the bucket refills at the shared
        rate up to BURST_S seconds' worth; its row is locked until the claim's end."""
        rate = self.shared_rate or 0.0
        full = max(1.0, rate * BURST_S)
        row = await tx.fetchone(f"SELECT value FROM meta WHERE key = '{BUCKET}' FOR UPDATE")
        tokens = full
        if row is not None:
            held, at = row["value"].split(" ")
            elapsed = max(0.0, (now - from_db_time(at)).total_seconds())  # type: ignore[operator]
            tokens = min(full, float(held) + elapsed * rate)
        return min(limit, int(tokens)), tokens

    async def _spend(self, tx: Any, now: datetime, left: float) -> None:
        await tx.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (BUCKET, f"{left:.3f} {to_db_time(now)}"),
        )

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        self._mine.difference_update(o.delivery_id for o in outcomes)
        now = self._db.now()
        async with self._db.transaction() as tx:
            await tx.executemany(
                "UPDATE deliveries SET status = ?, attempts = ?, last_error = ?, message_id = ?,"
                " next_attempt_at = ?, updated_at = ? WHERE id = ?",
                [
                    (
                        o.status,
                        o.attempts,
                        o.error,
                        o.message_id,
                        to_db_time(o.next_attempt_at) if o.next_attempt_at else None,
                        now,
                        o.delivery_id,
                    )
                    for o in outcomes
                ],
            )

    async def skip_expired(self, now: datetime, started_before: datetime) -> int:
        """Pending deliveries past their announcement's expiry end skipped: its `expires_at`, or,
        without one, a start before `started_before` (a channel down that long). The reason
        keeps the last error, so an outage is told apart from a plain late announcement."""
        return await self._db.execute(
            "UPDATE deliveries SET status = 'skipped', updated_at = ?,"
            " last_error = 'expired' || coalesce(' after: ' || last_error, '')"
            " WHERE status = 'pending' AND announcement_id IN (SELECT id FROM announcements"
            " WHERE (expires_at IS NOT NULL AND expires_at <= ?)"
            " OR (expires_at IS NULL AND started_at <= ?))",
            (to_db_time(now), to_db_time(now), to_db_time(started_before)),
        )

    async def skip_cancelled(self, announcement_id: int) -> int:
        return await self._db.execute(
            "UPDATE deliveries SET status = 'skipped', last_error = 'cancelled', updated_at = ?"
            " WHERE announcement_id = ? AND status = 'pending'",
            (self._db.now(), announcement_id),
        )

    async def backlog(self) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')"
        )
        return int(row[0]) if row else 0

    async def next_due(self, channels: Sequence[str]) -> datetime | None:
        marks = ", ".join("?" * len(channels))
        row = await self._db.fetchone(
            f"SELECT min(next_attempt_at) FROM deliveries WHERE {TAKEABLE[self._db.kind]}"
            f" AND channel IN ({marks})",
            tuple(channels),
        )
        return from_db_time(row[0]) if row and row[0] else None

    async def sending_announcements(self) -> list[int]:
        rows = await self._db.fetchall("SELECT id FROM announcements WHERE status = 'sending'")
        return [r["id"] for r in rows]
