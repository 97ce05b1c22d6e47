"""The Zalo OA channel end to end: the fake OA API and a webhook client that signs like Zalo."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app import App, Role
from bot.channels.zalo import PAYLOAD_MARK
from bot.records import AudienceFilter
from bot.store.db import to_db_time, utc_now
from fakes.bot_api import FakeBotAPI
from fakes.zalo_api import (
    FakeZaloOA,
    ZaloWebhookClient,
    echo_event,
    follow_event,
    receipt_event,
    text_event,
    unfollow_event,
)
from tests.outreach.conftest import FAST, seed, wait_done
from tests.shared import shared_catalog

APP_ID, OA_ID = "1234567890", "5550001"


class ZaloMember:
    """A household on Zalo: sends signed events, reads what the OA sent back."""

    def __init__(self, zalo, fake: FakeZaloOA, hook: ZaloWebhookClient, user_id: str) -> None:
        self.zalo, self.fake, self.hook, self.user_id = zalo, fake, hook, user_id

    async def _post(self, event: dict) -> None:
        assert await self.hook.post(event) == 200
        await self.zalo.drain()

    async def follow(self) -> None:
        await self._post(follow_event(APP_ID, OA_ID, self.user_id))

    async def say(self, text: str, **extra) -> None:
        await self._post(text_event(APP_ID, OA_ID, self.user_id, text, **extra))

    def last(self) -> dict:
        return self.fake.messages_to(self.user_id)[-1]["message"]

    def text(self) -> str:
        return self.last()["text"]

    def buttons(self) -> dict[str, str]:
        for sent in reversed(self.fake.messages_to(self.user_id)):
            attachment = sent["message"].get("attachment") or {}
            buttons = (attachment.get("payload") or {}).get("buttons")
            if buttons:
                return {b["title"]: b["payload"] for b in buttons if isinstance(b["payload"], str)}
        return {}

    async def press(self, title: str) -> None:
        payload = self.buttons()[title]
        assert payload.startswith(PAYLOAD_MARK)
        await self.say(payload)


@contextlib.asynccontextmanager
async def zalo_bot(settings, **changes):
    """A running bot (Role.BOT) with the Zalo OA channel against the fake OA: (app, zalo channel,
    fake, webhook client)."""
    async with FakeZaloOA(app_id=APP_ID, oa_id=OA_ID) as fake:
        settings = replace(
            settings,
            zalo_app_id=APP_ID,
            zalo_app_secret="app-secret",
            zalo_oa_secret_key="oa-secret-key",
            zalo_access_token="AT-1",
            zalo_refresh_token="RT-1",
            zalo_api_url=fake.api_url,
            zalo_oauth_url=fake.oauth_url,
            broadcast_rate=200.0,
            http_port=0,
            **changes,
        )
        app = await App.create(
            settings, Role.BOT, clock=utc_now, tuning=FAST, catalog=shared_catalog()
        )
        await app.start()
        hook = ZaloWebhookClient(f"http://127.0.0.1:{app.web.port}/zalo", APP_ID, "oa-secret-key")
        try:
            yield app, app.channels["zalo"], fake, hook
        finally:
            await hook.close()
            await app.close()


@pytest.fixture
async def zalo_env(settings):
    async with zalo_bot(settings) as env:
        yield env


async def test_follow_onboard_and_self_assess_with_buttons(zalo_env):
    app, zalo, fake, hook = zalo_env
    lan = ZaloMember(zalo, fake, hook, "900001")
    await lan.follow()
    assert "Kính chào Anh/Chị!" in lan.text() and "<b>" not in lan.text()
    await lan.press("Tiếng Việt")
    await lan.press("Đồng ý")
    await lan.press("Hộ gia đình")
    await lan.say("ninh kieu")
    await lan.press("phường Ninh Kiều")
    user = await app.store.users.find("zalo", "900001")
    assert (user.role, user.area_code, user.consented) == ("ho-gia-dinh", "31135", True)
    assert len(lan.buttons()) <= 5  # the menu has more sections: the rest are a "more" page
    assert "Xem thêm ›" in lan.buttons()
    await lan.say("/assess")
    await lan.press("Gia đình học tập")
    await lan.press("Bắt đầu")
    for _ in range(9):
        options = [t for t in lan.buttons() if t not in ("‹ Câu trước", "Dừng, hủy bài")]
        await lan.press(options[0])
    assert "đáp ứng đủ 4/4 tiêu chí" in lan.text()
    assert all(len(m["message"]["text"]) <= 2000 for m in fake.messages_to("900001"))


async def test_buttons_off_means_numbered_choices(zalo_env):
    app, zalo, fake, hook = zalo_env
    zalo.buttons = False
    minh = ZaloMember(zalo, fake, hook, "900002")
    await minh.follow()
    assert "1. Tiếng Việt" in minh.text() and "2. English" in minh.text()
    assert "attachment" not in minh.last()
    await minh.say("1")
    assert "1. Đồng ý" in minh.text() and "2. Không đồng ý" in minh.text()
    await minh.say("1")
    await minh.say("2")  # Hộ gia đình
    user = await app.store.users.find("zalo", "900002")
    assert user.consented and user.role == "ho-gia-dinh"


async def test_two_expired_sends_refresh_once(zalo_env):
    app, zalo, fake, hook = zalo_env
    a, b = ZaloMember(zalo, fake, hook, "900003"), ZaloMember(zalo, fake, hook, "900004")
    await a.follow()
    await b.follow()
    fake.expire_token()
    fake.response_delay = 0.05  # the two refreshes would overlap without the lock
    await asyncio.gather(a.say("/help"), b.say("/help"))
    assert fake.refreshes == 1
    assert "Hướng dẫn" in a.text() and "Hướng dẫn" in b.text()
    assert await app.store.meta.get("zalo_refresh_token") == fake.refresh_token != "RT-1"


async def test_bad_signature_repeats_and_echoes(zalo_env):
    app, zalo, fake, hook = zalo_env
    event = text_event(APP_ID, OA_ID, "900005", "/start")
    assert await hook.post(event, signature="mac=bad") == 401
    assert await hook.post(event, signature="") == 401
    await zalo.drain()
    assert await app.store.users.find("zalo", "900005") is None
    assert fake.messages_to("900005") == []

    same = text_event(APP_ID, OA_ID, "900005", "/help", msg_id="m-1")
    for _ in range(3):  # Zalo retries: handled once
        assert await hook.post(same) == 200
    await zalo.drain()
    assert len(fake.messages_to("900005")) == 1

    for ignored in (echo_event(APP_ID, OA_ID, "900005"), receipt_event(APP_ID, OA_ID, "900005")):
        assert await hook.post(ignored) == 200
    await zalo.drain()
    assert len(fake.messages_to("900005")) == 1

    await ZaloMember(zalo, fake, hook, "900005")._post(unfollow_event(APP_ID, OA_ID, "900005"))
    assert await app.store.users.find("zalo", "900005") is None  # never agreed: nothing kept


async def test_broadcast_to_mixed_audience_skips_zalo_members_silent_for_7_days(settings):
    async with (
        FakeBotAPI() as telegram,
        zalo_bot(
            settings, telegram_bot_token=telegram.token, telegram_api_url=telegram.base_url
        ) as (app, zalo, fake, hook),
    ):
        await _mixed_audience(app, zalo, fake, hook, telegram)


async def _mixed_audience(app, zalo, fake, hook, telegram) -> None:
    telegram_members = await seed(app, 3)
    recent = ZaloMember(zalo, fake, hook, "900006")
    silent = ZaloMember(zalo, fake, hook, "900007")
    for member in (recent, silent):
        await member.follow()
        await member.press("Tiếng Việt")
        await member.press("Đồng ý")
    old = to_db_time(app.services.clock() - timedelta(days=8))
    await app.store.db.execute(
        "UPDATE users SET last_seen_at = ? WHERE external_id = ?", (old, "900007")
    )

    announcement = await app.outreach.announce("cli", "<b>Họp</b> chi hội", AudienceFilter())
    await wait_done(app, announcement.id)
    for member in telegram_members:
        assert [m.visible_text() for m in telegram.messages(int(member.chat_id))] == ["Họp chi hội"]
    assert recent.text() == "Họp chi hội"  # plain text on Zalo
    assert all(m["message"]["text"] != "Họp chi hội" for m in fake.messages_to("900007"))
    counts = await app.store.announcements.counts(announcement.id)
    assert (counts["sent"], counts["skipped"]) == (4, 1)
    assert await app.store.announcements.outside_window(announcement.id) == 1
    done = await app.store.announcements.get(announcement.id)
    text = app.outreach.report_text(done, counts, "vi", final=True, outside_window=1)
    assert "1 thành viên Zalo chưa nhắn cho Hội trong 7 ngày" in text


async def test_stale_events_replayed_follows_and_per_member_locks(zalo_env):
    _, zalo, fake, hook = zalo_env
    member = ZaloMember(zalo, fake, hook, "900009")
    year_ago = int((time.time() - 400 * 86400) * 1000)
    replayed = text_event(APP_ID, OA_ID, "900009", "/help", timestamp_ms=year_ago)
    assert await hook.post(replayed) == 200  # signed, but a year old: ignored
    ahead = text_event(APP_ID, OA_ID, "900009", "/help", timestamp_ms=year_ago * 2)
    assert await hook.post(ahead) == 200
    await zalo.drain()
    assert fake.messages_to("900009") == []

    follow = follow_event(APP_ID, OA_ID, "900009")
    await member._post(follow)
    await member._post(follow)  # Zalo delivers it again
    assert len(fake.messages_to("900009")) == 1  # one welcome
    assert zalo._locks == {}  # no lock kept for a member not writing right now
