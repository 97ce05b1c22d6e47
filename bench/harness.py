"""What the process-level benchmarks share: quick mode, the fake server process and its control
channel, starting the bot (or a peer bot) as a process, reading a process's CPU time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchUnavailable(RuntimeError):
    """What a module needs is not there (a server that does not answer, a missing package): the
    runner prints this one line for the module and reports none of its figures."""


def quick() -> bool:
    """`python -m bench --quick` (or BENCH_QUICK=1): small sizes, for a smoke run."""
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")


def mode_args() -> str:
    return " --quick" if quick() else ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (and its reaped children), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" field 3 is index 0: utime is field 14, stime 15, cutime 16, cstime 17.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / CLK_TCK


def log(message: str) -> None:
    print(f"    {message}", file=sys.stderr, flush=True)


class FakeServer:
    """`python -m bench.fake_server` as a child process, spoken to over stdin/stdout."""

    def __init__(
        self, process: asyncio.subprocess.Process, hello: dict, stderr_path: Path | None = None
    ) -> None:
        self.process = process
        self.stderr_path = stderr_path
        # The Bot API fake's base URL, or the Zalo Bot Platform fake's (bench.zalobot_server).
        self.base_url: str = hello.get("base_url") or hello["api_url"]
        self.token: str = hello["token"]
        self.pid: int = hello["pid"]
        # aiogram wants the server root; the fake serves /bot<token>/<method> under it.
        self.root_url = self.base_url.removesuffix("/bot")

    async def call(self, op: str, **params: Any) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps({"op": op, **params}) + "\n").encode())
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            tail = ""
            if self.stderr_path is not None and self.stderr_path.is_file():
                tail = "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"fake server died during {op!r}:\n{tail}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"fake server: {op}: {answer['error']}")
        return answer

    def cpu(self) -> float:
        return cpu_seconds(self.pid)


@contextlib.asynccontextmanager
async def fake_server(
    *,
    global_rate: float | None = None,
    per_chat_rate: float | None = None,
    response_delay: float = 0.0,
    stderr_path: Path | None = None,
    module: str = "bench.fake_server",
) -> AsyncIterator[FakeServer]:
    args = [PYTHON, "-m", module]
    if module == "bench.fake_server":
        args += ["--response-delay", str(response_delay)]
    if global_rate:
        args += ["--global-rate", str(global_rate)]
    if per_chat_rate:
        args += ["--per-chat-rate", str(per_chat_rate)]
    stderr = _open_log(stderr_path) if stderr_path else asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        limit=2**20,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if not line:
            raise RuntimeError("fake server did not start")
        server = FakeServer(process, json.loads(line), stderr_path)
        yield server
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.call("quit"), 10)
    finally:
        await stop_process(process)
        if stderr_path:
            stderr.close()  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _open_log(path: Path) -> BinaryIO:
    return open(path, "wb")  # closed by the caller


def bot_env(fake: FakeServer, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of `python -m bot run` against the fake, its database in `folder`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "BROADCAST_", "PAID_", "ADMIN_", "DATABASE_"))
    }
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_PATH": str(folder / "bot.sqlite3"),
            "CONTENT_DIR": str(CONTENT),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            # The bot's own HTTP server (/healthz, /metrics): a free port, never a shared 8080.
            "WEBHOOK_PORT": str(free_port()),
        }
    )
    env.update(extra)
    return env


@dataclass
class Child:
    process: asyncio.subprocess.Process
    started: float  # monotonic, just before the exec
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stderr_tail(self, lines: int = 15) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def spawn(args: Sequence[str], env: dict[str, str], folder: Path, name: str) -> Child:
    """Start a child process; it runs in `folder` (so no `.env` of the project is read)."""
    stderr_path = folder / f"{name}.stderr"
    with _open_log(stderr_path) as stderr:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *args, cwd=folder, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
    return Child(process, started, stderr_path)


async def stop_process(process: asyncio.subprocess.Process, timeout: float = 30.0) -> int | None:
    """SIGTERM (a graceful stop), then SIGKILL if it does not end in time."""
    if process.returncode is not None:
        return process.returncode
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return await process.wait()


async def wait_ready(fake: FakeServer, child: Child, timeout: float = 60.0) -> float:
    """Until the child's first getUpdates reached the fake; returns that moment (monotonic)."""
    ready = asyncio.ensure_future(fake.call("ready", timeout=timeout))
    died = asyncio.ensure_future(child.process.wait())
    done, _ = await asyncio.wait({ready, died}, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        raise RuntimeError(f"bot exited before polling:\n{child.stderr_tail()}")
    died.cancel()
    try:
        return float(ready.result()["t"])
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}; the bot's stderr:\n{child.stderr_tail()}") from None
