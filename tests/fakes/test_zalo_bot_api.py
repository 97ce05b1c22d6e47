"""The fake Zalo Bot Platform behaves as the facts say (it is not Telegram)."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from fakes.zalo_bot_api import SECRET_HEADER, FakeZaloBot


async def call(fake: FakeZaloBot, method: str, token: str | None = None, **params):
    url = f"{fake.api_url}/bot{token or fake.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, json=params) as response:
        return response.status, await response.json()


async def test_one_update_per_poll_408_when_empty_and_no_offset():
    async with FakeZaloBot() as fake:
        fake.say("u1", "một")
        fake.say("u1", "hai")
        status, first = await call(fake, "getUpdates", timeout="1", offset=99)  # offset ignored
        assert status == 200 and first["ok"] and first["result"]["message"]["text"] == "một"
        assert isinstance(first["result"], dict)  # an object, not a list
        _, second = await call(fake, "getUpdates", timeout="1")
        assert second["result"]["message"]["text"] == "hai"
        _, empty = await call(fake, "getUpdates", timeout="0")  # consumed: nothing comes again
        assert empty == {"ok": False, "error_code": 408, "description": "Request timeout"}


async def test_sends_are_echoed_and_capped_at_2000_characters():
    async with FakeZaloBot() as fake:
        _, sent = await call(fake, "sendMessage", chat_id="u1", text="xin chào")
        assert sent["ok"] and len(sent["result"]["message_id"]) == 20
        assert sent["result"]["date"] > 10**12  # milliseconds
        _, echo = await call(fake, "getUpdates", timeout="1")
        assert echo["result"]["message"]["from"]["id"] == fake.bot_id
        status, refused = await call(fake, "sendMessage", chat_id="u1", text="a" * 2001)
        assert status == 200 and refused["error_code"] == 400 and not refused["ok"]
        assert fake.texts_to("u1") == ["xin chào"]


async def test_faults_revocation_and_webhooks_flat_or_wrapped():
    got: list[tuple[str, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((request.headers.get(SECRET_HEADER, ""), await request.json()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with FakeZaloBot() as fake:
            fake.fail_next(429, "quota", method="sendMessage")
            _, quota = await call(fake, "sendMessage", chat_id="u1", text="hi")
            assert quota["error_code"] == 429
            status, wrong = await call(fake, "getMe", token="1:wrong")
            assert (status, wrong["error_code"]) == (401, 401)
            _, short = await call(fake, "setWebhook", url="https://x", secret_token="short")
            assert short["error_code"] == 400
            _, ok = await call(
                fake, "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="12345678"
            )
            assert ok["ok"]
            _, busy = await call(fake, "getUpdates", timeout="0")
            assert busy["error_code"] == 400  # polling and a webhook exclude each other
            fake.say("u1", "phẳng")
            await fake.wait_for(lambda: len(got) == 1)
            fake.wrapped = True
            fake.say("u1", "bọc")
            await fake.wait_for(lambda: len(got) == 2)
            assert got[0][0] == "12345678" and got[0][1]["message"]["text"] == "phẳng"
            assert got[1][1]["ok"] and got[1][1]["result"]["message"]["text"] == "bọc"
            fake.revoke()
            status, revoked = await call(fake, "getMe")
            assert (status, revoked["ok"]) == (401, False)
    finally:
        await runner.cleanup()
