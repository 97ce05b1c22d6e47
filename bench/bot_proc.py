"""`khuyenhoc run` with handler timing: the same as `python -m bot run`, plus an observer on every
`Dispatcher` (the hook the bot offers for metrics) that records how long `Dispatcher.handle` took
for each update — update in, replies ready to hand to the channel. At exit the samples are written
to the file named by BENCH_HANDLER_TIMES (JSON: seconds, and the count of failed updates).

    BENCH_HANDLER_TIMES=/tmp/h.json python -m bench.bot_proc

The cost is one `perf_counter` difference and a list append per update.
"""

from __future__ import annotations

import json
import os
import sys

from bot.core import router

_samples: list[float] = []
_failed = [0]
_original_init = router.Dispatcher.__init__


def _observe(inbound: object, seconds: float, failed: bool) -> None:
    _samples.append(seconds)
    if failed:
        _failed[0] += 1


def _init(self: router.Dispatcher, *args: object, **kwargs: object) -> None:
    _original_init(self, *args, **kwargs)  # type: ignore[arg-type]
    self.observers.append(_observe)


def main() -> int:
    router.Dispatcher.__init__ = _init  # type: ignore[method-assign]
    from bot.cli import main as cli_main

    try:
        return cli_main(["run"])
    finally:
        path = os.environ.get("BENCH_HANDLER_TIMES")
        if path:
            with open(path, "w") as f:
                json.dump({"seconds": _samples, "failed": _failed[0]}, f)


if __name__ == "__main__":
    sys.exit(main())
