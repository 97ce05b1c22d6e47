"""`khuyenhoc restore` as an operator runs it: the file is checked, the operator confirms, what is
replaced is kept, and a running khuyenhoc is never pulled out from under."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import unicodedata

import pytest

from bot.store.db import migrations
from tests.test_cli import open_database, staff

PROMPT = "Khôi phục sẽ thay toàn bộ dữ liệu hiện tại bằng bản sao lưu lúc"


def mark(database, value):
    """Tell databases apart: a row only this test writes."""
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('marker', ?)", (value,))
    conn.close()


def marker(database):
    conn = sqlite3.connect(database)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone()
    finally:
        conn.close()
    return row[0] if row else None


@pytest.fixture(scope="module")
def made_home(tmp_path_factory):
    """A home whose database holds "today"; a backup of it taken when it held "yesterday".
    Made once, by the commands themselves; each test gets a copy (`home`)."""
    folder = tmp_path_factory.mktemp("made") / "home"
    assert staff(["init", "--home", str(folder)], folder.parent).returncode == 0
    database = folder / "data" / "khuyenhoc.sqlite3"
    open_database(database)
    mark(database, "yesterday")
    taken = staff(["--home", str(folder), "backup"], folder.parent)
    assert taken.returncode == 0, taken.stderr
    mark(database, "today")
    return folder


@pytest.fixture
def home(made_home, tmp_path):
    """This test's own copy of the home, its .env pointing at the copy."""
    folder = tmp_path / "home"
    shutil.copytree(made_home, folder, symlinks=True)
    env = folder / ".env"
    env.write_text(env.read_text().replace(str(made_home), str(folder)))
    return folder


def backup_of(home):
    [found] = (home / "backups").glob("manual-*.sqlite3")
    return found


def restore(home, *args, stdin=""):
    return staff(["--home", str(home), "restore", *map(str, args)], home.parent, stdin=stdin)


def safety_copies(home):
    return sorted((home / "data").glob("khuyenhoc.sqlite3.before-restore-*"))


def test_backup_without_out_lands_in_the_backup_folder(home):
    assert marker(backup_of(home)) == "yesterday"


def test_asks_then_keeps_what_it_replaces(home):
    result = restore(home, backup_of(home), stdin="co\n")
    assert result.returncode == 0, result.stderr
    assert PROMPT in result.stdout and "gõ 'co' để tiếp tục" in result.stdout
    when = re.search(PROMPT + r" (\d{4}-\d{2}-\d{2} \d{2}:\d{2})", result.stdout)
    assert when, result.stdout  # the time the backup was taken, in local time
    database = home / "data" / "khuyenhoc.sqlite3"
    assert marker(database) == "yesterday"
    [kept] = safety_copies(home)
    assert marker(kept) == "today"
    assert str(kept) in result.stdout


def test_accepts_the_answer_with_its_accent(home):
    answer = unicodedata.normalize("NFD", "Có") + "\n"
    assert restore(home, backup_of(home), stdin=answer).returncode == 0
    assert marker(home / "data" / "khuyenhoc.sqlite3") == "yesterday"


@pytest.mark.parametrize("answer", ["", "khong\n", "y\n"])
def test_anything_but_co_changes_nothing(home, answer):
    result = restore(home, backup_of(home), stdin=answer)
    assert result.returncode == 1
    assert "không thay đổi gì" in result.stderr and "Traceback" not in result.stderr
    assert marker(home / "data" / "khuyenhoc.sqlite3") == "today"
    assert safety_copies(home) == []


def test_yes_skips_the_question(home):
    result = restore(home, backup_of(home), "--yes")
    assert result.returncode == 0, result.stderr
    assert PROMPT not in result.stdout
    assert marker(home / "data" / "khuyenhoc.sqlite3") == "yesterday"
    # The restored database remembers it was restored, and from which file.
    conn = sqlite3.connect(home / "data" / "khuyenhoc.sqlite3")
    try:
        rows = conn.execute("SELECT actor, action, detail FROM audit_log").fetchall()
    finally:
        conn.close()
    assert rows == [("cli", "restore", json.dumps({"file": backup_of(home).name}))]


def not_a_database(path):
    path.write_text("hello, I am a text file\n" * 100)


def not_ours(path):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()


def from_a_newer_version(path):
    open_database(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(migrations()) + 1}")
    conn.close()


def damaged(path):
    open_database(path)
    mark(path, "x" * 20_000)  # a few pages to damage
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 3 + 64] = b"\xff" * 64  # within a b-tree page, past the header
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (not_a_database, "not a SQLite database"),
        (not_ours, "not a khuyenhoc database"),
        (from_a_newer_version, "newer"),
        (damaged, "damaged"),
    ],
    ids=["text", "other-sqlite", "newer", "damaged"],
)
def test_refuses_a_file_that_is_not_a_usable_backup(home, tmp_path, make, says):
    wrong = tmp_path / "wrong.sqlite3"
    make(wrong)
    result = restore(home, wrong, "--yes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("từ chối:") and str(wrong) in result.stderr
    assert says in result.stderr
    assert marker(home / "data" / "khuyenhoc.sqlite3") == "today"
    assert safety_copies(home) == []


def test_refused_while_a_khuyenhoc_process_holds_the_database(home):
    database = home / "data" / "khuyenhoc.sqlite3"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from bot.services.maintenance import RunLock\n"
            f"with RunLock(Path({str(database)!r})):\n"
            "    print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        result = restore(home, backup_of(home), stdin="co\n")
    finally:
        holder.communicate("", timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith("từ chối:") and "đang được" in result.stderr
    assert PROMPT not in result.stdout  # refused before asking
    assert marker(database) == "today" and safety_copies(home) == []


def test_restores_into_a_fresh_home(home, tmp_path):
    fresh = tmp_path / "fresh"
    assert staff(["init", "--home", str(fresh)], tmp_path).returncode == 0
    result = restore(fresh, backup_of(home), "--yes")
    assert result.returncode == 0, result.stderr
    assert marker(fresh / "data" / "khuyenhoc.sqlite3") == "yesterday"
    assert safety_copies(fresh) == []


def test_without_a_home_it_says_where_it_looked(home, tmp_path):
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    result = staff(["restore", str(backup_of(home)), "--yes"], nowhere)
    assert result.returncode == 2
    assert str(nowhere / "data" / "khuyenhoc.sqlite3") in result.stderr
    assert "--home" in result.stderr and "KHUYENHOC_HOME" in result.stderr
    assert not (nowhere / "data").exists()


def test_a_damaged_database_is_moved_aside_as_it_is(home):
    database = home / "data" / "khuyenhoc.sqlite3"
    database.write_bytes(b"\0" * 100 + database.read_bytes()[100:])  # its header is gone
    damaged_bytes = database.read_bytes()
    result = restore(home, backup_of(home), "--yes")
    assert result.returncode == 0, result.stderr
    assert marker(database) == "yesterday"
    [kept] = safety_copies(home)
    assert kept.read_bytes() == damaged_bytes


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can restore for another user")
def test_restored_as_root_the_files_stay_the_services(home):
    database = home / "data" / "khuyenhoc.sqlite3"
    service = 54321
    os.chown(database, service, service)
    database.chmod(0o640)
    result = restore(home, backup_of(home), "--yes")
    assert result.returncode == 0, result.stderr
    [kept] = safety_copies(home)
    for path in (database, kept, home / "data" / "khuyenhoc.sqlite3.lock"):
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (service, service), path
    # Its owner's, and private: a database an older version left group-readable comes back 0600.
    assert database.stat().st_mode & 0o777 == 0o600


def test_the_question_gives_the_time_the_backup_was_taken(home):
    backup = backup_of(home)
    os.utime(backup, (0, 0))  # copied around: its file time says nothing
    stamped = restore(home, backup, stdin="khong\n")
    assert re.search(PROMPT + r" 20\d\d-", stamped.stdout), stamped.stdout  # not 1970

    with sqlite3.connect(backup) as conn:  # a copy made before backups carried their time
        conn.execute("DELETE FROM meta WHERE key = 'backup_taken_at'")
    conn.close()
    new_year = 1_704_067_200  # 2024-01-01 00:00 UTC
    os.utime(backup, (new_year, new_year))
    older = restore(home, backup, stdin="khong\n")
    assert f"{PROMPT} 2024-01-01 07:00" in older.stdout  # its file time, in Vietnam's time
