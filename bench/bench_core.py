"""How fast the conversation kernel alone handles members: dispatcher turns per second and handler
latency, with a real SQLite file (no network). The channel adds its own cost on top."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bot.app import App
from bot.config import Settings
from bot.core.messages import Inbound, Kind

MEMBERS = 300
ROOT = Path(__file__).resolve().parent.parent

GOALS = {
    "core_turns_per_s": "report",
    "core_cpu_ms_per_turn": "report",
    "core_handler_p50_ms": "report",
    "core_handler_p99_ms": "report",
}
_how = (
    f"in process, no network: App.dispatcher.handle for {MEMBERS} members x 8 turns one after"
    " another (onboarding + a plan), real SQLite file; `python -m bench bench_core`"
)
HOW = dict.fromkeys(GOALS, _how)


async def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_path=Path(folder) / "bench.sqlite3", content_dir=ROOT / "content"
        )
        app = await App.create(settings)
        try:
            latencies: list[float] = []
            started = time.perf_counter()
            cpu = time.process_time()
            for n in range(MEMBERS):
                uid = str(100_000 + n)
                turns = [
                    (Kind.COMMAND, "start", ""),
                    (Kind.ACTION, "", "consent:1"),
                    (Kind.ACTION, "", "lang:vi:o"),
                    (Kind.ACTION, "", "role:ho-gia-dinh:o"),
                    (Kind.TEXT, "", "ninh kieu"),
                    (Kind.ACTION, "", "area:31135:o"),
                    (Kind.COMMAND, "plans", ""),
                    (Kind.ACTION, "", "plan:qd-387-2022:main"),
                ]
                for kind, command, text in turns:
                    inbound = Inbound("bench", uid, kind, chat_id=uid, command=command, text=text)
                    t0 = time.perf_counter()
                    await app.dispatcher.handle(inbound)
                    latencies.append(time.perf_counter() - t0)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
        finally:
            await app.close()
    latencies.sort()
    return {
        "core_turns_per_s": len(latencies) / wall,
        "core_cpu_ms_per_turn": cpu * 1000 / len(latencies),
        "core_handler_p50_ms": latencies[len(latencies) // 2] * 1000,
        "core_handler_p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }
