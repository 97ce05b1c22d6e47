"""The bot on PostgreSQL (issue 22): inbound updates against SQLite in the same run, a broadcast
shared by two instances under one 30/s limit, the survivor's first send after the leader is
killed, and enqueueing an announcement to a million members.

Each part runs in a fresh schema of the server at BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/test), dropped after. When the server does not answer, the
module raises `BenchUnavailable` (one line, printed by the runner) and reports nothing.

Everything else is the other benchmarks' own machinery: the updates rounds are
`bench_updates._round` (the fake Bot API in its own process plays the members), the broadcast
is `bench_broadcast`'s set-up with two `python -m bot run` processes on one schema, the members
come from `bench.seed` (written with COPY), and the enqueue is `bench.enqueue_step`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench import bench_broadcast, bench_updates, pg, seed
from bench.harness import (
    PYTHON,
    ROOT,
    Child,
    FakeServer,
    bot_env,
    fake_server,
    free_port,
    log,
    mode_args,
    quick,
    spawn,
    stop_process,
)
from bot.records import SCHEDULED, AudienceFilter
from bot.store import Store

ROUNDS = 1 if quick() else 3  # updates rounds on each database, alternated
RATE = bench_broadcast.FREE_RATE  # 30/s: Telegram's global limit without paid broadcasts
RECIPIENTS = 900 if quick() else 5_400  # 30 s / 3 min at 30/s
DEFAULT_RATE = 25.0  # BROADCAST_RATE's default: the shared bucket's burst is sized for it
LEASE_S = 15.0  # LEADER_LEASE_S: the default, which the failover goal is about
KILL_BEFORE_DUE_S = 0.5  # the leader dies this long before the scheduled announcement is due
FAILOVER_MEMBERS = 5
ENQUEUE_ROWS = 100_000 if quick() else 1_000_000

GOALS = {
    "pg_updates_per_s": "report",
    "pg_vs_sqlite_updates": ">= 0.7",
    "pg_broadcast_rate_ratio": ">= 0.95",
    "pg_broadcast_429_count": "== 0",
    "pg_failover_s": "<= 20",
    "pg_enqueue_1m_s": "<= 30",
}
_cmd = f"`python -m bench bench_postgres{mode_args()}` (PostgreSQL at BENCH_DATABASE_URL)"
_rtt_ms = bench_broadcast.RTT_S * 1000
_fake = f"the fake Bot API in its own process, every answer after {_rtt_ms:.0f} ms"
_size = f"{ENQUEUE_ROWS:,}" + (" (quick)" if quick() else "")
HOW = {
    "pg_updates_per_s": f"bench_updates' load (its `_round`: `python -m bench.bot_proc`,"
    f" {bench_updates.MEMBERS} members at once, onboarding + one self-assessment each) with"
    f" DATABASE_URL on a fresh schema per round; median updates/s of {ROUNDS} round(s); {_cmd}",
    "pg_vs_sqlite_updates": f"pg_updates_per_s / the median of {ROUNDS} SQLite round(s) of the"
    " same load, the rounds alternated in the same run (SQLite, PostgreSQL, then PostgreSQL,"
    " SQLite, ...) so both see the same machine",
    "pg_broadcast_rate_ratio": f"two `python -m bot run` on one schema (BROADCAST_RATE=30 each,"
    f" the rate shared through the database) + `python -m bot announce` to {RECIPIENTS:,}"
    f" members (seeded with COPY); {_fake}, limits 30/s global, 1/s per chat; (accepted sends"
    f" - 1) / (last - first send) at the fake, / 30; {_cmd}",
    "pg_broadcast_429_count": "429 answers the fake gave in that run",
    "pg_failover_s": f"two `python -m bot run` on one schema (LEADER_LEASE_S={LEASE_S:g}, the"
    f" default); an announcement to {FAILOVER_MEMBERS} members scheduled; SIGKILL of the leader"
    f" {KILL_BEFORE_DUE_S} s before it is due; seconds from the kill to its first send at the"
    f" fake (necessarily by the survivor); {_cmd}",
    "pg_enqueue_1m_s": f"subprocess `python -m bench.enqueue_step URL`: wall time of"
    f" Announcements.start_sending (audience: everyone) in a schema seeded by"
    f" bench.seed.seed_members_pg (COPY, then ANALYZE): {_size} eligible members (+1/20"
    f" ineligible); what enqueue_1m_s times on SQLite; {_cmd}",
    "sqlite_updates_per_s_same_run": "diagnostic: the SQLite rounds' median updates/s (the"
    " denominator of pg_vs_sqlite_updates)",
    "pg_updates_bot_cpu_ms_per_update": "diagnostic: bot process CPU per update, median"
    " PostgreSQL round (the server's own CPU is not in it)",
    "sqlite_updates_bot_cpu_ms_per_update": "diagnostic: the same, median SQLite round",
    "pg_handler_p99_ms": "diagnostic: 99th percentile of Dispatcher.handle, median PostgreSQL"
    " round",
    "pg_broadcast_second_share": "diagnostic: share of the broadcast sent by the instance"
    " started second (their /metrics): both instances send",
    "pg_broadcast_duplicates": "diagnostic: accepted sends beyond one per member (no instance"
    " died: expected 0)",
    "pg_broadcast_at_default_msgs_per_s": f"diagnostic: the same two instances with"
    f" BROADCAST_RATE={DEFAULT_RATE:g} (the default; the shared bucket lets through up to 1.2 x"
    f" it in a second), {RECIPIENTS // 2:,} members; (sends - 1) / (last - first send)",
    "pg_broadcast_at_default_429_count": "diagnostic: 429 answers the fake gave in that run",
    "pg_takeover_s": 'diagnostic: from the kill to the survivor\'s /healthz saying "leader"'
    " (the scheduled jobs: reminders, backup, pruning, digest, run only there)",
    "pg_seed_1m_s": f"diagnostic: bench.seed.seed_members_pg writing {_size} members (+1/20)"
    " with COPY into a migrated schema, ANALYZE included",
}


async def _updates(root: Path) -> dict[str, float]:
    transcript = root / "transcript.json"  # only the peer bots read it; _round names it
    rounds: dict[str, list[dict]] = {"sqlite": [], "postgresql": []}
    for n in range(ROUNDS):
        order = ("sqlite", "postgresql") if n % 2 == 0 else ("postgresql", "sqlite")
        for kind in order:
            log(f"updates round {n + 1}/{ROUNDS} on {kind}")
            folder = root / f"updates-{kind}-{n}"
            if kind == "sqlite":
                figures = await bench_updates._round("khuyenhoc", 0, folder, transcript=transcript)
            else:
                async with pg.schema("bench_updates") as url:
                    figures = await bench_updates._round(
                        "khuyenhoc", 0, folder, transcript=transcript, database_url=url
                    )
            rounds[kind].append(figures)
    lite = bench_updates._median_round(rounds["sqlite"])
    post = bench_updates._median_round(rounds["postgresql"])
    return {
        "pg_updates_per_s": post["updates_per_s"],
        "pg_vs_sqlite_updates": post["updates_per_s"] / lite["updates_per_s"],
        "sqlite_updates_per_s_same_run": lite["updates_per_s"],
        "pg_updates_bot_cpu_ms_per_update": post["bot_cpu_ms_per_update"],
        "sqlite_updates_bot_cpu_ms_per_update": lite["bot_cpu_ms_per_update"],
        "pg_handler_p99_ms": post["handler_p99_ms"],
    }


# -- two instances on one schema ---------------------------------------------------------------
async def _role(port: int) -> str | None:
    """What an instance's /healthz says it is (leader, follower); None while it does not answer."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                return (await response.json()).get("role")
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def _sent_by(port: int) -> float:
    """Deliveries an instance sent, from its /metrics."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('khuyenhoc_deliveries_total{status="sent"}')
    )


async def _until(
    condition: Callable[[], Awaitable[bool]], timeout: float, what: str, *children: Child
) -> float:
    """Poll `condition` every 20 ms; returns the monotonic moment it held. Raises (with the
    stderr of a child that died) when it does not hold within `timeout`."""
    deadline = time.monotonic() + timeout
    while not await condition():
        for child in children:
            if child.process.returncode is not None:
                raise RuntimeError(f"{what}: an instance exited:\n{child.stderr_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic()


@contextlib.asynccontextmanager
async def _two_instances(
    fake: FakeServer, folder: Path, url: str, **extra: str
) -> AsyncIterator[tuple[Child, Child, list[int]]]:
    """`python -m bot run` twice on the schema of `url`: the first leads before the second
    starts. Yields (first, second, their HTTP ports); both are stopped after."""
    ports = [free_port(), free_port()]
    children: list[Child] = []
    try:
        for n, (port, role) in enumerate(zip(ports, ("leader", "follower"), strict=True)):
            env = bot_env(fake, folder, DATABASE_URL=url, WEBHOOK_PORT=str(port), **extra)
            child = await spawn([PYTHON, "-m", "bot", "run"], env, folder, f"bot{n + 1}")
            children.append(child)

            async def is_role(port: int = port, role: str = role) -> bool:
                return await _role(port) == role

            await _until(is_role, 60, f"instance {n + 1} is {role}", child)
        yield children[0], children[1], ports
    finally:
        for child in children:
            code = await stop_process(child.process)
            if code not in (0, -signal.SIGKILL):
                log(f"{child.stderr_path.stem} exited {code}:\n{child.stderr_tail()}")


async def _broadcast(root: Path, rate: float, recipients: int) -> dict[str, float]:
    """Two instances, BROADCAST_RATE=`rate` each, share an announcement to `recipients`
    members under the fake's 30/s: the rate and 429s at the fake, and who sent what."""
    folder = root / f"broadcast-{rate:g}"
    folder.mkdir()
    text_file = folder / "announcement.html"
    text_file.write_text(bench_broadcast.TEXT, encoding="utf-8")
    async with pg.schema("bench_broadcast") as url:
        await seed.seed_members_pg(url, recipients)
        async with (
            fake_server(
                global_rate=RATE,
                per_chat_rate=1.0,
                response_delay=bench_broadcast.RTT_S,
                stderr_path=folder / "fake.stderr",
            ) as fake,
            _two_instances(fake, folder, url, BROADCAST_RATE=f"{rate:g}") as (_, _, ports),
        ):
            await asyncio.sleep(bench_broadcast.SETTLE_S)
            announce = await spawn(
                [PYTHON, "-m", "bot", "announce", "--text-file", str(text_file), "--yes"],
                bot_env(fake, folder, DATABASE_URL=url),
                folder,
                "announce",
            )
            if await announce.process.wait() != 0:
                raise RuntimeError(f"announce failed:\n{announce.stderr_tail()}")
            t0 = time.monotonic()
            stats = await fake.call("wait_sends", n=recipients, timeout=recipients / rate * 3 + 60)
            watcher = await Store.open(url)
            try:

                async def finished() -> bool:
                    row = await watcher.db.fetchone(
                        "SELECT status FROM announcements ORDER BY id DESC LIMIT 1"
                    )
                    return row is not None and row["status"] == "done"

                await _until(finished, 60, "the announcement is done")
                sent = (
                    await watcher.db.fetchone(
                        "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'"
                    )
                )["n"]
            finally:
                await watcher.close()
            final = await fake.call("stats")
            by = [await _sent_by(port) for port in ports]
    if sent != recipients:
        raise RuntimeError(f"broadcast: {sent:,} of {recipients:,} deliveries sent")
    figures = {
        "rate": (stats["sends"] - 1) / (stats["last"] - stats["first"]),
        "rejected_429": final["rejected_429"],
        "second_share": by[1] / max(1.0, sum(by)),
        "duplicates": final["sends"] - recipients,
    }
    log(
        f"broadcast at BROADCAST_RATE={rate:g}: {recipients:,} sent by two instances"
        f" ({by[0]:.0f} + {by[1]:.0f}) at {figures['rate']:.1f}/s,"
        f" {final['rejected_429']} x 429, {time.monotonic() - t0:.0f} s"
    )
    return figures


async def _failover(root: Path) -> dict[str, float]:
    folder = root / "failover"
    folder.mkdir()
    async with pg.schema("bench_failover") as url:
        await seed.seed_members_pg(url, FAILOVER_MEMBERS)
        async with (
            fake_server(
                global_rate=RATE,
                per_chat_rate=1.0,
                response_delay=bench_broadcast.RTT_S,
                stderr_path=folder / "fake.stderr",
            ) as fake,
            _two_instances(
                fake, folder, url, BROADCAST_RATE=f"{RATE:g}", LEADER_LEASE_S=f"{LEASE_S:g}"
            ) as (leader, survivor, ports),
        ):
            due = datetime.now(UTC) + timedelta(seconds=3)
            store = await Store.open(url)
            try:
                await store.announcements.create(
                    created_by="bench",
                    text=bench_broadcast.TEXT,
                    audience=AudienceFilter(user_ids=tuple(range(1, FAILOVER_MEMBERS + 1))),
                    status=SCHEDULED,
                    scheduled_at=due,
                )
            finally:
                await store.close()
            wait = (due - datetime.now(UTC)).total_seconds() - KILL_BEFORE_DUE_S
            await asyncio.sleep(max(0.0, wait))
            leader.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()

            async def leads() -> bool:
                return await _role(ports[1]) == "leader"

            took_over = asyncio.ensure_future(
                _until(leads, 4 * LEASE_S + 30, "the survivor leads", survivor)
            )
            try:
                stats = await fake.call("wait_sends", n=FAILOVER_MEMBERS, timeout=4 * LEASE_S + 60)
                leading = await took_over
            finally:
                took_over.cancel()
    if stats["first"] < killed:
        raise RuntimeError("failover: the leader sent the announcement before it was killed")
    figures = {"pg_failover_s": stats["first"] - killed, "pg_takeover_s": leading - killed}
    log(
        f"failover: first send {figures['pg_failover_s']:.2f} s after the kill, survivor leads"
        f" after {figures['pg_takeover_s']:.2f} s"
    )
    return figures


async def _enqueue() -> dict[str, float]:
    async with pg.schema("bench_enqueue") as url:
        started = time.perf_counter()
        await seed.seed_members_pg(url, ENQUEUE_ROWS)
        seeding = time.perf_counter() - started
        log(f"seeded {seed.member_count(ENQUEUE_ROWS):,} members with COPY in {seeding:.1f} s")
        process = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "bench.enqueue_step", url, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError("enqueue step failed (its error is above)")
    step = json.loads(out)
    if step["rows"] != ENQUEUE_ROWS:
        raise RuntimeError(f"enqueued {step['rows']:,} deliveries, expected {ENQUEUE_ROWS:,}")
    log(f"enqueue: {step['rows']:,} rows in {step['seconds']:.2f} s")
    return {"pg_enqueue_1m_s": step["seconds"], "pg_seed_1m_s": seeding}


async def run() -> dict[str, float]:
    await pg.check()
    root = Path(tempfile.mkdtemp(prefix="khb-postgres-"))
    try:
        figures = await _enqueue()
        figures |= await _failover(root)
        limit = await _broadcast(root, RATE, RECIPIENTS)
        default = await _broadcast(root, DEFAULT_RATE, RECIPIENTS // 2)
        figures |= {
            "pg_broadcast_rate_ratio": limit["rate"] / RATE,
            "pg_broadcast_429_count": limit["rejected_429"],
            "pg_broadcast_second_share": limit["second_share"],
            "pg_broadcast_duplicates": limit["duplicates"],
            "pg_broadcast_at_default_msgs_per_s": default["rate"],
            "pg_broadcast_at_default_429_count": default["rejected_429"],
        }
        figures |= await _updates(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {key: figures[key] for key in (*GOALS, *HOW) if key in figures}
