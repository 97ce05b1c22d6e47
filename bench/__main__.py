"""Run every `bench/bench_*.py` module, print its figures, write bench/results/latest.json.

    python -m bench                  every module, full sizes    -> results/latest.json
    python -m bench --quick          small sizes, a smoke run    -> results/latest-quick.json
    python -m bench bench_scale ...  only these modules (figures merged into that file)
    BENCH_QUICK=1 python -m bench    the same as --quick

Each module exposes `async def run() -> dict[str, float]`, and may say for each key its goal
(`GOALS`) and how it was measured (`HOW`, with the command to reproduce it). Keys with a goal are
the contract's figures; the others are diagnostics (CPU shares of the fake server and the bot,
figures of the peer bots, ...) that explain them. A module whose needs are not met (PostgreSQL
does not answer) raises `harness.BenchUnavailable`: one line, none of its figures, exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import pkgutil
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import bench
from bench.harness import BenchUnavailable

RESULTS = Path(__file__).parent / "results"


def _verdict(value: float, goal: str) -> str:
    match = re.fullmatch(r"\s*(<=|>=|==)\s*([\d.]+)\s*", goal)
    if match is None:
        return ""
    op, target = match[1], float(match[2])
    ok = {"<=": value <= target, ">=": value >= target, "==": value == target}[op]
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the benchmarks.")
    parser.add_argument("modules", nargs="*", help="bench_* modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        os.environ["BENCH_QUICK"] = "1"
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")

    available = sorted(m.name for m in pkgutil.iter_modules(bench.__path__))
    modules = [m for m in available if m.startswith("bench_")]
    if args.modules:
        unknown = [m for m in args.modules if m not in modules]
        if unknown:
            parser.error(f"unknown modules {unknown}; there are {modules}")
        modules = [m for m in modules if m in args.modules]

    figures: dict[str, float] = {}
    diagnostics: dict[str, float] = {}
    goals: dict[str, str] = {}
    how: dict[str, str] = {}
    seconds: dict[str, float] = {}
    not_run: list[str] = []
    started = time.perf_counter()
    for module in modules:
        print(f"== {module}", flush=True)
        loaded = importlib.import_module(f"bench.{module}")
        t0 = time.perf_counter()
        try:
            result = asyncio.run(loaded.run())
        except BenchUnavailable as exc:  # e.g. PostgreSQL does not answer: no figures, one line
            print(f"  NOT RUN: {exc}", flush=True)
            not_run.append(module)
            continue
        seconds[module] = time.perf_counter() - t0
        module_goals: dict[str, str] = getattr(loaded, "GOALS", {})
        module_how: dict[str, str] = getattr(loaded, "HOW", {})
        for key, value in result.items():
            goal = module_goals.get(key, "")
            mark = _verdict(value, goal) if goal else ""
            print(f"  {key:<32} {value:>12,.3f}  {goal:<8} {mark}")
            (figures if key in module_goals else diagnostics)[key] = value
        goals.update(module_goals)
        how.update({k: v for k, v in module_how.items() if k in result})
        print(f"  ({seconds[module]:.0f} s)", flush=True)
    total = time.perf_counter() - started

    print(f"\n{'key':<28} {'value':>12}  {'goal':<8} {'':6}  how measured")
    for key, value in {**figures, **diagnostics}.items():
        goal = goals.get(key, "")
        mark = _verdict(value, goal) if goal else ""
        print(f"{key:<28} {value:>12,.3f}  {goal:<8} {mark:<6}  {how.get(key, '')}")
    print(f"\nmode: {'quick' if quick else 'full'}; {total:.0f} s in all")
    if not_run:
        print(f"NOT RUN (see above): {', '.join(not_run)}")

    path = RESULTS / ("latest-quick.json" if quick else "latest.json")
    previous: dict = {}
    if args.modules and path.is_file():  # a partial run updates the figures it measured
        previous = json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "figures": {**previous.get("figures", {}), **figures},
                "diagnostics": {**previous.get("diagnostics", {}), **diagnostics},
                "goals": {**previous.get("goals", {}), **goals},
                "how": {**previous.get("how", {}), **how},
                "seconds": {**previous.get("seconds", {}), **seconds},
                "mode": "quick" if quick else "full",
                "machine": {
                    "python": sys.version.split()[0],
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                },
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written: {path}")
    return 1 if not_run else 0


if __name__ == "__main__":
    sys.exit(main())
