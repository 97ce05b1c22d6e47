"""Shared fixtures: each test gets its own database file, the real content and an injected clock."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_path=tmp_path / "bot.sqlite3", content_dir=CONTENT, admin_ids=frozenset({999})
    )


@pytest.fixture
async def app(settings: Settings, clock: FakeClock):
    application = await App.create(settings, clock=clock)
    yield application
    await application.close()


def free_port() -> int:
    """A TCP port the OS says is free now (for servers a test starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
