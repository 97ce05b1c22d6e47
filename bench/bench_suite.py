"""The test suite's wall time: `make test` without the install step (ruff, then pytest), run as
the Makefile runs it, from this checkout. Skipped in quick mode (it takes a minute or more)."""

from __future__ import annotations

import asyncio
import time

from bench.harness import PYTHON, ROOT, log, quick

GOALS = {"test_suite_s": "report"}
HOW = {
    "test_suite_s": "wall time of `ruff check .` + `python -m pytest` (what `make test` runs"
    " once installed), one run, on this machine; `python -m bench bench_suite`",
}


async def _run(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if await process.wait() != 0:
        raise RuntimeError(f"{' '.join(args)} failed: the suite must pass to be timed")


async def run() -> dict[str, float]:
    if quick():
        log("test suite: skipped in quick mode")
        return {}
    started = time.perf_counter()
    await _run(PYTHON, "-m", "ruff", "check", ".")
    await _run(PYTHON, "-m", "pytest", "-p", "no:cacheprovider")
    seconds = time.perf_counter() - started
    log(f"make test (without install): {seconds:.0f} s")
    return {"test_suite_s": seconds}
