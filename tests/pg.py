"""PostgreSQL for the tests: the server on 127.0.0.1:5432 (trust auth, database `test`) when it
answers, each test in schemas of its own, dropped after.

A test runs on both databases by taking the `database_at` fixture (tests/conftest.py): on
PostgreSQL it gets a postgresql:// URL whose search_path is a fresh schema. When the server does
not answer, those runs are skipped, and the session says so in one line (never a silent pass).
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache
from urllib.parse import urlsplit

import pytest

URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOT_ANSWERING = f"PostgreSQL does not answer at {URL}: the PostgreSQL runs of the tests are skipped"


@cache
def available() -> bool:
    """Whether the test server answers (a TCP connection, a second at most)."""
    parts = urlsplit(URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1):
            return True
    except OSError:
        return False


needs_pg = pytest.mark.skipif(not available(), reason=NOT_ANSWERING)


def in_schema(schema: str) -> str:
    """The test server's URL with `schema` first on the search path."""
    return f"{URL}?search_path={schema}"


class Schemas:
    """Fresh schemas on the test server, each named once per test; all dropped by `drop`."""

    def __init__(self) -> None:
        self._made: dict[str, str] = {}

    async def url(self, name: str) -> str:
        """The URL of the schema this test calls `name` (made on first use)."""
        if name not in self._made:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            await _run(f"CREATE SCHEMA {schema}")
            self._made[name] = schema
        return in_schema(self._made[name])

    async def drop(self) -> None:
        for schema in self._made.values():
            await _run(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self._made.clear()


async def _run(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
