"""Inbound updates per second through the Zalo Bot Platform channel (long polling, one update
per getUpdates, the bot's own sends echoed back and dropped), with the same members' work as
`updates_per_s`: onboarding and one self-assessment, by typed numbers (the platform has no
buttons). The bot is `python -m bench.bot_proc` with only ZALO_BOT_TOKEN set; the fake platform
runs in its own process (`bench.zalobot_server`) and plays the members.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

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

MEMBERS = 30 if quick() else 200
SETTLE_S = 1.0

GOALS = {"zalobot_updates_per_s": "report"}
HOW = {
    "zalobot_updates_per_s": f"bot process polling the fake Zalo Bot Platform (own process, one"
    f" update per poll, echoes of the bot's sends come back as updates); {MEMBERS} members at"
    " once, each in order: onboarding + one self-assessment by typed numbers (18 updates each);"
    f" members' updates / wall time; `python -m bench bench_zalobot{mode_args()}`",
    "zalobot_reply_p99_ms": "diagnostic: 99th percentile from a member's message to the bot's"
    " first answer, at the fake, same run",
    "zalobot_bot_cpu_ms_per_update": "diagnostic: bot process CPU / members' updates",
}


async def run() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="khb-zalobot-"))
    try:
        async with fake_server(
            stderr_path=folder / "fake.stderr", module="bench.zalobot_server"
        ) as fake:
            env = bot_env(
                fake,
                folder,
                ZALO_BOT_TOKEN=fake.token,
                ZALO_BOT_API_URL=fake.base_url,
                ZALO_BOT_RATE="30",
            )
            env.pop("TELEGRAM_BOT_TOKEN")  # this bot speaks Zalo only
            env.pop("TELEGRAM_API_URL")
            bot = await spawn([PYTHON, "-m", "bench.bot_proc"], env, folder, "zalobot")
            try:
                await wait_ready(fake, bot)
                await asyncio.sleep(SETTLE_S)
                cpu0 = bot.cpu()
                result = await fake.call("drive", members=MEMBERS)
                cpu = bot.cpu() - cpu0
            finally:
                await stop_process(bot.process)
        if result["errors"]:
            raise RuntimeError(
                f"zalobot: {result['errors']} members failed, e.g. {result['first_errors']}\n"
                f"{bot.stderr_tail()}"
            )
        rate = result["updates"] / result["elapsed"]
        log(f"zalobot: {rate:.0f} updates/s, reply p99 {result['reply_p99_ms']:.0f} ms")
        return {
            "zalobot_updates_per_s": rate,
            "zalobot_reply_p99_ms": result["reply_p99_ms"],
            "zalobot_bot_cpu_ms_per_update": cpu * 1000 / result["updates"],
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
