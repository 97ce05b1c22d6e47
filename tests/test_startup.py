"""`khuyenhoc run` as an operator meets it at start-up: a rejected token is one clear line and an
exit code systemd does not restart on; a network that is down is waited out; and no log line, at
any level, ever holds a secret."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp

from fakes.bot_api import FakeBotAPI, FakeUser
from fakes.zalo_api import FakeZaloOA, ZaloWebhookClient, text_event
from tests.conftest import CONTENT, free_port
from tests.helpers import khuyenhoc

EX_CONFIG = 78  # deploy/khuyenhoc.service: RestartPreventExitStatus=78


def environment(tmp_path, **settings: str) -> dict[str, str]:
    ours = ("TELEGRAM", "KHUYENHOC_", "DATABASE_PATH", "CONTENT_DIR", "WEBHOOK", "ZALO", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        CONTENT_DIR=str(CONTENT),
        WEBHOOK_PORT=str(free_port()),
    )
    env.update(settings)
    return env


async def start(env, tmp_path) -> asyncio.subprocess.Process:
    return await khuyenhoc("run", env=env, cwd=tmp_path)


async def stop(process) -> str:
    """SIGTERM, as systemd stops the unit; the rest of stderr."""
    try:
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 30)
        return rest.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def read_until(process, text: str, lines: list[str], timeout: float = 20) -> None:
    """Collect stderr lines until one holds `text`."""
    async with asyncio.timeout(timeout):
        while True:
            line = (await process.stderr.readline()).decode()
            assert line, f"the bot ended before saying {text!r}: {''.join(lines)}"
            lines.append(line)
            if text in line:
                return


async def test_a_rejected_token_is_one_masked_line_and_exit_78(tmp_path):
    async with FakeBotAPI() as fake:
        env = environment(
            tmp_path,
            TELEGRAM_BOT_TOKEN="123456:REVOKED-in-BotFather",
            TELEGRAM_API_URL=fake.base_url,
        )
        process = await start(env, tmp_path)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == EX_CONFIG, log
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "123456:***" in errors[0] and "rejected" in errors[0], log
    assert "REVOKED" not in log and "Traceback" not in log and "Unclosed" not in log


async def test_a_network_that_is_down_at_start_is_waited_out(tmp_path):
    nothing_listens = free_port()
    env = environment(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN",
        TELEGRAM_API_URL=f"http://127.0.0.1:{nothing_listens}/bot",
    )
    process = await start(env, tmp_path)
    lines: list[str] = []
    try:
        await read_until(process, "cannot reach the Bot API", lines)
        assert process.returncode is None  # still up, waiting to try again
    finally:
        rest = await stop(process)
    log = "".join(lines) + rest
    assert process.returncode == 0, log
    assert "retrying in" in log and "Traceback" not in log and "stopped" in log


ZALO = {
    "ZALO_APP_ID": "1234567890",
    "ZALO_APP_SECRET": "zalo-APP-secret",
    "ZALO_OA_SECRET_KEY": "zalo-OA-secret-key",
    "ZALO_ACCESS_TOKEN": "zalo-ACCESS-token-1",
    "ZALO_REFRESH_TOKEN": "zalo-REFRESH-token-1",
}


async def test_no_secret_in_any_log_line_at_debug(tmp_path):
    """A whole run at DEBUG with both messengers: registering the Telegram webhook (its secret
    goes to Telegram), an update carrying the secret header, a signed Zalo event answered after
    a token refresh, a stop. No configured secret appears anywhere in the log."""
    secret = "webhook-SECRET-value-42"
    async with (
        FakeBotAPI() as fake,
        FakeZaloOA(
            app_id=ZALO["ZALO_APP_ID"],
            app_secret=ZALO["ZALO_APP_SECRET"],
            oa_secret_key=ZALO["ZALO_OA_SECRET_KEY"],
            access_token=ZALO["ZALO_ACCESS_TOKEN"],
            refresh_token=ZALO["ZALO_REFRESH_TOKEN"],
        ) as zalo,
    ):
        port = free_port()
        env = environment(
            tmp_path,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_URL=fake.base_url,
            WEBHOOK_URL="https://bot.example.org/hook",
            WEBHOOK_SECRET=secret,
            WEBHOOK_PORT=str(port),
            LOG_LEVEL="DEBUG",
            ZALO_API_URL=zalo.api_url,
            ZALO_OAUTH_URL=zalo.oauth_url,
            **ZALO,
        )
        process = await start(env, tmp_path)
        lines: list[str] = []
        try:
            await read_until(process, "webhook mode", lines)
            assert fake.calls_to("setWebhook")[0]["secret_token"] == secret
            lan = FakeUser(id=1001, first_name="Lan")
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 1_790_000_000,
                    "text": "/start",
                    "chat": {"id": lan.id, "type": "private", "first_name": "Lan"},
                    "from": lan.to_json(),
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                },
            }
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{port}/hook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                ) as answer,
            ):
                assert answer.status == 200
            await fake.wait_for_messages(lan.id, 1, timeout=15)
            zalo.expire_token()  # the answer needs a refresh: a new pair, stored and used
            hook = ZaloWebhookClient(
                f"http://127.0.0.1:{port}/zalo", ZALO["ZALO_APP_ID"], ZALO["ZALO_OA_SECRET_KEY"]
            )
            try:
                event = text_event(ZALO["ZALO_APP_ID"], zalo.oa_id, "900001", "/start")
                assert await hook.post(event) == 200
            finally:
                await hook.close()
            await zalo.wait_for_messages("900001", 1, timeout=15)
            assert zalo.refreshes == 1
        finally:
            rest = await stop(process)
    log = "".join(lines) + rest
    assert process.returncode == 0, log
    assert "DEBUG" in log and "setWebhook" in log  # the run did log at DEBUG
    token_secret = fake.token.split(":", 1)[1]
    for leaked in (fake.token, token_secret, secret, *ZALO.values()):
        if leaked != ZALO["ZALO_APP_ID"]:  # an id, not a secret
            assert leaked not in log, f"{leaked!r} appears in the log"
