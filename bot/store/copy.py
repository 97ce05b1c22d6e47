"""Moving an association's data from its SQLite file to PostgreSQL (migrate-to-postgres),
and PostgreSQL backups with pg_dump (`khuyenhoc backup` when DATABASE_URL is set).

The copy reads the SQLite file in one read transaction (a consistent snapshot, even while a bot
writes to it), writes each table with PostgreSQL's COPY, then checks every table: the same
number of rows on both sides and the same checksum (a sum of each row's hash, so the order in
which each database returns rows does not matter).
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.store import files, private
from bot.store.db import migrations

BATCH = 5000  # rows per COPY: bounded memory for a million rows


class TargetNotEmpty(RuntimeError):
    """The PostgreSQL database holds data already (and --force was not given)."""

    def __init__(self, table: str, rows: int) -> None:
        super().__init__(f"{table}: {rows}")
        self.table, self.rows = table, rows


class CopyMismatch(RuntimeError):
    """A table's rows differ after the copy (count or checksum)."""


class SourceNotCurrent(RuntimeError):
    """The SQLite file is not at the newest migration: `khuyenhoc run` on it once first."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    checksum: str  # the first hex digits of the table's checksum, the same on both sides


def _row_hash(values: tuple[Any, ...]) -> int:
    """One row's hash, the same for the same values read from either database."""
    parts = []
    for value in values:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # the same row whether a database hands back 2 or 2.0
        parts.append(repr(value))
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:16], "big")


def _checksum(total: int) -> str:
    return f"{total % (1 << 128):032x}"[:12]


def _converter(pg_type: str) -> Callable[[Any], Any]:
    """SQLite's value as PostgreSQL's COPY wants it for a column of this type."""
    if pg_type in ("bigint", "integer", "smallint"):
        return lambda v: None if v is None else int(v)
    if pg_type in ("double precision", "real", "numeric"):
        return lambda v: None if v is None else float(v)
    return lambda v: None if v is None else str(v)


async def sqlite_to_postgres(
    source: Path, url: str, *, force: bool = False, progress: Callable[[TableCopy], None]
) -> list[TableCopy]:
    """Copy every table of the SQLite database `source` into the PostgreSQL database `url`
    (migrated first), then verify each; `progress` hears of each table verified. Refuses a
    target holding rows unless `force` (then they are deleted first)."""
    from bot.store.pg import VERSION_TABLE, PgDatabase

    facts = await asyncio.to_thread(files.inspect, source)  # NotOurDatabase: not ours or damaged
    if facts.schema != len(migrations()):
        raise SourceNotCurrent(f"{source}: migration {facts.schema} of {len(migrations())}")
    target = await PgDatabase.open(url)
    try:
        async with target.connection() as conn:
            tables = [
                r["table_name"]
                for r in await conn.fetch(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                    " AND table_name <> $1",
                    VERSION_TABLE,
                )
            ]
            lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                lite.execute("BEGIN")  # one snapshot for every table
                # Parents before children (foreign keys): the order SQLite's tables were made.
                made = [
                    r[0]
                    for r in lite.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
                    )
                ]
                ordered = [t for t in made if t in tables]
                missing = sorted(set(tables) - set(ordered))
                if missing:
                    raise CopyMismatch(f"{missing[0]}: not in {source}")
                for table in ordered:
                    rows = await conn.fetchval(f"SELECT count(*) FROM {table}")
                    if rows and not force:
                        raise TargetNotEmpty(table, rows)
                async with conn.transaction():
                    await conn.execute(f"TRUNCATE {', '.join(ordered)} RESTART IDENTITY CASCADE")
                    for table in ordered:
                        await _copy_table(lite, conn, table)
                copied = []
                for table in ordered:
                    done = await _verify(lite, conn, table)
                    progress(done)
                    copied.append(done)
                lite.execute("COMMIT")
            finally:
                lite.close()
    finally:
        await target.close()
    return copied


async def _columns(conn: Any, table: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [(r["column_name"], r["data_type"]) for r in rows]


async def _copy_table(lite: sqlite3.Connection, conn: Any, table: str) -> None:
    columns = await _columns(conn, table)
    names = [name for name, _ in columns]
    convert = [_converter(kind) for _, kind in columns]
    cursor = lite.execute(f"SELECT {', '.join(names)} FROM {table}")
    while batch := cursor.fetchmany(BATCH):
        records = [tuple(c(v) for c, v in zip(convert, row, strict=True)) for row in batch]
        await conn.copy_records_to_table(table, records=records, columns=names)
    # New rows numbered after the copied ones (an identity column starts at 1 otherwise).
    if ("id", "bigint") in columns and await conn.fetchval(
        "SELECT pg_get_serial_sequence($1, 'id')", table
    ):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )


async def _verify(lite: sqlite3.Connection, conn: Any, table: str) -> TableCopy:
    names = [name for name, _ in await _columns(conn, table)]
    select = f"SELECT {', '.join(names)} FROM {table}"
    theirs = mine = 0
    count_lite = count_pg = 0
    for row in lite.execute(select):
        theirs += _row_hash(tuple(row))
        count_lite += 1
    async with conn.transaction():  # a server-side cursor: a table is never held whole
        async for record in conn.cursor(select, prefetch=BATCH):
            mine += _row_hash(tuple(record))
            count_pg += 1
    if count_lite != count_pg:
        raise CopyMismatch(f"{table}: {count_lite} rows in SQLite, {count_pg} in PostgreSQL")
    if theirs % (1 << 128) != mine % (1 << 128):
        raise CopyMismatch(f"{table}: the rows differ (checksum)")
    return TableCopy(table, count_pg, _checksum(mine))


# -- PostgreSQL backups ----------------------------------------------------------------------------
class PgDumpMissing(RuntimeError):
    """pg_dump is not installed on this machine."""


def dump_command(url: str, out: Path) -> list[str]:
    """pg_dump's command line for `url` (custom format, into `out`). A search_path in the URL
    (one schema) is not a libpq setting: it becomes pg_dump's --schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schemas = [value for key, value in query if key == "search_path"]
    kept = urlencode([(key, value) for key, value in query if key != "search_path"])
    plain = urlunsplit(parts._replace(query=kept))
    command = ["pg_dump", "--format=custom", f"--file={out}", f"--dbname={plain}"]
    for schema in schemas[:1]:
        command.append(f"--schema={schema.split(',')[0]}")
    return command


async def pg_dump(url: str, out: Path) -> Path:
    """A custom-format dump of the database (restored with pg_restore), written beside `out`
    first and renamed once pg_dump succeeded; raises PgDumpMissing or RuntimeError."""
    if shutil.which("pg_dump") is None:
        raise PgDumpMissing("pg_dump")
    private.folder(out.parent)
    partial = out.with_name(out.name + ".part")
    process = await asyncio.create_subprocess_exec(
        *dump_command(url, partial),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        partial.unlink(missing_ok=True)
        from bot.store.pg import safe_url

        lines = error.decode(errors="replace").strip().splitlines() or ["pg_dump failed"]
        raise RuntimeError(safe_url(lines[-1]))
    partial.chmod(0o600)  # the members' data and the channels' secrets
    partial.replace(out)
    return out


async def daily_dump(url: str, folder: Path, keep: int, now: Any) -> Path:
    """Today's pg_dump in `folder` (the daily backup on PostgreSQL); the newest `keep` stay."""
    out = await pg_dump(url, folder / f"khuyenhoc-{now:%Y%m%d-%H%M}.dump")
    dumps = sorted(folder.glob("khuyenhoc-*.dump"))
    for old in dumps[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return out
