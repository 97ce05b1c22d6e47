"""The control channel of the benchmarks' fake servers (bench.fake_server, bench.zalobot_server):
one JSON command a line on stdin, one JSON answer a line on stdout, until {"op": "quit"} or the
end of stdin. The bench process (bench.harness.FakeServer) speaks the other end."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[str, dict], Awaitable[dict]]


async def answer_commands(
    hello: dict, handle: Handler, on_error: Callable[[], dict[str, Any]] = dict
) -> None:
    """Say `hello`, then answer each command with `await handle(op, command)`; a failure is
    answered {"error": ...} plus `on_error()` (what the server can tell about its state)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(data: dict) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    answer(hello)
    while line := await reader.readline():
        command = json.loads(line)
        op = command.get("op")
        if op == "quit":
            answer({"ok": True})
            return
        try:
            answer(await handle(op, command))
        except Exception as exc:
            answer({"error": f"{type(exc).__name__}: {exc}", **on_error()})
