"""The staff console's sign-in, sessions and permissions over HTTP (no browser needed): links that
work once and expire, the cookie's attributes, a role taken away, editors' limits, rate limits."""

from __future__ import annotations

import re

import pytest

from bot.records import AudienceFilter
from bot.services.console import LOGIN_ATTEMPTS
from bot.web.console.site import COOKIE
from tests.handlers.test_admin import staff
from tests.outreach.conftest import seed
from tests.web.conftest import BASE, csrf_of, link_of, signed_in


async def test_without_public_base_url_console_says_how_to_set_it(app):
    admin = await staff(app, "999", None)
    await admin.command("/console")
    assert "PUBLIC_BASE_URL" in admin.text
    assert "/console/login" not in admin.text


async def test_a_link_works_once_within_ten_minutes_and_sets_a_strict_cookie(
    console_app, client, clock
):
    admin = await staff(console_app, "999", None)
    token = await link_of(admin)
    assert f"{BASE}/console/login?t={token}" in admin.text
    assert (await client.get(f"/console/login?t={token}")).status == 200  # opening uses nothing
    answer = await client.post("/console/login", data={"t": token}, allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/console"
    cookie = answer.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/console", "Max-Age=43200"):
        assert attribute in cookie, cookie
    secret = answer.cookies[COOKIE].value
    assert secret not in str(await console_app.store.db.fetchall("SELECT * FROM console_sessions"))
    again = await client.post("/console/login", data={"t": token}, allow_redirects=False)
    assert again.status == 403

    late = await link_of(admin)
    clock.advance(minutes=11)
    assert (await client.get(f"/console/login?t={late}")).status == 403
    assert (await client.post("/console/login", data={"t": late})).status == 403


async def test_a_session_lasts_its_hours_and_a_revoked_role_ends_it(console_app, client, clock):
    await staff(console_app, "999", None)
    editor = await staff(console_app, "3003", "editor")
    secret = await signed_in(client, editor)
    client.session.cookie_jar.clear()
    cookies = {COOKIE: secret}
    assert (await client.get("/console", cookies=cookies)).status == 200
    clock.advance(hours=11)
    assert (await client.get("/console", cookies=cookies)).status == 200
    user = await editor.user()
    await console_app.services.staff.revoke(user, "telegram:999")
    assert (await client.get("/console", cookies=cookies)).status == 401
    rows = await console_app.store.db.fetchall("SELECT * FROM console_sessions")
    assert rows == []

    again = await staff(console_app, "3004", "admin")
    cookies = {COOKIE: await signed_in(client, again)}
    clock.advance(hours=12, seconds=1)
    assert (await client.get("/console", cookies=cookies)).status == 401


async def test_editors_see_pseudonyms_draft_only_and_no_audit_log(console_app, client):
    await staff(console_app, "999", None)
    editor = await staff(console_app, "3003", "editor")
    members = await seed(console_app, 2, start=6000)
    announcement = await console_app.outreach.announce("cli", "Tin", AudienceFilter())
    await console_app.store.announcements.start_sending(announcement, [], None)
    cookies = {COOKIE: await signed_in(client, editor)}
    client.session.cookie_jar.clear()

    page = await (
        await client.get(f"/console/announcements/{announcement.id}", cookies=cookies)
    ).text()
    assert members[0].display_name not in page  # "M6000": editors see pseudonyms
    assert "mã ẩn danh" in page
    assert (await client.get("/console/audit", cookies=cookies)).status == 403
    csrf = csrf_of(page)
    refused = await client.post(
        f"/console/announcements/{announcement.id}/cancel", data={"csrf": csrf}, cookies=cookies
    )
    assert refused.status == 403
    assert (await console_app.outreach.get(announcement.id)).status == "sending"

    created = await client.post(
        "/console/announcements/new",
        data={"csrf": csrf, "text": "Họp <chi hội>", "area": "31135"},
        cookies=cookies,
        allow_redirects=False,
    )
    assert created.status == 303
    draft_id = int(re.search(r"/announcements/(\d+)", created.headers["Location"]).group(1))
    draft = await console_app.outreach.get(draft_id)
    assert draft.status == "draft" and draft.text == "Họp &lt;chi hội&gt;"
    assert draft.audience.areas == ("31135",)


async def test_failed_sign_in_attempts_are_rate_limited(console_app, client):
    for _ in range(LOGIN_ATTEMPTS):
        assert (await client.post("/console/login", data={"t": "guess"})).status == 403
    assert (await client.post("/console/login", data={"t": "guess"})).status == 429


def test_public_base_url_is_checked_and_session_hours_read(tmp_path):
    from bot.config import ConfigError, Settings

    settings = Settings.from_mapping(
        {"PUBLIC_BASE_URL": "https://hoi.example/", "CONSOLE_SESSION_HOURS": "8"}, home=tmp_path
    )
    assert settings.public_base_url == "https://hoi.example"
    assert settings.console_session_hours == 8
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        Settings.from_mapping({"PUBLIC_BASE_URL": "hoi.example"}, home=tmp_path)
    with pytest.raises(ConfigError, match="CONSOLE_SESSION_HOURS"):
        Settings.from_mapping({"CONSOLE_SESSION_HOURS": "0"}, home=tmp_path)


async def test_pages_speak_the_staff_members_language(console_app, client):
    admin = await staff(console_app, "999", None)
    await console_app.store.users.update((await admin.user()).id, locale="en")  # chose English
    cookies = {COOKIE: await signed_in(client, admin)}
    client.session.cookie_jar.clear()
    page = await (await client.get("/console", cookies=cookies)).text()
    assert "Overview" in page and "Sign out" in page and 'lang="en"' in page
    assert "Tổng quan" not in page


async def test_staff_sign_in_freely_from_one_address(console_app, client):
    admin = await staff(console_app, "999", None)
    for _ in range(LOGIN_ATTEMPTS + 2):  # all behind one proxy: successes are not counted
        await signed_in(client, admin)


async def test_every_page_answers_a_super_admin(console_app, client):
    admin = await staff(console_app, "999", None)
    cookies = {COOKIE: await signed_in(client, admin)}
    client.session.cookie_jar.clear()
    for path in (
        "/console",
        "/console/announcements",
        "/console/announcements/new",
        "/console/questions",
        "/console/events",
        "/console/audit",
        "/console/static/console.css",
        "/console/static/console.js",
    ):
        answer = await client.get(path, cookies=cookies)
        assert answer.status == 200, path
    audit = await (await client.get("/console/audit", cookies=cookies)).text()
    assert "console_login" in audit
    assert (await client.get("/console/static/secrets.txt", cookies=cookies)).status == 404
    weekly = await client.get("/console/charts/weekly.png", cookies=cookies)
    assert weekly.status == 404  # no assessment yet, no chart
    count = await client.get("/console/announcements/audience?area=31135", cookies=cookies)
    assert (await count.json())["count"] == 1  # the admin, who lives in Ninh Kiều


def test_each_failure_has_its_reason():
    from bot.services.outreach.funnel import funnel, reason_of

    assert reason_of("blocked", "Forbidden: bot was blocked by the user") == "blocked"
    assert reason_of("failed", "Chat not found") == "not_found"
    assert reason_of("skipped", "outside_window: zalo -213: user not followed") == "outside_window"
    assert reason_of("failed", "zalo -1: daily quota exceeded") == "quota"
    assert reason_of("failed", "Bad Request: message is too long") == "error"
    assert reason_of("skipped", "expired after: channel down") == "skipped"
    assert reason_of("sending", None) == "pending"
    # Rows pruned: only the totals are left, a failure is "error".
    pruned = funnel([], {"sent": 5, "failed": 2, "pending": 0}, 7)
    assert (pruned.recipients, pruned.stage("sent"), pruned.failed) == (7, 5, 2)
    assert pruned.by_reason["error"] == 2
