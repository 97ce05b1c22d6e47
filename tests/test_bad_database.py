"""A damaged or foreign database file: `run` and every command stop at once with one line naming
the file and exit code 78 (nothing keeps the process alive)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys

import pytest

from tests.conftest import CONTENT, free_port

EXIT_CONFIG = 78


async def khuyenhoc(env, cwd, *args) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"`khuyenhoc {' '.join(args)}` hung on a bad database")
    return process.returncode, stderr.decode()


def garbage(path):
    path.write_bytes(bytes(range(256)) * 64)


def foreign(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("make", [garbage, foreign])
@pytest.mark.parametrize("command", [["run"], ["stats"]])
async def test_a_bad_database_file_is_one_clear_line_and_exit_78(tmp_path, make, command):
    db = tmp_path / "bot.sqlite3"
    make(db)
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123:not-used",
        "TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
        "DATABASE_PATH": str(db),
        "CONTENT_DIR": str(CONTENT),
        "WEBHOOK_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }
    code, stderr = await khuyenhoc(env, tmp_path, *command)
    assert code == EXIT_CONFIG, stderr
    assert str(db) in stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
