"""The SQLite connection: pragmas, numbered migrations, and serialised access.

One aiosqlite connection serves the whole process. SQLite allows one writer at a time anyway, and a
single connection shared by coroutines must not interleave two transactions, so every statement and
every `transaction()` block takes the same asyncio lock. WAL lets other processes (the CLI while the
bot runs) read and write alongside, with a busy timeout instead of "database is locked" errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.store import private

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000  # SQLite waits this long for another writer before "database is locked"
# After "database is locked" (another process held the write lock past the busy timeout: a long
# CLI command, a backup) the statement is tried again, waiting a little longer each time, for at
# most LOCK_PATIENCE_S; then it fails, and its caller keeps its work for later (the outbox) or
# answers "busy" (a member's message).
LOCK_RETRY_FIRST_S = 0.05
LOCK_RETRY_MAX_S = 2.0
LOCK_PATIENCE_S = 120.0
# /healthz's write probe waits at most this long for another writer (a short CLI command
# finishes within it; a lock held longer is worth reporting).
PROBE_BUSY_TIMEOUT_MS = 1000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _locked(exc: BaseException) -> bool:
    """Another connection holds the write lock: not a broken file, worth waiting for."""
    text = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and (
        "database is locked" in text
        or "database is busy" in text
        or "database table is locked" in text
    )


def _full(exc: BaseException) -> bool:
    """SQLite could not grow the database or its log: the disk (or its quota) is full."""
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


def is_url(target: object) -> bool:
    """True for a PostgreSQL URL (DATABASE_URL), False for a SQLite file path."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_db_time(moment: datetime) -> str:
    """Aware datetime -> the UTC text the DB stores."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in the bot is timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def from_db_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def migrations(package: str = "bot.store.migrations") -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every migration shipped in `package` (SQLite's, or
    PostgreSQL's bot.store.migrations_pg, numbered in step), in order."""
    found = []
    for entry in resources.files(package).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {numbers}")
    return found


class DatabaseUnusable(RuntimeError):
    """The database file cannot serve as the bot's database (damaged, another program's, or not
    SQLite at all); the message names the file and what to do."""


class DatabaseUnreachable(DatabaseUnusable):
    """The database server does not answer (PostgreSQL): perhaps only for now, so a service
    manager should start the bot again, unlike for a database that is not ours."""


class DatabaseBusy(RuntimeError):
    """Another connection held the write lock longer than this process's patience."""


KIND = "sqlite"  # Database.kind: which form a repository uses where the SQL must differ


class _Executor:
    """Statement helpers over a raw connection; callers hold the lock."""

    kind = KIND

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns the last row id for INSERTs, else the affected row count."""
        if sql.lstrip()[:6].upper() == "INSERT":
            # One trip to the database thread instead of two (execute, then close the cursor).
            row = await self._conn.execute_insert(sql, params)
            return int(row[0]) if row else 0
        cursor = await self._conn.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            await cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    # One trip to aiosqlite's thread per query (execute, fetch and close in one go): each trip
    # costs a thread hand-over, and a busy bot makes thousands a second (bench/README.md).
    async def fetchone(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, params))


class Database:
    """The process's SQLite database. Open with `await Database.open(path)`; close when done.
    bot.store.pg.PgDatabase is its PostgreSQL twin, with the same interface."""

    kind = KIND

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        clock: Clock,
        lock_patience: float = LOCK_PATIENCE_S,
    ) -> None:
        self._conn = conn
        self.lock_patience = lock_patience
        self._exec = _Executor(conn)
        self._lock = asyncio.Lock()
        self.path = path
        self.clock = clock

    @classmethod
    async def open(cls, path: Path | str, clock: Clock = utc_now) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            private.database(path)  # members' data and the channels' secrets: 0600
        # isolation_level=None: autocommit; transactions are explicit (BEGIN IMMEDIATE) below.
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA synchronous = NORMAL")
            db = cls(conn, path, clock)
            await db._check_ours()
            await db.migrate()
        # Closed on any failure: aiosqlite's thread would otherwise keep the process alive.
        except sqlite3.DatabaseError as exc:
            await conn.close()
            if _locked(exc):
                raise
            raise DatabaseUnusable(
                f"{path}: not a usable khuyenhoc database ({exc}); restore a backup"
                " (khuyenhoc restore) or point DATABASE_PATH at the right file"
            ) from exc
        except BaseException:
            await conn.close()
            raise
        return db

    async def _check_ours(self) -> None:
        """Refuse another program's SQLite file: migrating it would mix our tables into it."""
        if await self.schema_version() > 0:
            return
        row = await self.fetchone(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        )
        if row is not None and int(row[0]) > 0:
            raise sqlite3.DatabaseError("it holds another program's tables")

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    def now(self) -> str:
        return to_db_time(self.clock())

    async def unwritable(self) -> str | None:
        """Why a write cannot land now ("locked", "disk full", or SQLite's words), or None
        when it can. For /healthz: reads keep working under a lock or on a full disk, so only
        a real (tiny) write tells; it waits a second at most and is never retried."""
        try:
            async with asyncio.timeout(PROBE_BUSY_TIMEOUT_MS / 1000 * 5):
                await self._lock.acquire()
        except TimeoutError:  # one of our own statements has held the connection for long
            return "busy"
        try:
            await self._conn.execute(f"PRAGMA busy_timeout = {PROBE_BUSY_TIMEOUT_MS}")
            try:
                await self._settled("BEGIN IMMEDIATE")
                try:
                    await self._conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('health_probe', ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (self.now(),),
                    )
                    await self._settled("COMMIT")
                except BaseException:
                    await self._undo()
                    raise
            except sqlite3.OperationalError as exc:
                return "locked" if _locked(exc) else "disk full" if _full(exc) else str(exc)
            finally:
                await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        finally:
            self._lock.release()
        return None

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the DB's `user_version`; returns the new version."""
        current = await self.schema_version()
        for number, name, sql in migrations():
            if number <= current:
                continue
            log.info("applying migration %s", name)
            script = f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
            await self._retrying(lambda script=script: self._script(script), name)
            current = number
        return current

    async def _script(self, script: str) -> None:
        async with self._lock:
            try:
                await self._conn.executescript(script)
            except Exception:
                await self._undo()
                raise

    async def _retrying(self, attempt: Callable[[], Awaitable[T]], what: str) -> T:
        """`attempt()` until it gets past another connection's write lock. Statements in
        autocommit mode and BEGIN IMMEDIATE fail as a whole, so trying again is safe. The
        asyncio lock is free while waiting: reads need no write lock under WAL."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_patience
        delay = LOCK_RETRY_FIRST_S
        while True:
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if not _locked(exc):
                    raise
                if loop.time() + delay > deadline:
                    raise DatabaseBusy(f"{self.path}: still locked: {what[:80]}") from exc
                log.warning("database locked by another connection; again in %.2f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LOCK_RETRY_MAX_S)

    # Single statements: each takes the lock, runs in autocommit mode.
    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        return await self._retrying(lambda: self._locked_call(self._exec.execute, sql, params), sql)

    async def fetchone(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> aiosqlite.Row | None:
        # Reads too: an UPDATE ... RETURNING comes this way.
        return await self._retrying(
            lambda: self._locked_call(self._exec.fetchone, sql, params), sql
        )

    async def fetchall(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[aiosqlite.Row]:
        return await self._retrying(
            lambda: self._locked_call(self._exec.fetchall, sql, params), sql
        )

    async def _locked_call(
        self,
        call: Callable[[str, Sequence[Any] | dict[str, Any]], Awaitable[T]],
        sql: str,
        params: Sequence[Any] | dict[str, Any],
    ) -> T:
        async with self._lock:
            return await call(sql, params)

    async def _begin(self) -> None:
        """Take the asyncio lock and SQLite's write lock; on failure neither is held."""
        await self._lock.acquire()
        try:
            await self._settled("BEGIN IMMEDIATE")
        except BaseException:
            await self._undo()
            self._lock.release()
            raise

    async def _settled(self, sql: str) -> None:
        """Run a transaction statement to its end even if the caller is cancelled meanwhile:
        aiosqlite's thread runs it anyway, and a BEGIN that lands after the lock is let go
        would leave the connection inside a transaction ("cannot start a transaction within
        a transaction" for every later one)."""
        running = asyncio.ensure_future(self._conn.execute(sql))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await running
            raise

    async def _undo(self) -> None:
        """Roll back whatever transaction is open (none: nothing to do)."""
        if self._conn.in_transaction:
            with contextlib.suppress(Exception):
                await self._settled("ROLLBACK")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Executor]:
        """Several statements that succeed or fail together. Only BEGIN IMMEDIATE can meet
        another writer's lock (it takes the write lock for the whole block), and it is retried.
        Whatever happens (an error, a cancelled caller, a failed COMMIT), the lock is let go
        only with no transaction open."""
        await self._retrying(self._begin, "BEGIN IMMEDIATE")
        try:
            yield self._exec
            await self._settled("COMMIT")
        except BaseException:
            await self._undo()
            raise
        finally:
            self._lock.release()
