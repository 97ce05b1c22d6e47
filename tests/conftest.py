"""Shared fixtures: each test gets its own database file, the real content and an injected clock.

The content is loaded and checked once per session (`catalog`) and shared by every app: it is
read-only, and a guard fails the module of any test that changes it.
"""

import os
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.catalog import Catalog, load_catalog
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
# Subprocess tests run `python -m bot` from other folders: they must load this checkout's code,
# installed or not (a clean clone, or a work tree other than the one installed in the venv).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


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


_shared: dict[str, object] = {}


def shared_catalog() -> Catalog:
    """The shipped content, loaded once for the whole session; never change it (replace it:
    `dataclasses.replace(catalog, ...)` makes a new one)."""
    if "catalog" not in _shared:
        catalog = load_catalog(CONTENT)
        _shared["catalog"] = catalog
        _shared["snapshot"] = pickle.dumps(catalog)
    return _shared["catalog"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return shared_catalog()


@pytest.fixture(scope="module", autouse=True)
def _catalog_unchanged(request):
    """Fail the module whose tests changed the shared catalog (cheap: one pickle per module)."""
    yield
    if "catalog" in _shared and pickle.dumps(_shared["catalog"]) != _shared["snapshot"]:
        del _shared["catalog"]  # the next module gets a fresh one
        pytest.fail(f"{request.node.nodeid} changed the shared catalog", pytrace=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_path=tmp_path / "bot.sqlite3", content_dir=CONTENT, admin_ids=frozenset({999})
    )


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
