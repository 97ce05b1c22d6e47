"""Launch day: a database of 100,000 members, then 5,000 new members each sending /start and
pressing through onboarding, arrivals spread over 60 s; the bot's memory after it; and a cold
start with that database while a member is already waiting.

The bot is `python -m bench.bot_proc` (= `python -m bot run`) polling the fake Bot API in its own
process, which plays the members (open loop: member n starts n * 60 / 5,000 s in, whatever the
bot's pace; each waits for every answer before the next step, as a person does).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from bench import seed
from bench.harness import (
    PYTHON,
    bot_env,
    fake_server,
    log,
    mode_args,
    quick,
    spawn,
    stop_process,
    wait_ready,
)

SEEDED = 10_000 if quick() else 100_000
NEW_MEMBERS = 300 if quick() else 5_000
SPREAD_S = 10.0 if quick() else 60.0
STEPS = 6  # /start, language, consent, role, ward search, pick the ward
WAITING_MEMBER = 4_242_424

GOALS = {
    "storm_100k": ">= 0.99",
    "rss_mb_100k_members": "<= 250",
    "cold_start_to_first_answer_s": "<= 2",
}
_cmd = f"`python -m bench bench_storm{mode_args()}`"
HOW = {
    "storm_100k": f"{SEEDED:,} members seeded (bench/seed.py), then {NEW_MEMBERS:,} new members"
    f" each do /start and onboarding ({STEPS} updates), arrivals spread evenly over {SPREAD_S:.0f}"
    f" s (open loop, {NEW_MEMBERS * STEPS / SPREAD_S:.0f} updates/s offered): the share of"
    f" members whose every answer came within 2 s, at the fake; {_cmd}",
    "rss_mb_100k_members": "VmRSS of the bot process (/proc) right after that storm",
    "cold_start_to_first_answer_s": f"a member's /start waiting at the fake; the exec of `python"
    f" -m bot run` with the {SEEDED:,}-member database → the bot's first answer at the fake",
    "storm_reply_p99_ms": "diagnostic: 99th percentile of every answer's latency in the storm",
    "storm_updates_per_s": "diagnostic: updates the storm's members sent / its wall time",
}


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _storm(database: Path, folder: Path) -> dict[str, float]:
    async with fake_server(stderr_path=folder / "fake.stderr") as fake:
        env = bot_env(fake, folder, DATABASE_PATH=str(database))
        bot = await spawn([PYTHON, "-m", "bench.bot_proc"], env, folder, "storm")
        try:
            await wait_ready(fake, bot)
            result = await fake.call(
                "drive", script="onboard", members=NEW_MEMBERS, spread_s=SPREAD_S
            )
            rss = _rss_mb(bot.pid)
        finally:
            await stop_process(bot.process)
    if result["errors"]:
        raise RuntimeError(f"storm: {result['errors']} members failed: {result['first_errors']}")
    log(
        f"storm: {result['members_within_2s']:.1%} of {NEW_MEMBERS} members always within 2 s,"
        f" reply p99 {result['reply_p99_ms']:.0f} ms, RSS {rss:.0f} MB"
    )
    return {
        "storm_100k": result["members_within_2s"],
        "rss_mb_100k_members": rss,
        "storm_reply_p99_ms": result["reply_p99_ms"],
        "storm_updates_per_s": result["updates"] / result["elapsed"],
    }


async def _cold_start(database: Path, folder: Path) -> float:
    async with fake_server(stderr_path=folder / "fake-cold.stderr") as fake:
        await fake.call("push_start", id=WAITING_MEMBER)
        env = bot_env(fake, folder, DATABASE_PATH=str(database))
        bot = await spawn([PYTHON, "-m", "bot", "run"], env, folder, "cold")
        try:
            answered = await fake.call("wait_reply", id=WAITING_MEMBER, timeout=60)
        finally:
            await stop_process(bot.process)
    seconds = float(answered["t"]) - bot.started
    log(f"cold start to the first answer: {seconds:.2f} s")
    return seconds


async def run() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="khb-storm-"))
    try:
        database = folder / "bot.sqlite3"
        await seed.create(database)
        await asyncio.to_thread(seed.seed_members, database, SEEDED)
        cold = folder / "cold.sqlite3"
        shutil.copyfile(database, cold)  # the same members, before the storm's newcomers
        figures = await _storm(database, folder)
        figures["cold_start_to_first_answer_s"] = await _cold_start(cold, folder)
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)
