"""Two `khuyenhoc run` instances on one PostgreSQL database, the fake Bot API, 300 members: they
share a broadcast (each member once, the global rate held), and when the leader is killed in
the middle, the other takes the lead within LEADER_LEASE_S, finishes the broadcast and sends the
next scheduled announcement on time."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.records import AudienceFilter
from bot.store import Store
from fakes.bot_api import FakeBotAPI
from tests.conftest import CONTENT, free_port
from tests.helpers import khuyenhoc
from tests.pg import Schemas, needs_pg

pytestmark = needs_pg

RECIPIENTS = 300
TEXT = "Thông báo cho mọi chi hội"
LATER = "Nhắc lịch họp chi hội"
LEASE_S = 1.5  # LEADER_LEASE_S: short, so the test waits little for a takeover
IN_FLIGHT_BOUND = 32 + 10  # sends on the wire at the kill, plus results not yet written


async def seed(url: str) -> None:
    store = await Store.open(url)
    try:
        for n in range(RECIPIENTS):
            user, _ = await store.users.seen(
                "telegram", str(20_000 + n), chat_id=str(20_000 + n), display_name="", locale="vi"
            )
            await store.users.update(user.id, consent_at=store.db.now())
    finally:
        await store.close()


async def role(port: int) -> str | None:
    """What an instance's /healthz says it is (leader, follower), None while it does not answer."""
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                return (await response.json()).get("role")
    except aiohttp.ClientError:
        return None


async def sent_by(port: int) -> float:
    """How many deliveries an instance sent, from its /metrics."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('khuyenhoc_deliveries_total{status="sent"}')
    )


async def until(condition, timeout: float, what: str) -> float:
    """Wait (polling) until `condition()` is true; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await condition():
        if loop.time() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)
    return loop.time() - start


@pytest.fixture
async def url():
    """A schema of the test's own, seeded with the members; dropped after, whatever happened."""
    schemas = Schemas()
    made = await schemas.url("bot")
    await seed(made)
    yield made
    await schemas.drop()


async def test_two_instances_share_a_broadcast_and_survive_the_leader(tmp_path, url):
    # The fake refuses more than 30 sends a second over all chats, as Telegram does.
    async with FakeBotAPI(response_delay=0.02, global_rate=30) as fake:
        base = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_URL": url,
            "DATABASE_PATH": str(tmp_path / "data" / "unused.sqlite3"),
            "CONTENT_DIR": str(CONTENT),
            "BROADCAST_RATE": "20",  # per instance's pacer, and for both together
            "LEADER_LEASE_S": str(LEASE_S),
            "LOG_LEVEL": "WARNING",
        }
        ports = [free_port(), free_port()]
        instances = []
        try:
            first = await khuyenhoc(
                "run", env={**base, "WEBHOOK_PORT": str(ports[0])}, cwd=tmp_path
            )
            instances.append(first)

            async def first_leads() -> bool:
                return await role(ports[0]) == "leader"

            await until(first_leads, 30, "the first instance leads")
            second = await khuyenhoc(
                "run", env={**base, "WEBHOOK_PORT": str(ports[1])}, cwd=tmp_path
            )
            instances.append(second)

            async def second_follows() -> bool:
                return await role(ports[1]) == "follower"

            await until(second_follows, 30, "the second instance follows")

            note = tmp_path / "note.txt"
            note.write_text(TEXT, encoding="utf-8")
            recorded = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "announce",
                "--text-file",
                str(note),
                "--yes",
                env=base,
                cwd=tmp_path,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            assert await recorded.wait() == 0

            chats = [20_000 + n for n in range(RECIPIENTS)]

            def sent(text: str) -> int:
                return sum(1 for m in fake.calls_to("sendMessage") if m.get("text") == text)

            def delivered() -> int:
                return sent(TEXT)

            await fake.wait_for(lambda: delivered() >= RECIPIENTS // 3, timeout=60)
            # Both instances were sending, and nobody has it twice so far.
            assert await sent_by(ports[0]) > 0 and await sent_by(ports[1]) > 0
            twice = [chat for chat in chats if len(fake.messages(chat)) > 1]
            assert not twice, f"sent twice while both ran: {twice}"

            first.send_signal(signal.SIGKILL)
            await first.wait()
            assert delivered() < RECIPIENTS, "it did not die mid-way"

            async def second_leads() -> bool:
                return await role(ports[1]) == "leader"

            took = await until(second_leads, 3 * LEASE_S + 5, "the second instance leads")
            assert took <= LEASE_S + 2, f"took over in {took:.1f} s"

            # The rows the dead one held come back when their lease (4 x LEADER_LEASE_S) ends.
            await fake.wait_for(lambda: all(fake.messages(chat) for chat in chats), timeout=120)
            # A row the dead one sent but never wrote down is sent again (it was on the wire at
            # the kill): the broadcast is over once the survivor has written every outcome.
            watcher = await Store.open(url)
            try:

                async def finished() -> bool:
                    row = await watcher.db.fetchone("SELECT status FROM announcements")
                    return row["status"] == "done"

                await until(finished, 60, "the survivor finishes the broadcast")

                # The next scheduled announcement goes out on time from the survivor.
                due = datetime.now(UTC) + timedelta(seconds=1)
                few = await watcher.db.fetchall("SELECT id FROM users ORDER BY id LIMIT 5")
                await watcher.announcements.create(
                    created_by="cli",
                    text=LATER,
                    audience=AudienceFilter(user_ids=tuple(r["id"] for r in few)),
                    status="scheduled",
                    scheduled_at=due,
                )
                await fake.wait_for(lambda: sent(LATER) == 5, timeout=30)
                late = (datetime.now(UTC) - due).total_seconds()
                assert late <= LEASE_S + 1, f"the scheduled announcement came {late:.1f} s late"
            finally:
                await watcher.close()
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
            assert second.returncode == 0, stderr.decode()
        finally:
            for process in instances:
                if process.returncode is None:
                    process.send_signal(signal.SIGKILL)
                    await process.wait()

        duplicates = delivered() - RECIPIENTS
        assert 0 <= duplicates <= IN_FLIGHT_BOUND, duplicates
        assert fake.rejected_429 == 0, "the shared rate did not hold"
        store = await Store.open(url)
        try:
            rows = await store.db.fetchall(
                "SELECT status, count(*) AS n FROM deliveries GROUP BY status"
            )
            assert {r["status"]: r["n"] for r in rows} == {"sent": RECIPIENTS + 5}
            done = await store.db.fetchall("SELECT status FROM announcements")
            assert [r["status"] for r in done] == ["done", "done"]
        finally:
            await store.close()
