"""A crash while members' messages are being answered: SIGKILL the bot, start it again; every
message taken but not answered is answered after the restart (at least once)."""

from __future__ import annotations

import asyncio
import os
import signal

from fakes.bot_api import FakeBotAPI, FakeUser
from tests.conftest import CONTENT, free_port
from tests.helpers import khuyenhoc

MEMBERS = [FakeUser(id=20_000 + n, first_name=f"M{n}") for n in range(60)]


async def start_bot(env, cwd):
    return await khuyenhoc("run", env=env, cwd=cwd)


async def test_sigkill_while_answering_loses_no_message(tmp_path):
    async with FakeBotAPI() as fake:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "CONTENT_DIR": str(CONTENT),
            "WEBHOOK_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
        }
        slow, quick = MEMBERS[::2], MEMBERS[1::2]
        for member in slow:  # their answers are still on the way when the bot dies
            fake.hang_chat(member.id, 60)

        def answered(members) -> int:
            return sum(1 for m in members if fake.messages(m.id))

        first = await start_bot(env, tmp_path)
        try:
            for member in MEMBERS:
                fake.user_sends(member, "/help")
            await fake.wait_for(lambda: answered(quick) == len(quick), timeout=30)
            # Every slow member's answer was asked for: all 60 updates are in hand.
            await fake.wait_for(
                lambda: len(fake.calls_to("sendMessage")) >= len(MEMBERS), timeout=30
            )
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert answered(slow) == 0  # they really were cut off

        second = await start_bot(env, tmp_path)
        try:
            await fake.wait_for(lambda: answered(MEMBERS) == len(MEMBERS), timeout=30)
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        assert second.returncode == 0, stderr.decode()
