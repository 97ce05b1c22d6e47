"""The staff console's dashboard (Tổng quan) over a city-sized database: server time per page.

A database of 1,000,000 members over the 103 wards/communes and 300,000 self-assessments
(bench/seed.py), the bot's own app and console pages (`bot.web.console.site.ConsoleSite`) served
over real HTTP on 127.0.0.1, a super admin signed in through a one-time link as in chat; the
dashboard is asked for several times and the median answer time counts (the first request,
which warms SQLite's page cache, is left out).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, CookieJar, web

from bench import seed
from bench.harness import CONTENT, log, mode_args, quick
from bot.app import App, Role
from bot.config import Settings
from bot.web.console.site import COOKIE, ConsoleSite

MEMBERS = 50_000 if quick() else 1_000_000
RUNS = 15_000 if quick() else 300_000
REQUESTS = 3 if quick() else 7
ADMIN = "5000000"  # the first seeded member's Telegram id (bench/seed.py)

GOALS = {"console_dashboard_ms": "<= 300"}
HOW = {
    "console_dashboard_ms": f"GET /console (Tổng quan) as a super admin, {MEMBERS:,} members in"
    f" 103 areas and {RUNS:,} self-assessments, the app's console pages over HTTP on 127.0.0.1;"
    f" median of {REQUESTS} after one warm-up (past 100,000 members the member counts are"
    f" recounted at most once a minute: the warm-up counts them); `python -m bench"
    f" bench_console{mode_args()}`",
    "console_dashboard_cold_ms": "diagnostic: the warm-up request, which counts the members",
}


async def _signed_in(app: App, session: ClientSession, base: str) -> None:
    admin = await app.store.users.find("telegram", ADMIN)
    assert admin is not None
    link = await app.services.console.login_link(admin)
    token = re.search(r"t=(\S+)", link)[1]
    answer = await session.post(f"{base}/console/login", data={"t": token}, allow_redirects=False)
    if answer.status != 303 or COOKIE not in answer.cookies:
        raise RuntimeError(f"sign-in failed: {answer.status}")


async def run() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="khb-console-"))
    try:
        database = folder / "bot.sqlite3"
        await seed.create(database)
        await asyncio.to_thread(seed.seed_members, database, MEMBERS)
        await asyncio.to_thread(seed.seed_runs, database, RUNS, MEMBERS)
        settings = Settings(
            database_path=database,
            content_dir=CONTENT,
            admin_ids=frozenset({int(ADMIN)}),
            public_base_url="http://127.0.0.1",
        )
        app = await App.create(settings, Role.COMMAND)
        site = web.Application()
        for route in ConsoleSite(app.services, app.services.console).routes():
            site.router.add_route(route.method, route.path, route.handler)
        runner = web.AppRunner(site)
        await runner.setup()
        server = web.TCPSite(runner, "127.0.0.1", 0)
        await server.start()
        port = server._server.sockets[0].getsockname()[1]  # the port the OS gave
        base = f"http://127.0.0.1:{port}"
        times = []
        try:
            # unsafe: keep cookies of an IP address (127.0.0.1), as a browser does
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
                await _signed_in(app, session, base)
                for n in range(REQUESTS + 1):
                    started = time.perf_counter()
                    answer = await session.get(f"{base}/console")
                    page = await answer.text()
                    if answer.status != 200 or "Tổng quan" not in page:
                        raise RuntimeError(f"dashboard answered {answer.status}")
                    if n:
                        times.append(time.perf_counter() - started)
                    else:  # the first one warms the page cache and counts the members
                        cold = time.perf_counter() - started
        finally:
            await runner.cleanup()
            await app.close()
        log("dashboard: " + ", ".join(f"{t * 1000:.0f}" for t in times) + " ms")
        return {
            "console_dashboard_ms": statistics.median(times) * 1000,
            "console_dashboard_cold_ms": cold * 1000,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
