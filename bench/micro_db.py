"""CPU per query: one trip to aiosqlite's thread against the same query in plain `sqlite3` on
the calling thread (a `SELECT` by primary key on a small WAL table). Not part of `make bench` (a
profile aid, bench/README.md).

    .venv/bin/python -m bench.micro_db
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import aiosqlite

QUERIES = 20_000
SQL = "SELECT * FROM t WHERE id = ?"


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "micro.sqlite3"
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
        await conn.execute("INSERT INTO t VALUES (1, 'x', 'y')")
        try:
            for _ in range(2):  # the second round is the one to read
                cpu = time.process_time()
                for _ in range(QUERIES):
                    await conn.execute_fetchall(SQL, (1,))
                trip = (time.process_time() - cpu) * 1e6 / QUERIES
            plain = sqlite3.connect(path, isolation_level=None)
            cpu = time.process_time()
            for _ in range(QUERIES):
                plain.execute(SQL, (1,)).fetchall()
            direct = (time.process_time() - cpu) * 1e6 / QUERIES
            plain.close()
        finally:
            await conn.close()
    print(f"aiosqlite trip  {trip:5.1f} µs CPU a query")
    print(f"plain sqlite3   {direct:5.1f} µs CPU a query ({trip / direct:.0f}x less)")


if __name__ == "__main__":
    asyncio.run(main())
