"""Bulk delivery under Telegram's limits: `khuyenhoc announce` to every member, sent by a running
`python -m bot run` through the durable outbox, against the fake Bot API in its own process
enforcing the limits (30/s overall, or 1,000/s with paid broadcasts; 1/s per chat) and answering
every call after a realistic round trip.

The rate is taken at the fake: accepted sends from the first to the last. The bot's CPU time is
read from /proc from just before the announcement is recorded until the database says it is done
(every delivery row written), so the outbox's own bookkeeping is included.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
import time
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

FREE_RATE = 30.0
PAID_RATE = 1000.0
FREE_RECIPIENTS = 1_000 if quick() else 10_000
PAID_RECIPIENTS = 2_000 if quick() else 20_000
# "A send to Telegram takes 100-300 ms from Vietnam" (ARCHITECTURE.md): the low end.
RTT_S = 0.1
SETTLE_S = 1.0
TEXT = "<b>Thông báo</b> của Hội Khuyến học: Tuần lễ hưởng ứng học tập suốt đời 1–7/10."

GOALS = {
    "broadcast_rate_ratio": ">= 0.95",
    "broadcast_429_count": "== 0",
    "paid_broadcast_msgs_per_s": ">= 900",
    "delivery_cpu_ms_per_msg": "<= 1.0",
}
_cmd = f"`python -m bench bench_broadcast{mode_args()}`"
_fake = f"fake in its own process, every answer after {RTT_S * 1000:.0f} ms"
HOW = {
    "broadcast_rate_ratio": f"`python -m bot run` (BROADCAST_RATE=30) + `python -m bot announce`"
    f" to {FREE_RECIPIENTS:,} seeded members; {_fake}, limits 30/s global, 1/s per chat;"
    f" (accepted sends - 1) / (last - first send) at the fake, / 30; {_cmd}",
    "broadcast_429_count": "429 answers the fake gave in that run",
    "paid_broadcast_msgs_per_s": f"same with PAID_BROADCAST=1 BROADCAST_RATE=1000, fake limit"
    f" 1,000/s, {PAID_RECIPIENTS:,} members; (sends - 1) / (last - first send)",
    "delivery_cpu_ms_per_msg": "bot process CPU (/proc/<pid>/stat utime+stime) from before"
    " `announce` until the DB marks the announcement done, / messages delivered; paid run",
    "broadcast_fake_cpu_share": "diagnostic: fake server process CPU / wall time, free run",
    "broadcast_cpu_ms_per_msg": "diagnostic: bot CPU per message as above, free run (30/s: idle"
    " polling and timers weigh more)",
    "paid_fake_cpu_share": "diagnostic: fake server process CPU / wall time, paid run",
    "paid_bot_cpu_share": "diagnostic: bot process CPU / wall time, paid run",
    "paid_429_count": "diagnostic: 429 answers in the paid run",
    "paid_rtt0_msgs_per_s": "diagnostic: the paid run again with the fake answering at once (no"
    " added delay): what the bot manages when the round trip does not limit it",
    "paid_rtt0_cpu_ms_per_msg": "diagnostic: bot CPU per message in that run",
    "paid_rtt0_bot_cpu_share": "diagnostic: bot process CPU / wall time in that run",
    "paid_rtt0_fake_cpu_share": "diagnostic: fake server process CPU / wall time in that run",
}


def _announcement_done(db: Path) -> tuple[bool, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "SELECT status, total FROM announcements ORDER BY id DESC LIMIT 1"
        ).fetchone()
        sent = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()[0]
    finally:
        conn.close()
    return (row is not None and row[0] == "done"), sent


async def _broadcast(name: str, recipients: int, rate: float, paid: bool, rtt: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"khb-{name}-"))
    try:
        db = folder / "bot.sqlite3"
        await seed.create(db)
        await asyncio.to_thread(seed.seed_members, db, recipients)
        text_file = folder / "announcement.html"
        text_file.write_text(TEXT, encoding="utf-8")
        async with fake_server(
            global_rate=rate,
            per_chat_rate=1.0,
            response_delay=rtt,
            stderr_path=folder / "fake.stderr",
        ) as fake:
            extra = {"BROADCAST_RATE": f"{rate:g}"}
            if paid:
                extra["PAID_BROADCAST"] = "1"
            env = bot_env(fake, folder, **extra)
            bot = await spawn([PYTHON, "-m", "bot", "run"], env, folder, "bot")
            try:
                await wait_ready(fake, bot)
                await asyncio.sleep(SETTLE_S)
                bot_cpu0, fake_cpu0, t0 = bot.cpu(), fake.cpu(), time.monotonic()
                announce = await spawn(
                    [PYTHON, "-m", "bot", "announce", "--text-file", str(text_file), "--yes"],
                    env,
                    folder,
                    "announce",
                )
                if await announce.process.wait() != 0:
                    raise RuntimeError(f"announce failed:\n{announce.stderr_tail()}")
                timeout = recipients / rate * 3 + 60
                stats = await fake.call("wait_sends", n=recipients, timeout=timeout)
                deadline = time.monotonic() + 60
                while True:
                    done, sent = await asyncio.to_thread(_announcement_done, db)
                    if done or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                bot_cpu, fake_cpu = bot.cpu() - bot_cpu0, fake.cpu() - fake_cpu0
                wall = time.monotonic() - t0
            finally:
                code = await stop_process(bot.process)
            if not done or sent != recipients:
                raise RuntimeError(f"{name}: announcement not done ({sent}/{recipients} sent)")
            if code != 0:
                raise RuntimeError(f"{name}: bot exit {code}:\n{bot.stderr_tail()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    span = stats["last"] - stats["first"]
    figures = {
        "rate": (stats["sends"] - 1) / span,
        "rejected_429": stats["rejected_429"],
        "cpu_ms_per_msg": bot_cpu * 1000 / sent,
        "bot_cpu_share": bot_cpu / wall,
        "fake_cpu_share": fake_cpu / wall,
    }
    log(
        f"{name}: {sent:,} sent at {figures['rate']:.1f}/s, {stats['rejected_429']} x 429, bot"
        f" {figures['cpu_ms_per_msg']:.2f} ms CPU/msg ({figures['bot_cpu_share']:.0%} of a core),"
        f" fake {figures['fake_cpu_share']:.0%} of a core, {wall:.0f} s"
    )
    return figures


async def run() -> dict[str, float]:
    free = await _broadcast("free", FREE_RECIPIENTS, FREE_RATE, paid=False, rtt=RTT_S)
    paid = await _broadcast("paid", PAID_RECIPIENTS, PAID_RATE, paid=True, rtt=RTT_S)
    local = await _broadcast("paid-rtt0", PAID_RECIPIENTS, PAID_RATE, paid=True, rtt=0.0)
    return {
        "broadcast_rate_ratio": free["rate"] / FREE_RATE,
        "broadcast_429_count": free["rejected_429"],
        "paid_broadcast_msgs_per_s": paid["rate"],
        "delivery_cpu_ms_per_msg": paid["cpu_ms_per_msg"],
        "broadcast_fake_cpu_share": free["fake_cpu_share"],
        "broadcast_cpu_ms_per_msg": free["cpu_ms_per_msg"],
        "paid_fake_cpu_share": paid["fake_cpu_share"],
        "paid_bot_cpu_share": paid["bot_cpu_share"],
        "paid_429_count": paid["rejected_429"],
        "paid_rtt0_msgs_per_s": local["rate"],
        "paid_rtt0_cpu_ms_per_msg": local["cpu_ms_per_msg"],
        "paid_rtt0_bot_cpu_share": local["bot_cpu_share"],
        "paid_rtt0_fake_cpu_share": local["fake_cpu_share"],
    }
