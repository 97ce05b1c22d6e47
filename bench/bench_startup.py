"""Start-up: from the exec of `python -m bot run` to its first getUpdates call on the fake Bot API
(content loaded and checked, database opened and migrated, command menus set, polling started)."""

from __future__ import annotations

import shutil
import statistics
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

REPEAT = 1 if quick() else 5

GOALS = {"startup_s": "<= 2"}
HOW = {
    "startup_s": "monotonic time at the exec of `python -m bot run` (empty DB in a new temp dir,"
    " fake in its own process) to the first getUpdates the fake receives; median of"
    f" {REPEAT}; `python -m bench bench_startup{mode_args()}`",
}


async def run() -> dict[str, float]:
    times = []
    for n in range(REPEAT):
        folder = Path(tempfile.mkdtemp(prefix="khb-startup-"))
        try:
            async with fake_server(stderr_path=folder / "fake.stderr") as fake:
                bot = await spawn(
                    [PYTHON, "-m", "bot", "run"], bot_env(fake, folder), folder, f"bot{n}"
                )
                try:
                    first_poll = await wait_ready(fake, bot)
                finally:
                    await stop_process(bot.process)
                times.append(first_poll - bot.started)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    log("start-up: " + ", ".join(f"{t:.2f}" for t in times) + " s")
    return {"startup_s": statistics.median(times)}
