"""Inbound updates per second through the real Telegram channel (long polling), against two peer
echo bots on the same fake server in the same run, and the handler latency of that run.

Every bot runs as its own process against the fake Bot API in another process
(`bench.fake_server`), which also plays the members: each member waits for the bot's reply before
its next step, as a person would, and all members go at once. Our bot's members do the onboarding
(/start, consent, language, role, ward search text, pick the ward) and one self-assessment (/assess,
pick it, start, answer every question); each echo bot's members send the same number of messages,
waiting for each echo. The fake answers at once and enforces no limit (this measures processing,
not Telegram's pacing).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
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

MEMBERS = 50 if quick() else 500
ROUNDS = 1 if quick() else 2  # A B C, A B C: each bot's best round counts (the host is noisy)
SETTLE_S = 1.0  # after the first getUpdates, before the members start

GOALS = {
    "updates_per_s": "report",
    "vs_ptb_echo": ">= 1.5",
    "vs_aiogram_echo": ">= 0.8",
    "handler_p99_ms": "<= 20",
}
_cmd = f"`python -m bench bench_updates{mode_args()}`"
_who = f"{MEMBERS} members at once, each in order"
HOW = {
    "updates_per_s": f"bot process `python -m bench.bot_proc` (= `python -m bot run` + a timing"
    f" observer) polling the fake (own process, no limits, no delay); {_who}, onboarding + one"
    f" self-assessment (18 updates each); updates / wall time, best of {ROUNDS}; {_cmd}",
    "vs_ptb_echo": "updates_per_s / the same for bench/peers/ptb_echo.py (PTB defaults: httpx,"
    " sequential updates), same update count and pattern (send, wait for the echo), same run",
    "vs_aiogram_echo": "updates_per_s / the same for bench/peers/aiogram_echo.py (aiogram 3"
    " defaults: aiohttp, handle_as_tasks), same run",
    "handler_p99_ms": "99th percentile of Dispatcher.handle time (Dispatcher.observers hook) over"
    " every update of the updates_per_s run",
    "handler_p50_ms": "diagnostic: median of the same",
    "updates_reply_p99_ms": "diagnostic: 99th percentile, at the fake, from a member's update to"
    " the bot's first visible answer (queueing included: all members press at once)",
    "updates_api_calls_per_update": "diagnostic: Bot API calls the bot made per update, getUpdates"
    " included (the echo bots make one sendMessage per update, plus their getUpdates)",
    "updates_bot_cpu_ms_per_update": "diagnostic: bot process CPU (/proc) / updates, same run",
    "updates_bot_cpu_share": "diagnostic: bot process CPU / wall time (1.0 = one core busy)",
    "updates_fake_cpu_share": "diagnostic: fake server process CPU (members included) / wall time",
    "ptb_echo_updates_per_s": "diagnostic: the PTB echo bot's updates/s (best round)",
    "ptb_echo_fake_cpu_share": "diagnostic: fake server CPU / wall time in that run",
    "aiogram_echo_updates_per_s": "diagnostic: the aiogram echo bot's updates/s (best round)",
    "aiogram_echo_fake_cpu_share": "diagnostic: fake server CPU / wall time in that run",
    "aiogram_echo_api_calls_per_update": "diagnostic: the aiogram echo bot's Bot API calls per"
    " update, getUpdates included",
}


async def _round(kind: str, messages: int, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    async with fake_server(stderr_path=folder / "fake.stderr") as fake:
        env = bot_env(fake, folder, BENCH_HANDLER_TIMES=str(folder / "handler.json"))
        if kind == "khuyenhoc":
            args = [PYTHON, "-m", "bench.bot_proc"]
        elif kind == "ptb":
            args = [PYTHON, "-m", "bench.peers.ptb_echo"]
        else:
            env["TELEGRAM_API_ROOT"] = fake.root_url
            args = [PYTHON, "-m", "bench.peers.aiogram_echo"]
        child = await spawn(args, env, folder, kind)
        try:
            await wait_ready(fake, child)
            await asyncio.sleep(SETTLE_S)
            bot_cpu0, fake_cpu0 = child.cpu(), fake.cpu()
            calls0 = (await fake.call("stats"))["calls"]
            result = await fake.call(
                "drive",
                script="khuyenhoc" if kind == "khuyenhoc" else "echo",
                members=MEMBERS,
                messages=messages,
            )
            bot_cpu, fake_cpu = child.cpu() - bot_cpu0, fake.cpu() - fake_cpu0
            calls = (await fake.call("stats"))["calls"] - calls0
        finally:
            code = await stop_process(child.process)
        if result["errors"]:
            raise RuntimeError(
                f"{kind}: {result['errors']} members failed, e.g. {result['first_errors']}\n"
                f"{child.stderr_tail()}"
            )
        elapsed = result["elapsed"]
        figures = {
            "updates": result["updates"],
            "updates_per_s": result["updates"] / elapsed,
            "bot_cpu_ms_per_update": bot_cpu * 1000 / result["updates"],
            "bot_cpu_share": bot_cpu / elapsed,
            "fake_cpu_share": fake_cpu / elapsed,
            "reply_p99_ms": result["reply_p99_ms"],
            "api_calls_per_update": calls / result["updates"],
        }
        if kind == "khuyenhoc":
            if code != 0:
                raise RuntimeError(f"bot did not stop cleanly ({code}):\n{child.stderr_tail()}")
            timing = json.loads((folder / "handler.json").read_text())
            samples = sorted(timing["seconds"])
            if timing["failed"]:
                raise RuntimeError(f"{timing['failed']} updates failed in handlers")
            figures["handled"] = len(samples)
            figures["handler_p50_ms"] = samples[len(samples) // 2] * 1000
            figures["handler_p99_ms"] = (
                samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
            )
        log(
            f"{kind:9} {figures['updates_per_s']:7.1f} updates/s  bot CPU"
            f" {figures['bot_cpu_ms_per_update']:.2f} ms/update ({figures['bot_cpu_share']:.0%}"
            f" of a core)  fake {figures['fake_cpu_share']:.0%} of a core  reply p99"
            f" {figures['reply_p99_ms']:.0f} ms"
            + (
                f"  handler p99 {figures['handler_p99_ms']:.1f} ms"
                if "handler_p99_ms" in figures
                else ""
            )
        )
        return figures


async def run() -> dict[str, float]:
    if importlib.util.find_spec("aiogram") is None:
        raise RuntimeError(
            "the aiogram peer bot needs aiogram 3: .venv/bin/pip install 'aiogram>=3.20,<4'"
        )
    root = Path(tempfile.mkdtemp(prefix="khb-updates-"))
    best: dict[str, dict] = {}
    try:
        for n in range(ROUNDS):
            ours = await _round("khuyenhoc", 0, root / f"khuyenhoc-{n}")
            messages = ours["updates"] // MEMBERS  # the echo members send as many updates
            rounds = {"khuyenhoc": ours}
            for kind in ("ptb", "aiogram"):
                rounds[kind] = await _round(kind, messages, root / f"{kind}-{n}")
            for kind, figures in rounds.items():
                if kind not in best or figures["updates_per_s"] > best[kind]["updates_per_s"]:
                    best[kind] = figures
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ours, ptb, aiogram = best["khuyenhoc"], best["ptb"], best["aiogram"]
    return {
        "updates_per_s": ours["updates_per_s"],
        "vs_ptb_echo": ours["updates_per_s"] / ptb["updates_per_s"],
        "vs_aiogram_echo": ours["updates_per_s"] / aiogram["updates_per_s"],
        "handler_p99_ms": ours["handler_p99_ms"],
        "handler_p50_ms": ours["handler_p50_ms"],
        "updates_reply_p99_ms": ours["reply_p99_ms"],
        "updates_api_calls_per_update": ours["api_calls_per_update"],
        "updates_bot_cpu_ms_per_update": ours["bot_cpu_ms_per_update"],
        "updates_bot_cpu_share": ours["bot_cpu_share"],
        "updates_fake_cpu_share": ours["fake_cpu_share"],
        "ptb_echo_updates_per_s": ptb["updates_per_s"],
        "ptb_echo_fake_cpu_share": ptb["fake_cpu_share"],
        "aiogram_echo_updates_per_s": aiogram["updates_per_s"],
        "aiogram_echo_fake_cpu_share": aiogram["fake_cpu_share"],
        "aiogram_echo_api_calls_per_update": aiogram["api_calls_per_update"],
    }
