"""Shared fixtures: each test gets its own database file, the real content and an injected clock.

Work every app would repeat is done once per session: the content is loaded and checked once
(`catalog`) and its BM25 index built once, both shared read-only by every app (a guard fails the
module of a test that changes them); each test's database is a copy of one migrated database.
"""

import asyncio
import os
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.app
from bot.app import App
from bot.catalog import Catalog
from bot.config import Settings
from bot.store import Store
from tests import pg
from tests.shared import CONTENT, changed, shared_answerer, shared_catalog

ROOT = Path(__file__).resolve().parent.parent
# Subprocess tests run `python -m bot` from other folders: they must load this checkout's code,
# installed or not (a clean clone, or a work tree other than the one installed in the venv).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
# ... and start in a fraction of the time when they may reuse compiled bytecode (some shells
# forbid writing it, which makes every `python -m bot` compile the whole bot again).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
# Commands speak the staffer's language (bot/say.py): the tests read them as a Vietnamese staffer
# would, whatever the locale of the machine they run on.
for _variable in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_variable, None)
os.environ["LANG"] = "C.UTF-8"


class FakeClock:
    """A clock tests move by hand; every part of the bot reads time through it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 9, 28, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return shared_catalog()


@pytest.fixture(scope="session", autouse=True)
def _one_answerer():
    """Every app built on the shared catalog gets the shared answerer (App.create builds one)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.app, "Answerer", shared_answerer)
        yield


@pytest.fixture(scope="module", autouse=True)
def _shared_content_unchanged(request):
    """Fail the module whose tests changed the shared catalog or answerer (one pickle a module)."""
    yield
    if changed():
        pytest.fail(f"{request.node.nodeid} changed the shared catalog or answerer", pytrace=False)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with every migration applied, made once by the bot itself."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"

    async def migrate() -> None:
        await (await Store.open(path)).close()

    asyncio.run(migrate())
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_database: Path) -> Settings:
    """Settings for a database of the test's own: a copy of the migrated one (migrating a new file
    for every test costs more than the copy)."""
    database = tmp_path / "bot.sqlite3"
    shutil.copyfile(migrated_database, database)
    return Settings(database_path=database, content_dir=CONTENT, admin_ids=frozenset({999}))


@pytest.fixture
async def app(settings: Settings, clock: FakeClock, catalog: Catalog):
    application = await App.create(settings, clock=clock, catalog=catalog)
    yield application
    await application.close()


def free_port() -> int:
    """A TCP port the OS says is free now (for servers a test starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pg.needs_pg)])
async def database_at(request, tmp_path: Path):
    """`await database_at(name)`: a database of the test's own, the same for the same name: a
    SQLite file, or (the second run of the test) a schema on the test PostgreSQL server."""
    if request.param == "sqlite":

        async def sqlite_file(name: str) -> Path:
            return tmp_path / f"{name}.sqlite3"

        yield sqlite_file
        return
    schemas = pg.Schemas()
    yield schemas.url
    await schemas.drop()


def pytest_terminal_summary(terminalreporter) -> None:
    """Say it when the PostgreSQL runs were skipped: a skip must never pass for a pass."""
    if not pg.available():
        terminalreporter.write_line(pg.NOT_ANSWERING)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A database connection left open by a test keeps aiosqlite's (non-daemon) thread alive,
    and the run would hang at exit instead of ending: a CI run would wait for its time-out. Name
    it, fail the run, and end it."""

    left = [t for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
    for thread in left:  # a closed connection's thread ends a moment after the close
        thread.join(timeout=5)
    left = [t for t in left if t.is_alive()]
    if not left:
        return
    names = ", ".join(sorted({t.name for t in left}))
    print(
        f"\n{len(left)} thread(s) left running after the tests ({names}): a connection or a"
        " server was not closed; ending the run as failed",
        flush=True,
    )
    os._exit(exitstatus or 1)
