"""One announcement to everyone on a seeded database, in a process of its own so that its peak
resident memory is the step's: `Announcements.start_sending` selects the audience and writes one
delivery row per recipient.

    python -m bench.enqueue_step DB   ->  {"seconds": ..., "peak_mb": ..., "rows": ..., ...}
    python -m bench.enqueue_step postgresql://...?search_path=S   (the same on PostgreSQL)

The peak is the kernel's high-water mark of resident memory (VmHWM), reset just before the step
(`/proc/self/clear_refs` = 5) so imports and start-up do not count; where the reset is refused,
the process's lifetime peak (ru_maxrss) is reported instead, which can only be higher.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

from bot.records import SCHEDULED, AudienceFilter
from bot.store import Store
from bot.store.db import is_url


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def main(target: Path | str) -> dict:
    store = await Store.open(target)
    try:
        announcement = await store.announcements.create(
            created_by="bench", text="Thông báo", audience=AudienceFilter(), status=SCHEDULED
        )
        base = _status_mb("VmRSS")
        reset = _reset_peak()
        started = time.perf_counter()
        rows = await store.announcements.start_sending(announcement, [], None, set())
        seconds = time.perf_counter() - started
        peak = (
            _status_mb("VmHWM")
            if reset
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
    finally:
        await store.close()
    return {"seconds": seconds, "peak_mb": peak, "base_mb": base, "rows": rows, "hwm_reset": reset}


if __name__ == "__main__":
    target = sys.argv[1]
    print(json.dumps(asyncio.run(main(target if is_url(target) else Path(target)))))
