"""Another process's write lock on a database, and waiting for a log line: for lock tests."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path


class OtherWriter:
    """A second connection (as another process would have) holding `BEGIN EXCLUSIVE`."""

    def __init__(self, path: Path) -> None:
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False
        )

    def lock(self) -> None:
        assert self._conn is not None
        self._conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        """Commit and close; again is harmless (tests release in `finally` too)."""
        if self._conn is None:
            return
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        self._conn.close()
        self._conn = None


class LogSeen(logging.Handler):
    """An event set when `text` is logged on `logger` (or below it), in the message or in the
    exception logged with it."""

    def __init__(self, logger: str, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if self.text in record.getMessage() or self.text in str(error or ""):
            self._loop.call_soon_threadsafe(self.seen.set)

    def __enter__(self) -> LogSeen:
        self._logger.addHandler(self)
        self._level = self._logger.level
        if not self._logger.isEnabledFor(logging.WARNING):
            self._logger.setLevel(logging.WARNING)
        return self

    def __exit__(self, *_: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)

    async def wait(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.seen.wait(), timeout)
