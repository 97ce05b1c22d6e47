"""Inbound updates per second through the real Telegram channel (long polling), against peer bots
on the same fake server in the same run, the handler latency of that run, and the latency a
member feels at half that load.

Every bot runs as its own process against the fake Bot API in another process
(`bench.fake_server`), which also plays the members: each member waits for the bot's reply before
its next step, as a person would, and all members go at once. Our bot's members do the onboarding
(/start, consent, language, role, ward search text, pick the ward) and one self-assessment (/assess,
pick it, start, answer every question); each echo bot's members send the same number of messages,
waiting for each echo. The "same calls" peers (bench/peers/replay.py) go through our members'
very script: they answer each step with the calls our bot made for it (recorded in the same run),
so they make as many calls per update as ours, with the same texts and keyboards. The fake
answers at once and enforces no limit (this measures processing, not Telegram's pacing).
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
ROUNDS = 1 if quick() else 3  # A B C D E, three times: rounds of one run differ by up to 17%
SETTLE_S = 1.0  # after the first getUpdates, before the members start

GOALS = {
    "updates_per_s": "report",
    "vs_ptb_echo": ">= 1.5",
    "vs_aiogram_echo": ">= 0.8",
    "handler_p99_ms": "<= 20",
    "vs_aiogram_same_calls": ">= 1.6",
    "vs_ptb_same_calls": ">= 3.2",
    "reply_p99_ms_at_half_load": "<= 50",
}
PEERS = {  # kind -> (module, the fake's member script)
    "ptb": ("bench.peers.ptb_echo", "echo"),
    "aiogram": ("bench.peers.aiogram_echo", "echo"),
    "ptb_same": ("bench.peers.ptb_same", "khuyenhoc"),
    "aiogram_same": ("bench.peers.aiogram_same", "khuyenhoc"),
}
RECORDED_MEMBER = 900_000  # walks the script alone before round 1 (untimed) for the transcript
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
    "vs_aiogram_same_calls": "median updates_per_s of our bot / median of bench/peers/"
    f"aiogram_same.py (aiogram 3 defaults, typed methods) over {ROUNDS} rounds of one run; the"
    " peer answers each of our members' steps with the calls our bot made for it (recorded in"
    " the same run: answerCallbackQuery, editMessageText, sendMessage with the same texts and"
    f" keyboards), no database; {_cmd}",
    "vs_ptb_same_calls": "the same with bench/peers/ptb_same.py (PTB defaults: httpx, updates one"
    " at a time, typed methods)",
    "reply_p99_ms_at_half_load": "99th percentile, at the fake, from a member's update to the"
    f" bot's first visible answer, {MEMBERS} members starting on a fixed schedule (open loop)"
    " that offers half of the median updates_per_s; each member waits for each answer",
    "aiogram_same_updates_per_s": "diagnostic: the aiogram same-calls bot's median updates/s",
    "ptb_same_updates_per_s": "diagnostic: the PTB same-calls bot's median updates/s",
    "aiogram_same_cpu_ms_per_update": "diagnostic: its process CPU per update (median round)",
    "ptb_same_cpu_ms_per_update": "diagnostic: its process CPU per update (median round)",
    "updates_per_s_median": "diagnostic: our bot's median updates/s over the same rounds",
    "aiogram_same_api_calls_per_update": "diagnostic: the aiogram same-calls bot's Bot API calls"
    " per update, getUpdates included (compare updates_api_calls_per_update)",
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


async def _round(
    kind: str,
    messages: int,
    folder: Path,
    *,
    transcript: Path,
    record: bool = False,
    spread_s: float = 0.0,
    database_url: str | None = None,
) -> dict:
    """One bot, one round; `record` first writes our bot's calls per step to `transcript`,
    `spread_s` starts the members on a schedule over that many seconds instead of all at once,
    `database_url` puts the bot on PostgreSQL (a fresh schema) instead of a SQLite file."""
    folder.mkdir(parents=True, exist_ok=True)
    async with fake_server(stderr_path=folder / "fake.stderr") as fake:
        env = bot_env(
            fake,
            folder,
            BENCH_HANDLER_TIMES=str(folder / "handler.json"),
            BENCH_TRANSCRIPT=str(transcript),
            TELEGRAM_API_ROOT=fake.root_url,  # aiogram's form of the server's address
            **({"DATABASE_URL": database_url} if database_url else {}),
        )
        module, script = PEERS.get(kind, ("bench.bot_proc", "khuyenhoc"))
        child = await spawn([PYTHON, "-m", module], env, folder, kind)
        try:
            await wait_ready(fake, child)
            await asyncio.sleep(SETTLE_S)
            if record:
                steps = (await fake.call("record", first_id=RECORDED_MEMBER))["steps"]
                transcript.write_text(json.dumps(steps, ensure_ascii=False))
            bot_cpu0, fake_cpu0 = child.cpu(), fake.cpu()
            calls0 = (await fake.call("stats"))["calls"]
            result = await fake.call(
                "drive", script=script, members=MEMBERS, messages=messages, spread_s=spread_s
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
    transcript = root / "transcript.json"
    rounds: dict[str, list[dict]] = {kind: [] for kind in ("khuyenhoc", *PEERS)}
    try:
        for n in range(ROUNDS):
            ours = await _round(
                "khuyenhoc", 0, root / f"khuyenhoc-{n}", transcript=transcript, record=n == 0
            )
            rounds["khuyenhoc"].append(ours)
            messages = ours["updates"] // MEMBERS  # the echo members send as many updates
            for kind in PEERS:
                rounds[kind].append(
                    await _round(kind, messages, root / f"{kind}-{n}", transcript=transcript)
                )
        median = {kind: _median_round(figures) for kind, figures in rounds.items()}
        # Half of our own median rate, offered on a schedule: each member's steps in turn.
        offered = median["khuyenhoc"]["updates_per_s"] / 2
        updates = median["khuyenhoc"]["updates"]
        half = await _round(
            "khuyenhoc",
            0,
            root / "khuyenhoc-half-load",
            transcript=transcript,
            spread_s=updates / offered,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    best = {
        kind: max(figures, key=lambda f: f["updates_per_s"]) for kind, figures in rounds.items()
    }
    ours, ptb, aiogram = best["khuyenhoc"], best["ptb"], best["aiogram"]
    return {
        "updates_per_s": ours["updates_per_s"],
        "vs_ptb_echo": ours["updates_per_s"] / ptb["updates_per_s"],
        "vs_aiogram_echo": ours["updates_per_s"] / aiogram["updates_per_s"],
        "handler_p99_ms": ours["handler_p99_ms"],
        "vs_aiogram_same_calls": median["khuyenhoc"]["updates_per_s"]
        / median["aiogram_same"]["updates_per_s"],
        "vs_ptb_same_calls": median["khuyenhoc"]["updates_per_s"]
        / median["ptb_same"]["updates_per_s"],
        "reply_p99_ms_at_half_load": half["reply_p99_ms"],
        "updates_per_s_median": median["khuyenhoc"]["updates_per_s"],
        "aiogram_same_updates_per_s": median["aiogram_same"]["updates_per_s"],
        "ptb_same_updates_per_s": median["ptb_same"]["updates_per_s"],
        "aiogram_same_cpu_ms_per_update": median["aiogram_same"]["bot_cpu_ms_per_update"],
        "ptb_same_cpu_ms_per_update": median["ptb_same"]["bot_cpu_ms_per_update"],
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
        "aiogram_same_api_calls_per_update": median["aiogram_same"]["api_calls_per_update"],
    }


def _median_round(figures: list[dict]) -> dict:
    """The round whose updates_per_s is the median (the lower middle for an even count)."""
    ordered = sorted(figures, key=lambda f: f["updates_per_s"])
    return ordered[(len(ordered) - 1) // 2]
