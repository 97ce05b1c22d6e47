"""The PostgreSQL database: the same interface as `bot.store.db.Database`, over an asyncpg pool.

Selected by DATABASE_URL=postgresql://… (SQLite stays the default). The repositories are the same
for both: they write `?` placeholders, which are numbered here ($1, $2, …); rows come back as
asyncpg records, read like aiosqlite's rows (r["col"], r[0]); times are the same UTC ISO text.
Where the SQL itself must differ, the repository keeps both forms side by side, keyed by
`Database.kind` ("sqlite" / "postgresql").

Several bot instances may share one PostgreSQL database. `transaction()` blocks take one
transaction-scoped advisory lock, so they run one at a time across every instance, as SQLite's
BEGIN IMMEDIATE makes them run one at a time: the repositories' read-then-write blocks keep the
meaning they have on SQLite. Single statements run concurrently (row locks suffice for them).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

from bot.store.db import (
    LOCK_PATIENCE_S,
    LOCK_RETRY_FIRST_S,
    LOCK_RETRY_MAX_S,
    Clock,
    DatabaseBusy,
    DatabaseUnreachable,
    DatabaseUnusable,
    to_db_time,
    utc_now,
)
from bot.store.db import migrations as db_migrations

log = logging.getLogger(__name__)

T = TypeVar("T")
KIND = "postgresql"
POOL_SIZE = 8  # connections per instance; PostgreSQL's default limit is 100 for all of them
# Advisory locks are keyed (kind, the schema's hash): installs in different schemas of one
# database never wait for each other. TRANSACTION_LOCK: taken by every transaction() block;
# TURN_LOCK: a member's turn (bot/store/turns.py), keyed by the schema, channel and member.
TRANSACTION_LOCK, MIGRATION_LOCK, LEADER_LOCK, TURN_LOCK = 4801, 4802, 4803, 4804
SCHEMA_KEY = "hashtext(current_schema())"
PROBE_TIMEOUT_S = 5.0  # /healthz's write probe waits at most this long
# Where the schema's version is kept (SQLite keeps it in PRAGMA user_version).
VERSION_TABLE = "schema_version"
# What asyncpg raises when an argument does not fit the parameter's type: before anything is sent
# (not PostgreSQL's own asyncpg.DataError, raised by the server).
_ArgumentError = asyncpg.exceptions._base.DataError
_PG_TEXT = {"text", "varchar", "bpchar", "name"}
_PG_INT = {"int2", "int4", "int8"}
_PG_FLOAT = {"float4", "float8", "numeric"}


def safe_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of bot/store/migrations_pg, numbered in step with SQLite's."""
    return db_migrations("bot.store.migrations_pg")


@lru_cache(maxsize=4096)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's $1, $2, … (none inside quoted text or names)."""
    out: list[str] = []
    n = 0
    quote: str | None = None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(char)
    return "".join(out)


def _coerced(params: Sequence[Any], types: Sequence[Any]) -> tuple[Any, ...]:
    """Parameters converted to the types PostgreSQL expects, as SQLite's column affinity does
    (a chat id given as a number to a TEXT column, a number given as text)."""
    values = []
    for value, pg_type in zip(params, types, strict=True):
        name = pg_type.name
        if value is not None:
            if name in _PG_TEXT and not isinstance(value, str):
                value = str(value)
            elif name in _PG_INT and not isinstance(value, int):
                value = int(value)
            elif name in _PG_FLOAT and not isinstance(value, float):
                value = float(value)
        values.append(value)
    return tuple(values)


def _params(params: Sequence[Any] | dict[str, Any]) -> tuple[Any, ...]:
    if isinstance(params, dict):
        raise TypeError("named parameters are for SQLite only; use ? placeholders")
    return tuple(params)


def _count(status: str) -> int:
    """Rows affected, from asyncpg's command status ("UPDATE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Executor:
    """Statement helpers over one connection (inside a transaction, or borrowed for one call)."""

    kind = KIND

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def _run(self, call: Callable[..., Awaitable[T]], sql: str, params: Any) -> T:
        query = numbered(sql)
        args = _params(params)
        try:
            return await call(query, *args)
        except _ArgumentError:
            # Raised before anything reached the server: convert as SQLite would, once.
            statement = await self._conn.prepare(query)
            return await call(query, *_coerced(args, statement.get_parameters()))

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns the number of rows affected (an INSERT that needs its new
        id says RETURNING id, on both databases)."""
        return _count(await self._run(self._conn.execute, sql, params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        query = numbered(sql)
        try:
            await self._conn.executemany(query, rows)
        except _ArgumentError:
            types = (await self._conn.prepare(query)).get_parameters()
            await self._conn.executemany(query, [_coerced(r, types) for r in rows])

    async def fetchone(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> asyncpg.Record | None:
        return await self._run(self._conn.fetchrow, sql, params)

    async def fetchall(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[asyncpg.Record]:
        return list(await self._run(self._conn.fetch, sql, params))


# Worth trying again: the statement was rolled back whole (a deadlock, a serialisation
# failure), or never reached the server (no connection could be had).
_TRANSIENT = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    ConnectionRefusedError,
)


class PgDatabase:
    """The PostgreSQL database. Open with `await PgDatabase.open(url)`; close when done."""

    kind = KIND
    path = None  # no file: backups go through pg_dump, free space is the server's business

    def __init__(
        self,
        pool: asyncpg.Pool,
        url: str,
        clock: Clock,
        lock_patience: float = LOCK_PATIENCE_S,
    ) -> None:
        self._pool = pool
        self.url = url
        self.clock = clock
        self.lock_patience = lock_patience

    @classmethod
    async def open(cls, url: str, clock: Clock = utc_now, pool_size: int = POOL_SIZE) -> PgDatabase:
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnreachable(
                f"{safe_url(url)}: cannot reach PostgreSQL ({exc}); check DATABASE_URL"
            ) from exc
        db = cls(pool, url, clock)
        try:
            await db._check_ours()
            await db.migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self._pool.close()

    def now(self) -> str:
        return to_db_time(self.clock())

    async def _check_ours(self) -> None:
        """Refuse a schema holding another program's tables: migrating would mix ours in."""
        if await self.schema_version() > 0:
            return
        row = await self.fetchone(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name <> ?",
            (VERSION_TABLE,),
        )
        if row is not None and int(row[0]) > 0:
            raise DatabaseUnusable(
                f"{safe_url(self.url)}: the schema holds another program's tables;"
                " point DATABASE_URL at an empty database (or schema)"
            )

    async def schema_version(self) -> int:
        row = await self.fetchone(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (VERSION_TABLE,),
        )
        if not row or not row[0]:
            return 0
        row = await self.fetchone(f"SELECT max(version) FROM {VERSION_TABLE}")
        return int(row[0]) if row and row[0] is not None else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the schema's version, each in its own transaction;
        two instances starting at once take turns (an advisory lock) and apply each once."""
        async with self._pool.acquire() as conn:
            await conn.execute(f"SELECT pg_advisory_lock($1, {SCHEMA_KEY})", MIGRATION_LOCK)
            try:
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)"
                )
                current = await conn.fetchval(
                    f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}"
                )
                for number, name, sql in migrations():
                    if number <= current:
                        continue
                    log.info("applying migration %s (PostgreSQL)", name)
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            f"DELETE FROM {VERSION_TABLE};"
                            f" INSERT INTO {VERSION_TABLE} VALUES ({number})"
                        )
                    current = number
            finally:
                await conn.execute(f"SELECT pg_advisory_unlock($1, {SCHEMA_KEY})", MIGRATION_LOCK)
        return current

    async def unwritable(self) -> str | None:
        """Why a write cannot land now (PostgreSQL's words), or None when it can; for /healthz.
        A real (tiny) write, waiting a few seconds at most."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await self.execute(
                    "INSERT INTO meta (key, value) VALUES ('health_probe', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self.now(),),
                )
        except TimeoutError:
            return "busy"
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return str(exc) or type(exc).__name__
        return None

    async def _retrying(self, attempt: Callable[[], Awaitable[T]], what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_patience
        delay = LOCK_RETRY_FIRST_S
        while True:
            try:
                return await attempt()
            except _TRANSIENT as exc:
                if loop.time() + delay > deadline:
                    raise DatabaseBusy(f"{safe_url(self.url)}: {exc}: {what[:80]}") from exc
                log.warning("PostgreSQL: %s; again in %.2f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LOCK_RETRY_MAX_S)

    async def _call(self, method: str, sql: str, params: Any) -> Any:
        async with self._pool.acquire() as conn:
            return await getattr(_Executor(conn), method)(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        return await self._retrying(lambda: self._call("execute", sql, params), sql)

    async def fetchone(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> asyncpg.Record | None:
        return await self._retrying(lambda: self._call("fetchone", sql, params), sql)

    async def fetchall(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[asyncpg.Record]:
        return await self._retrying(lambda: self._call("fetchall", sql, params), sql)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Executor]:
        """Several statements that succeed or fail together, one block at a time across every
        instance (see the module's docstring)."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(
                    f"SELECT pg_advisory_xact_lock($1, {SCHEMA_KEY})", TRANSACTION_LOCK
                )
                yield _Executor(conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A raw connection of the pool, for the store's PostgreSQL-only work (copying a
        SQLite database over with COPY)."""
        async with self._pool.acquire() as conn:
            yield conn
