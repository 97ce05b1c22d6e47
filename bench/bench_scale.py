"""A million members: enqueueing an announcement to all of them, and the /stats figures over a
million completed self-assessments, on a database seeded by `bench.seed` (deterministic)."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import seed
from bench.harness import CONTENT, PYTHON, ROOT, log, mode_args, quick
from bot.catalog import load_catalog
from bot.services.reports import ReportService
from bot.store import Store

ROWS = 100_000 if quick() else 1_000_000
STATS_REPEAT = 3

GOALS = {
    "enqueue_1m_s": "<= 20",
    "enqueue_1m_peak_mb": "<= 300",
    "stats_1m_s": "<= 2",
}
_size = f"{ROWS:,}" + (" (quick)" if quick() else "")
HOW = {
    "enqueue_1m_s": f"subprocess `python -m bench.enqueue_step DB`: wall time of"
    f" Announcements.start_sending (audience: everyone) on a DB seeded by bench.seed: {_size}"
    f" eligible members (+1/20 ineligible); `python -m bench bench_scale{mode_args()}`",
    "enqueue_1m_peak_mb": "same subprocess: VmHWM (peak RSS) reset via /proc/self/clear_refs just"
    " before start_sending, read after it (includes the interpreter and its imports)",
    "stats_1m_s": f"in process: ReportService.figures(now) over {_size} completed self-assessments"
    f" (+ the members above); median of {STATS_REPEAT}, each on a freshly opened Store",
    "seed_1m_s": f"diagnostic: bench.seed writing {_size} members (+1/20) and {_size} completed"
    " runs with executemany, one transaction each, into a DB made by Store.open's migrations",
}


async def run() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="khb-scale-"))
    try:
        db = folder / "seeded.sqlite3"
        started = time.perf_counter()
        await seed.create(db)
        await asyncio.to_thread(seed.seed_members, db, ROWS)
        await asyncio.to_thread(seed.seed_runs, db, ROWS, ROWS)
        seeding = time.perf_counter() - started
        log(f"seeded {ROWS:,} members and {ROWS:,} runs in {seeding:.1f} s")

        catalog = load_catalog(CONTENT)
        timings = []
        for _ in range(STATS_REPEAT):
            store = await Store.open(db)
            try:
                service = ReportService(store, catalog, ZoneInfo("Asia/Ho_Chi_Minh"))
                t0 = time.perf_counter()
                figures = await service.figures(seed.NOW)
                timings.append(time.perf_counter() - t0)
            finally:
                await store.close()
        taken = sum(t.taken for t in figures.titles)
        if taken != ROWS:
            raise AssertionError(f"figures count {taken} assessments, seeded {ROWS}")
        log(f"stats: {', '.join(f'{t:.3f}' for t in timings)} s")

        process = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "bench.enqueue_step",
            str(db),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError("enqueue step failed")
        step = json.loads(out)
        if step["rows"] != ROWS:
            raise AssertionError(f"enqueued {step['rows']} deliveries, expected {ROWS}")
        log(
            f"enqueue: {step['rows']:,} rows in {step['seconds']:.2f} s, peak {step['peak_mb']:.0f}"
            f" MB (before the step {step['base_mb']:.0f} MB)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "enqueue_1m_s": step["seconds"],
        "enqueue_1m_peak_mb": step["peak_mb"],
        "stats_1m_s": statistics.median(timings),
        "seed_1m_s": seeding,
    }
