"""Deterministic data for the large benchmarks, written straight into a database that the bot's own
migrations created (`bot.store.Store.open`), with `sqlite3.executemany` in one transaction (or,
for PostgreSQL, `seed_members_pg`: the same members with COPY).

    python -m bench.seed DB --members N [--runs R]
    python -m bench.seed postgresql://...?search_path=S --members N

Members: `n` who receive announcements (consented, active) plus one in 21 who do not (stopped,
blocked or never consented), spread over the campaign's roles, wards and two languages, last seen
over the past 90 days. Runs: completed self-assessments of those members, one in four a retake
of the same assessment (only the later one is the member's latest result), finished over the past
year. The same arguments always give the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.catalog import load_catalog
from bot.store import Store
from bot.store.db import is_url

CONTENT = Path(__file__).resolve().parent.parent / "content"
NOW = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)  # the fixed "now" of the generated data
CHUNK = 50_000
INELIGIBLE_EVERY = 21  # every 21st member does not receive announcements


def _ts(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds")


async def create(target: Path | str) -> None:
    """An empty database (a SQLite file, or the schema of a postgresql:// URL) with every
    migration applied, by the bot itself."""
    store = await Store.open(target)
    await store.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    # Bulk load: no journal, no fsync (a failed seed is simply thrown away); WAL again at the end.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def _close(conn: sqlite3.Connection) -> None:
    # No ANALYZE: the bot never runs it, so the query planner sees what it sees in production.
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def _bulk(conn: sqlite3.Connection, tables: tuple[str, ...], load) -> None:
    """Drop the tables' secondary indexes, load, recreate them (sorting once beats updating
    each index row by row), all in one transaction. The index SQL is the migrations' own."""
    marks = ", ".join("?" * len(tables))
    indexes = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks})"
        " AND sql IS NOT NULL",
        tables,
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    load()
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")


def member_profile(
    user_id: int, roles: list[str], areas: list[str]
) -> tuple[str | None, str | None]:
    """(role, area) of a generated member: a pure function of the id, so runs can copy it."""
    role = None if user_id % 10 == 0 else roles[(user_id * 7) % len(roles)]
    area = None if user_id % 13 == 0 else areas[(user_id * 31) % len(areas)]
    return role, area


USER_COLUMNS = (
    "id",
    "channel",
    "external_id",
    "chat_id",
    "display_name",
    "locale",
    "role",
    "area_code",
    "status",
    "consent_at",
    "created_at",
    "last_seen_at",
)


def member_count(n: int) -> int:
    """Rows `member_rows(n)` yields: `n` who receive announcements, plus n//20 who do not."""
    return n + n // (INELIGIBLE_EVERY - 1)


def member_rows(n: int, *, first_external: int = 5_000_000) -> Iterator[tuple]:
    """The users rows (USER_COLUMNS) of `n` members who receive announcements, plus n//20 who
    do not; ids 1.., Telegram chat ids from `first_external`."""
    catalog = load_catalog(CONTENT)
    roles = [r.id for r in catalog.campaign.roles]
    areas = [a.code for a in catalog.areas.all]
    created = _ts(NOW - timedelta(days=400))
    seen = [_ts(NOW - timedelta(minutes=17 * k)) for k in range(90 * 24 * 60 // 17)]
    consent = _ts(NOW - timedelta(days=200))
    for i in range(member_count(n)):
        uid = i + 1
        external = str(first_external + i)
        role, area = member_profile(uid, roles, areas)
        status, consent_at = "active", consent
        if i % INELIGIBLE_EVERY == INELIGIBLE_EVERY - 1:
            kind = (i // INELIGIBLE_EVERY) % 3
            status = ("stopped", "blocked", "active")[kind]
            consent_at = None if kind == 2 else consent
        yield (
            uid,
            "telegram",
            external,
            external,
            f"Hội viên {uid}",
            "en" if uid % 11 == 0 else "vi",
            role,
            area,
            status,
            consent_at,
            created,
            seen[(uid * 7919) % len(seen)],
        )


def seed_members(path: Path, n: int, *, first_external: int = 5_000_000) -> int:
    """`n` members who receive announcements, plus n//20 who do not; returns rows written."""

    def load() -> None:
        conn.executemany(
            f"INSERT INTO users ({', '.join(USER_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(USER_COLUMNS))})",
            member_rows(n, first_external=first_external),
        )

    conn = _connect(path)
    try:
        _bulk(conn, ("users",), load)
    finally:
        _close(conn)
    return member_count(n)


async def seed_members_pg(url: str, n: int) -> int:
    """The same members in the PostgreSQL schema of `url` (a postgresql:// URL whose search_path
    names it), migrated by the bot itself, written with COPY in one transaction; returns rows
    written. The identity continues after them, and the table is ANALYZEd (what autovacuum does
    on its own soon after a load this size on a live server)."""
    import asyncpg

    await create(url)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "users", records=member_rows(n), columns=list(USER_COLUMNS)
            )
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('users', 'id'),"
                " coalesce((SELECT max(id) FROM users), 0) + 1, false)"
            )
        await conn.execute("ANALYZE users")
    finally:
        await conn.close()
    return member_count(n)


def seed_runs(path: Path, n: int, members: int) -> int:
    """`n` completed self-assessments by the first members (ids 1..), a quarter of them retakes."""
    catalog = load_catalog(CONTENT)
    roles = [r.id for r in catalog.campaign.roles]
    areas = [a.code for a in catalog.areas.all]
    definitions = list(catalog.assessments())
    first_takes = n - n // 4
    retakes = n - first_takes
    if first_takes > members or retakes * 3 > first_takes:
        raise ValueError("not enough members for that many runs")
    # One answers/criteria body per definition and verdict, as the bot writes them.
    bodies = {}
    for d in definitions:
        answers = json.dumps({q.id: q.options[0].id for q in d.questions})
        for passed in (0, 1):
            criteria = [
                {
                    "id": c.id,
                    "points": c.max_points if passed else 0,
                    "max": c.max_points,
                    "met": bool(passed),
                }
                for c in d.criteria
            ]
            maximum = float(sum(c.max_points for c in d.criteria))
            bodies[d.id, passed] = (
                answers,
                json.dumps(criteria),
                maximum if passed else 0.0,
                maximum,
            )
    # Finish times on a 7-minute grid over the past year (formatting a time per row is slow).
    step = 7
    slots = 365 * 24 * 60 // step
    finished_at = [_ts(NOW - timedelta(minutes=step * (slots - s))) for s in range(slots)]
    started_at = [_ts(NOW - timedelta(minutes=step * (slots - s) + 4)) for s in range(slots)]
    questions = {d.id: len(d.questions) for d in definitions}

    def run(k: int, retake: bool) -> tuple:
        uid = k + 1
        d = definitions[(k * 3) % len(definitions)]
        passed = 1 if (k * 2654435761 >> 5) % 100 < (55 if retake else 40) else 0
        answers, criteria, total, maximum = bodies[d.id, passed]
        role, area = member_profile(uid, roles, areas)
        slot = (k * 7919) % (slots // 2) + (slots // 2 if retake else 0)
        started, finished_text = started_at[slot], finished_at[slot]
        was_retaken = not retake and k % 3 == 0 and k // 3 < retakes
        return (
            uid,
            d.id,
            d.version,
            d.kind,
            role,
            area,
            questions[d.id],
            answers,
            criteria,
            total,
            maximum,
            passed,
            started,
            finished_text,
            finished_text,
            0 if was_retaken else 1,
        )

    def rows() -> Iterator[tuple]:
        for k in range(first_takes):
            yield run(k, retake=False)
        for r in range(retakes):
            yield run(r * 3, retake=True)

    def load() -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO definition_snapshots (definition_id, version, kind, body,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            [
                (d.id, d.version, d.kind, json.dumps(d.raw, ensure_ascii=False), _ts(NOW))
                for d in definitions
            ],
        )
        conn.executemany(
            "INSERT INTO assessment_runs (user_id, definition_id, version, kind, role, area_code,"
            " status, position, answers, criteria, total, max_total, passed, started_at,"
            " updated_at, finished_at, latest)"
            " VALUES (?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )

    conn = _connect(path)
    try:
        _bulk(conn, ("assessment_runs", "definition_snapshots"), load)
    finally:
        _close(conn)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", help="a SQLite file, or a postgresql:// URL (members only)")
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--runs", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    if is_url(args.db):
        if args.runs:
            parser.error("--runs: SQLite only")
        written = asyncio.run(seed_members_pg(args.db, args.members))
        print(f"members: {written} rows in {time.perf_counter() - started:.1f} s")
        return
    db = Path(args.db)
    asyncio.run(create(db))
    written = seed_members(db, args.members)
    print(f"members: {written} rows in {time.perf_counter() - started:.1f} s")
    if args.runs:
        started = time.perf_counter()
        seed_runs(db, args.runs, args.members)
        print(f"runs: {args.runs} rows in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
