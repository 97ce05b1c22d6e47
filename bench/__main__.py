"""Run every `bench/bench_*.py` module, print its figures, write bench/results/latest.json."""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import bench

RESULTS = Path(__file__).parent / "results" / "latest.json"


def main() -> int:
    figures: dict[str, float] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__)):
        if not module.startswith("bench_"):
            continue
        print(f"== {module}", flush=True)
        result = asyncio.run(importlib.import_module(f"bench.{module}").run())
        for key, value in result.items():
            print(f"  {key:<32} {value:>12,.3f}")
        figures.update(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "figures": figures,
                "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
