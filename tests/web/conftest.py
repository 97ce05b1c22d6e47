"""What the console's HTTP tests share: an app with a public address, a test client serving the
console's routes, and signing a staff member in through the chat's /console link."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.web.console.site import COOKIE, ConsoleSite
from tests.helpers import Member

BASE = "https://hoi.example"


@pytest.fixture
async def console_app(settings, clock, catalog):
    application = await App.create(
        replace(settings, public_base_url=BASE, console_session_hours=12),
        clock=clock,
        catalog=catalog,
    )
    yield application
    await application.close()


@pytest.fixture
async def client(console_app):
    site = web.Application()
    for route in ConsoleSite(console_app.services, console_app.services.console).routes():
        site.router.add_route(route.method, route.path, route.handler)
    async with TestClient(TestServer(site)) as test_client:
        yield test_client


async def link_of(member: Member) -> str:
    await member.command("/console")
    found = re.search(r"/console/login\?t=(\S+)", member.text)
    assert found, member.text
    return found.group(1)


async def signed_in(client, member: Member) -> str:
    """Sign in with a fresh link; the session cookie's value."""
    token = await link_of(member)
    answer = await client.post("/console/login", data={"t": token}, allow_redirects=False)
    assert answer.status == 303
    return answer.cookies[COOKIE].value


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)
