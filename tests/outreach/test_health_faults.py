"""/healthz tells the truth when members' answers cannot be stored: another program's lock,
a full disk. And a member writing on a full disk still gets an answer (issue 16, item 10)."""

from __future__ import annotations

import contextlib
import errno
import shutil
import subprocess
from dataclasses import replace

import pytest

from fakes.bot_api import FakeUser
from tests.lockers import OtherWriter
from tests.outreach.conftest import seed, start_bot


async def test_health_is_red_while_another_program_holds_the_write_lock(live, fake):
    app, _ = live
    assert (await app.health())["ok"] is True
    other = OtherWriter(app.store.db.path)
    try:
        other.lock()
        report = await app.health()
        assert report["ok"] is False and report["database"] == "locked"
    finally:
        other.release()
    report = await app.health()
    assert report["ok"] is True and report["database"] == "ok"


async def test_health_is_red_when_the_disk_is_nearly_full(live):
    app, _ = live
    app.health.min_free_bytes = 1 << 62  # more than any disk has: "nearly full" here
    report = await app.health()
    assert report["ok"] is False and report["database"].startswith("disk nearly full")


@contextlib.contextmanager
def small_disk(folder, size="4m"):
    """A real filesystem of `size` (tmpfs) mounted on `folder`; skipped where mounting is not
    allowed (tests run as root here and in CI)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small filesystem here (not root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder):
    """Write a filler file until the disk is full; returns it (delete it to free the disk)."""
    filler = folder / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


async def test_a_member_on_a_full_disk_gets_an_answer_and_health_says_why(settings, fake, tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        database = disk / "bot.sqlite3"
        shutil.copyfile(settings.database_path, database)
        app = await start_bot(replace(settings, database_path=database), fake)
        try:
            app.health.min_free_bytes = 0  # the write itself must find the disk full
            [member] = await seed(app, 1)
            user = FakeUser(int(member.chat_id), "Lan")
            await app.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no room in the log
            filler = fill(disk)

            report = await app.health()
            assert report["ok"] is False and report["database"] == "disk full"
            fake.user_sends(user, "/help")
            [answer] = await fake.wait_for_messages(user.id, 1)
            assert "bận" in answer.visible_text()  # "Hội đang bận…": an answer, not silence

            filler.unlink()
            assert (await app.health())["ok"] is True
            fake.user_sends(user, "/help")
            [_, help_page] = await fake.wait_for_messages(user.id, 2)
            assert "bận" not in help_page.visible_text()
        finally:
            await app.close()
