"""What the bot writes is readable by its own user only: the database (members' data, the Zalo
tokens and the webhook secret in `meta`) with its -wal/-shm files, backups, exports and the run
lock are 0600, the folders it makes 0700, whatever the umask it was started with (issue 16,
item 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services import maintenance
from bot.store import Store


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask of a login shell: files 0644 unless the bot says otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


async def test_the_database_its_companions_and_the_folder_it_makes_are_private(tmp_path):
    database = tmp_path / "new" / "data" / "bot.sqlite3"
    store = await Store.open(database)
    try:
        await store.db.execute("INSERT INTO meta (key, value) VALUES ('zalo_token', 'secret')")
        made = sorted(p.name for p in database.parent.iterdir())
        assert made == ["bot.sqlite3", "bot.sqlite3-shm", "bot.sqlite3-wal"]
        assert {p.name: mode(p) for p in database.parent.iterdir()} == dict.fromkeys(made, 0o600)
        assert mode(database.parent) == mode(database.parent.parent) == 0o700
    finally:
        await store.close()


async def test_a_database_an_older_version_left_readable_is_made_private(tmp_path):
    database = tmp_path / "bot.sqlite3"
    await (await Store.open(database)).close()
    database.chmod(0o644)
    store = await Store.open(database)
    try:
        assert mode(database) == 0o600
    finally:
        await store.close()


async def test_backups_and_the_run_lock_are_private(tmp_path):
    database = tmp_path / "bot.sqlite3"
    await (await Store.open(database)).close()
    copy = await maintenance.backup(database, tmp_path / "backups" / "copy.sqlite3")
    assert (mode(copy), mode(copy.parent)) == (0o600, 0o700)
    await maintenance.daily_backup(
        database, tmp_path / "backups", keep=3, now=maintenance.utc_now()
    )
    assert {mode(p) for p in copy.parent.iterdir()} == {0o600}
    with maintenance.RunLock(database) as lock:
        assert mode(lock.path) == 0o600


def test_an_export_is_private(tmp_path, settings):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text(
        f"DATABASE_PATH={settings.database_path}\nCONTENT_DIR={settings.content_dir}\n"
    )
    out = home / "exports" / "members.csv"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--home", str(home), "export", "members", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert done.returncode == 0, done.stderr
    assert (mode(out), mode(out.parent)) == (0o600, 0o700)
