"""`khuyenhoc run` as a process: polls the (fake) Bot API, answers, reports its health, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp

from fakes.bot_api import FakeBotAPI, FakeUser
from tests.conftest import CONTENT, free_port


async def _health(port: int) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as answer,
    ):
        return answer.status, await answer.json()


async def test_run_polls_answers_and_stops_gracefully(tmp_path):
    port = free_port()
    async with FakeBotAPI() as fake:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_PATH": str(tmp_path / "run.sqlite3"),
            "CONTENT_DIR": str(CONTENT),
            "WEBHOOK_PORT": str(port),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for(lambda: bool(fake.calls_to("getUpdates")), timeout=30)
            assert ("default", "en") in fake.commands
            update = fake.user_sends(FakeUser(id=77), "/start")
            [welcome] = await fake.wait_for_messages(77, 1, timeout=15)
            assert "Kính chào Lan!" in welcome.visible_text()
            await fake.wait_until_acknowledged(update, timeout=15)
            status, report = await _health(port)
            assert (status, report["telegram_polling"]) == (200, "running")

            # Telegram rejects the token (revoked in BotFather): polling ends, /healthz says so.
            fake.fail_next("getUpdates", 401, "Unauthorized")
            fake.user_sends(FakeUser(id=77), "/help")  # ends the long poll in progress
            await fake.wait_for_messages(77, 2, timeout=15)
            async with asyncio.timeout(15):
                while b"token was rejected" not in (line := await process.stderr.readline()):
                    assert line, "the bot ended without saying the token was rejected"
            status, report = await _health(port)
            assert (status, report["telegram_polling"]) == (503, "stopped")
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()
        assert "stopped" in stderr.decode()
