"""A crash in the middle of a broadcast: SIGKILL the bot, start it again on the same database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.store import Store
from fakes.bot_api import FakeBotAPI
from tests.conftest import CONTENT, free_port
from tests.helpers import khuyenhoc

RECIPIENTS = 120
IN_FLIGHT_BOUND = 32 + 10  # max_in_flight, plus results not yet written (0.1 s at the rate)


async def seed_db(path):
    store = await Store.open(path)
    try:
        for n in range(RECIPIENTS):
            user, _ = await store.users.seen(
                "telegram", str(10_000 + n), chat_id=str(10_000 + n), display_name="", locale="vi"
            )
            await store.users.update(user.id, consent_at=store.db.now())
    finally:
        await store.close()


async def start_bot(fake, env, cwd):
    return await khuyenhoc("run", env=env, cwd=cwd)


async def test_sigkill_mid_broadcast_loses_no_one(tmp_path):
    db = tmp_path / "crash.sqlite3"
    await seed_db(db)
    async with FakeBotAPI(response_delay=0.02) as fake:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_PATH": str(db),
            "CONTENT_DIR": str(CONTENT),
            "WEBHOOK_PORT": str(free_port()),
            "BROADCAST_RATE": "30",
            "LOG_LEVEL": "WARNING",
        }
        text = tmp_path / "ann.txt"
        text.write_text("Thông báo quan trọng", encoding="utf-8")
        recorded = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "announce",
            "--text-file",
            str(text),
            "--yes",  # a script: nobody at a terminal to answer the question
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert await recorded.wait() == 0

        def delivered() -> int:
            return sum(
                1 for m in fake.calls_to("sendMessage") if m.get("text") == "Thông báo quan trọng"
            )

        first = await start_bot(fake, env, tmp_path)
        try:
            await fake.wait_for(lambda: delivered() >= RECIPIENTS // 3, timeout=30)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        at_kill = delivered()
        assert at_kill < RECIPIENTS  # it really died mid-way

        second = await start_bot(fake, env, tmp_path)
        try:
            chats = {10_000 + n for n in range(RECIPIENTS)}
            await fake.wait_for(lambda: all(fake.messages(chat) for chat in chats), timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        assert second.returncode == 0, stderr.decode()

        duplicates = sum(len(fake.messages(chat)) - 1 for chat in chats)
        assert 0 <= duplicates <= IN_FLIGHT_BOUND
        store = await Store.open(db)
        try:
            rows = await store.db.fetchall(
                "SELECT status, count(*) AS n FROM deliveries GROUP BY status"
            )
            assert {r["status"]: r["n"] for r in rows} == {"sent": RECIPIENTS}
        finally:
            await store.close()
