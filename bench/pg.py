"""PostgreSQL for the benchmarks: the server (postgresql://postgres@127.0.0.1:5432/test, or
BENCH_DATABASE_URL), a fresh schema per run dropped after, and a clear error when the server
does not answer (the runner prints it; no figure is made up).

The bot selects a schema through the URL (`?search_path=<schema>`, which asyncpg passes to the
server as a setting), the way tests/pg.py does it: bench/ does not import tests/.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from bench.harness import BenchUnavailable

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _shown(url: str) -> str:
    from bot.store.pg import safe_url

    return safe_url(url)


def in_schema(schema: str, url: str = URL) -> str:
    """`url` with `schema` first on the search path."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


async def _connect(url: str | None = None) -> Any:  # an asyncpg connection (lazy import)
    url = url or URL
    try:
        import asyncpg
    except ImportError:
        raise BenchUnavailable("asyncpg is not installed: .venv/bin/pip install -e .") from None
    try:
        return await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BenchUnavailable(
            f"no PostgreSQL to use at {_shown(url)} ({reason}): start it, or set BENCH_DATABASE_URL"
        ) from None


async def check(url: str | None = None) -> None:
    """Raise BenchUnavailable (one line) unless the server answers a query."""
    conn = await _connect(url)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def schema(prefix: str = "bench") -> AsyncIterator[str]:
    """A fresh schema on the server: yields its URL; the schema is dropped after, whatever
    happened."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await _connect()
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
    finally:
        await conn.close()
    try:
        yield in_schema(name)
    finally:
        conn = await _connect()
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await conn.close()
