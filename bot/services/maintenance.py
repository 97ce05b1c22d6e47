"""Keeping one small server healthy for years: online backups, restore, pruning, the run lock.

Backups use SQLite's online backup API, so they are consistent while the bot keeps writing, and
carry the time they were taken. `khuyenhoc run` holds an exclusive lock on `<database>.lock` for its
whole life; `restore` takes the same lock, so it never replaces a database a khuyenhoc process
holds, checks the file before anything else, and keeps the database it replaces beside it.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.store import files, private
from bot.store.db import to_db_time, utc_now
from bot.store.files import FileFacts

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

SESSION_RETENTION = timedelta(days=30)
SEEN_RETENTION = timedelta(days=7)


class BackupFailed(RuntimeError):
    """A backup could not be written (the message names the files and why); nothing is left."""


class DatabaseInUse(RuntimeError):
    """A running bot holds the database."""


class RestoreCancelled(RuntimeError):
    """The operator did not confirm the restore; nothing was changed."""


@dataclass(frozen=True)
class Restored:
    """What a restore brought back, and where the database it replaced is kept."""

    backup: FileFacts
    safety_copy: Path | None  # None: there was no database (a fresh home)


class RunLock:
    """Held by `khuyenhoc run` on `<database>.lock` while the bot runs."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        private.folder(self.path.parent)
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


async def backup(database: Path, out: Path, now: datetime | None = None) -> Path:
    """A consistent copy of the live database, stamped with `now` (when it was taken: a restore
    tells the operator), checked before it is reported done."""
    private.folder(out.parent)
    partial = out.with_name(out.name + ".part")
    try:
        await asyncio.to_thread(files.copy, database, partial)
        await asyncio.to_thread(files.stamp_backup, partial, now or utc_now())
        result = await asyncio.to_thread(files.integrity, partial)
    except (OSError, files.DatabaseError) as exc:  # a full disk, most likely
        partial.unlink(missing_ok=True)  # no half copy left to be taken for a backup
        raise BackupFailed(f"backup of {database} to {out} failed: {exc}") from exc
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"backup of {database} failed its integrity check: {result}")
    partial.replace(out)
    return out


async def restore(
    backup_file: Path,
    database: Path,
    *,
    confirm: Callable[[FileFacts], bool] | None = None,
    now: datetime | None = None,
) -> Restored:
    """Replace the database with a backup.

    In this order, so that a refusal changes nothing: the file is checked (NotOurDatabase); the run
    lock is taken (DatabaseInUse while any khuyenhoc process holds it) and held to the end, so
    nothing starts on the database while the operator reads the question; `confirm` is asked
    (RestoreCancelled); the current database is kept as `<database>.before-restore-<now>`.
    """
    facts = await asyncio.to_thread(files.inspect, backup_file)
    with RunLock(database):
        if confirm is not None and not await asyncio.to_thread(confirm, facts):
            raise RestoreCancelled("nothing changed")
        safety = await asyncio.to_thread(_replace, backup_file, database, now or utc_now())
    return Restored(facts, safety)


def _replace(backup_file: Path, database: Path, now: datetime) -> Path | None:
    # Whose the restored files must be: the replaced database's owner, else its folder's.
    owner = (database if database.exists() else database.parent).stat()
    staged = database.with_name(database.name + ".restoring")
    staged.unlink(missing_ok=True)  # left by a restore that was interrupted
    # Through SQLite: one self-contained file, whatever was beside it.
    files.copy(backup_file, staged)
    files.note_restore(staged, now, backup_file.name)  # the restore is on the audit trail
    safety = None
    if database.exists():
        safety = _free_name(
            database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
        )
        _keep_aside(database, safety)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    for path in (staged, safety, Path(f"{database}.lock")):
        if path is not None:
            _same_owner(path, owner)
    staged.replace(database)
    return safety


def _free_name(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`...: two restores within a second must not share a copy."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _keep_aside(database: Path, safety: Path) -> None:
    """The database about to be replaced, as one file (its WAL folded in). A database too damaged
    to be read through SQLite (maybe why it is being restored) is moved aside as it is."""
    try:
        files.copy(database, safety)
    except files.DatabaseError:
        safety.unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            if Path(f"{database}{suffix}").exists():
                Path(f"{database}{suffix}").replace(f"{safety}{suffix}")


def _same_owner(path: Path, owner: os.stat_result) -> None:
    """Files root writes for the service (`restore` run as root) must stay the service's, or the
    bot cannot open its own database afterwards."""
    if os.geteuid() != 0 or not path.exists():
        return
    os.chown(path, owner.st_uid, owner.st_gid)
    if stat.S_ISREG(owner.st_mode):  # never more open than private (an older 0644 database)
        path.chmod(stat.S_IMODE(owner.st_mode) & private.FILE_MODE)


async def daily_backup(database: Path, folder: Path, keep: int, now: datetime) -> Path:
    """Today's backup in `folder`; only the newest `keep` are kept."""
    out = folder / f"khuyenhoc-{now:%Y%m%d-%H%M}.sqlite3"
    await backup(database, out, now)
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
    # Redeliveries come within minutes (Zalo) or hours: a week of message ids is plenty.
    seen = await store.sessions.prune_seen(to_db_time(now - SEEN_RETENTION))
    summary = {
        "sessions": sessions,
        "inbound_seen": seen,
        "announcements": announcements,
        "deliveries": rows,
        "assessments_expired": expired,
    }
    log.info("prune: %s", summary)
    return summary
