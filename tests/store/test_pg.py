"""The PostgreSQL store's own parts: migrations in step with SQLite's, placeholders, refusals."""

import asyncpg
import pytest

from bot.store import Store, db, pg
from bot.store.db import DatabaseUnreachable, DatabaseUnusable
from tests.pg import needs_pg


def test_both_databases_have_the_same_migrations():
    """Numbered in step: the same numbers and names, so a schema version means one schema."""
    assert [name for _, name, _ in pg.migrations()] == [name for _, name, _ in db.migrations()]


def test_placeholders_are_numbered_outside_quotes():
    sql = "SELECT '?' AS q, \"a?\" FROM t WHERE a = ? AND b IN (?, ?) AND c = 'it''s ?'"
    assert pg.numbered(sql) == (
        "SELECT '?' AS q, \"a?\" FROM t WHERE a = $1 AND b IN ($2, $3) AND c = 'it''s ?'"
    )


def test_a_password_never_shows():
    assert pg.safe_url("postgresql://bot:s3cret@db:5432/kh") == "postgresql://bot:***@db:5432/kh"


@needs_pg
async def test_migrations_apply_once_and_record_the_version():
    from tests.pg import Schemas

    schemas = Schemas()
    try:
        url = await schemas.url("a")
        store = await Store.open(url)
        try:
            assert store.db.kind == "postgresql"
            assert await store.db.schema_version() == len(pg.migrations())
        finally:
            await store.close()
        again = await Store.open(url)  # re-opening applies nothing twice
        try:
            assert await again.db.migrate() == len(pg.migrations())
        finally:
            await again.close()
    finally:
        await schemas.drop()


@needs_pg
async def test_another_programs_schema_is_refused_untouched():
    from tests.pg import URL, Schemas

    schemas = Schemas()
    try:
        url = await schemas.url("theirs")
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE invoices (id INTEGER)")
        finally:
            await conn.close()
        with pytest.raises(DatabaseUnusable, match="another program"):
            await Store.open(url)
        conn = await asyncpg.connect(URL)
        try:
            schema = url.rsplit("=", 1)[1]
            tables = await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                schema,
            )
        finally:
            await conn.close()
        assert [t["table_name"] for t in tables] == ["invoices"]
    finally:
        await schemas.drop()


async def test_an_unreachable_server_is_one_clear_error():
    with pytest.raises(DatabaseUnreachable, match="cannot reach PostgreSQL"):
        await Store.open("postgresql://nobody:pw@127.0.0.1:1/none")


def test_the_bot_exits_to_be_restarted_while_postgresql_does_not_answer(tmp_path):
    """Not exit 78 (a configuration error, not restarted): the server may be back in a minute."""
    from tests.test_cli import run

    url = "postgresql://bot:s3cret@127.0.0.1:1/khuyenhoc"
    result = run(["run"], tmp_path, TELEGRAM_BOT_TOKEN="123456:ABC", DATABASE_URL=url)
    assert result.returncode == 1, result.stderr
    assert "cannot reach PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr


def test_database_url_selects_postgresql_and_its_password_is_a_secret(tmp_path):
    from bot.config import ConfigError, Settings

    url = "postgresql://bot:s%40cret@db:5432/kh"
    settings = Settings.load(environ={"DATABASE_URL": url}, env_file=None, home=tmp_path)
    assert settings.database == url and settings.on_postgres
    assert "s@cret" in settings.secrets()
    plain = Settings.load(environ={}, env_file=None, home=tmp_path)
    assert plain.database == tmp_path / "data" / "khuyenhoc.sqlite3" and not plain.on_postgres
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.load(environ={"DATABASE_URL": "mysql://x"}, env_file=None, home=tmp_path)
