"""What the PostgreSQL benchmark (bench/bench_postgres.py) relies on, whatever the timings: the
members written with COPY are exactly the SQLite seed's, the bot goes on numbering after them,
and a server that cannot be used is one clear line, not figures of zero."""

from __future__ import annotations

import sqlite3

import pytest

from bench import pg, seed
from bench.harness import BenchUnavailable
from bot.store import Store
from tests.conftest import free_port
from tests.pg import Schemas, needs_pg

MEMBERS = 60  # + 3 who receive no announcements


@needs_pg
async def test_copy_seed_writes_the_sqlite_seeds_members(tmp_path):
    db = tmp_path / "seed.sqlite3"
    await seed.create(db)
    seed.seed_members(db, MEMBERS)
    columns = ", ".join(seed.USER_COLUMNS)
    with sqlite3.connect(db) as lite:
        expected = lite.execute(f"SELECT {columns} FROM users ORDER BY id").fetchall()

    schemas = Schemas()
    try:
        url = await schemas.url("seed")
        assert await seed.seed_members_pg(url, MEMBERS) == len(expected) == 63
        store = await Store.open(url)
        try:
            rows = await store.db.fetchall(f"SELECT {columns} FROM users ORDER BY id")
            assert [tuple(r) for r in rows] == expected
            # A member who arrives afterwards gets the next id, not a clash with the seed's.
            newcomer, _ = await store.users.seen(
                "telegram", "42", chat_id="42", display_name="", locale="vi"
            )
            assert newcomer.id == len(expected) + 1
        finally:
            await store.close()
    finally:
        await schemas.drop()


async def test_a_server_that_does_not_answer_is_one_line():
    closed = free_port()  # nothing listens there
    with pytest.raises(BenchUnavailable) as caught:
        await pg.check(f"postgresql://bench:secret@127.0.0.1:{closed}/test")
    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{closed}" in message and "BENCH_DATABASE_URL" in message
    assert "secret" not in message
