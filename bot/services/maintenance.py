"""Keeping one small server healthy for years: online backups, restore, pruning, the run lock.

Backups use SQLite's online backup API, so they are consistent while the bot keeps writing.
`khuyenhoc run` holds an exclusive lock on `<database>.lock` for its whole life; `restore` refuses
to replace a database whose bot is running.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.store.db import to_db_time

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

SESSION_RETENTION = timedelta(days=30)


class DatabaseInUse(RuntimeError):
    """A running bot holds the database."""


class RunLock:
    """Held by `khuyenhoc run` on `<database>.lock` while the bot runs."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatabaseInUse(f"{self.path.with_suffix('')} is in use by a running bot") from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024)  # in steps, so writers are never held up long
        # A backup is one self-contained file: no WAL or shared-memory files beside it.
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


async def backup(database: Path, out: Path) -> Path:
    """A consistent copy of the live database, checked before it is reported done."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    await asyncio.to_thread(_copy, database, partial)
    result = await asyncio.to_thread(integrity, partial)
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"backup of {database} failed its integrity check: {result}")
    partial.replace(out)
    return out


async def restore(backup_file: Path, database: Path) -> None:
    """Replace the database with a backup; refused while a bot runs on it."""
    result = await asyncio.to_thread(integrity, backup_file)
    if result != "ok":
        raise RuntimeError(f"{backup_file} is not a sound database: {result}")
    with RunLock(database):
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        database.unlink(missing_ok=True)
        await asyncio.to_thread(_copy, backup_file, database)


async def daily_backup(database: Path, folder: Path, keep: int, now: datetime) -> Path:
    """Today's backup in `folder`; only the newest `keep` are kept."""
    out = folder / f"khuyenhoc-{now:%Y%m%d-%H%M}.sqlite3"
    await backup(database, out)
    backups = sorted(folder.glob("khuyenhoc-*.sqlite3"))
    for old in backups[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    log.info("backup: %s written, %d kept", out.name, min(len(backups), keep))
    return out


async def prune(store: Store, now: datetime, delivery_retention_days: int) -> dict[str, int]:
    """Abandoned sessions, and delivery rows past their retention (announcement totals stay)."""
    sessions = await store.sessions.prune(to_db_time(now - SESSION_RETENTION))
    announcements, rows = await store.deliveries.prune(
        now - timedelta(days=delivery_retention_days)
    )
    expired = await store.assessments.expire(now - SESSION_RETENTION)
    summary = {
        "sessions": sessions,
        "announcements": announcements,
        "deliveries": rows,
        "assessments_expired": expired,
    }
    log.info("prune: %s", summary)
    return summary
