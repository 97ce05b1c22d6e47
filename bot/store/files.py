"""Database files as files: what a file holds before it may replace the live database, and the
stamp a backup carries of when it was taken.

Plain `sqlite3`, opened read-only (apart from the stamp on a fresh backup); callers run these in a
thread, never on the event loop.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.store import private
from bot.store.db import from_db_time, migrations, to_db_time

BACKUP_TAKEN_AT = "backup_taken_at"  # meta key: when `khuyenhoc backup` took the copy (UTC)
_CREATED = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
_DROPPED = re.compile(r"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
# A table rebuilt to change a constraint is created under a new name, then renamed.
_RENAMED = re.compile(r"ALTER\s+TABLE\s+(\w+)\s+RENAME\s+TO\s+(\w+)", re.IGNORECASE)


DatabaseError = sqlite3.DatabaseError  # what a damaged or foreign file raises


def copy(source: Path, target: Path) -> None:
    """A consistent copy of a database that may be in use (SQLite's online backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(private.file(target))  # a copy holds the same secrets: 0600
    try:
        src.backup(dst, pages=1024)  # in steps, so writers are never held up long
        # A backup is one self-contained file: no WAL or shared-memory files beside it.
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()


def integrity(path: Path) -> str:
    """`PRAGMA integrity_check`: "ok", or the first problem found."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


class NotOurDatabase(ValueError):
    """The file is not a sound khuyenhoc database this version can use; the message says why."""


@dataclass(frozen=True)
class FileFacts:
    """What a database file holds, as far as restoring it is concerned."""

    schema: int  # the number of the last migration applied (PRAGMA user_version)
    taken_at: datetime  # when it was taken: its stamp, else (an older copy) the file's time


def expected_tables(schema: int) -> set[str]:
    """The tables migrations 1..schema leave behind."""
    tables: set[str] = set()
    for number, _, sql in migrations():
        if number <= schema:
            tables |= set(_CREATED.findall(sql))
            tables -= set(_DROPPED.findall(sql))
            for old, new in _RENAMED.findall(sql):
                tables = (tables - {old}) | {new}
    return tables


def inspect(path: Path) -> FileFacts:
    """Check that `path` is a khuyenhoc database: SQLite, intact, its migrations all known ones."""
    known = len(migrations())
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            result = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise NotOurDatabase(f"not a SQLite database ({exc})") from None
            raise NotOurDatabase(f"damaged or unreadable ({exc})") from None
        if result != "ok":
            raise NotOurDatabase(f"damaged (integrity check: {result})")
        if schema == 0:
            raise NotOurDatabase("not a khuyenhoc database (no migration recorded)")
        if schema > known:
            raise NotOurDatabase(
                f"made by a newer khuyenhoc (migration {schema}; this one knows 1-{known}): "
                "upgrade the code first"
            )
        missing = sorted(expected_tables(schema) - tables)
        if missing:
            raise NotOurDatabase(f"not a khuyenhoc database (no table {missing[0]})")
        stamp = None
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (BACKUP_TAKEN_AT,))
            stamp = row.fetchone()
        if stamp:
            taken_at = from_db_time(stamp[0])
        else:
            taken_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return FileFacts(schema, taken_at)
    finally:
        conn.close()


def stamp_backup(path: Path, moment: datetime) -> None:
    """Write into a fresh backup when it was taken, so a restore can say which data it brings."""
    conn = sqlite3.connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "meta" in tables:
            with conn:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (BACKUP_TAKEN_AT, to_db_time(moment)),
                )
    finally:
        conn.close()


def note_restore(path: Path, moment: datetime, backup_name: str) -> None:
    """Write into a database being restored that it was restored, from which file, in its own
    audit log (the one the bot keeps from now on), as an action of the operator ("cli")."""
    conn = sqlite3.connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "audit_log" in tables:
            with conn:
                conn.execute(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, 'cli',"
                    " 'restore', ?)",
                    (to_db_time(moment), json.dumps({"file": backup_name}, ensure_ascii=False)),
                )
    finally:
        conn.close()
