"""The Zalo Bot Platform channel end to end, through the fake Bot Platform over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from dataclasses import replace

import aiohttp
import pytest

from bot.app import App, Role
from bot.channels.zalobot import TEXT_LIMIT, ZaloBotClient, ZaloBotError
from bot.core.channel import ChannelRefused
from bot.records import AudienceFilter
from bot.store.db import utc_now
from fakes.bot_api import FakeBotAPI, FakeUser
from fakes.zalo_bot_api import FakeZaloBot
from tests.channels.test_telegram import Phone
from tests.conftest import CONTENT, free_port
from tests.helpers import khuyenhoc
from tests.outreach.conftest import FAST, seed, wait_done
from tests.shared import shared_catalog

ADMIN = "ad0000000000000000a1"  # a super admin's Zalo Bot id (a 20-character hex string)


class ZaloBotMember:
    """Someone writing to the bot in the Zalo app: each message is answered before the next."""

    def __init__(self, env: ZaloBotEnv, user_id: str, name: str = "Lan") -> None:
        self.env, self.user_id, self.name = env, user_id, name

    async def say(self, text: str) -> list[str]:
        """Send `text`; the new messages the bot answered with."""
        return await self.env.answered(self.user_id, lambda: self.env.fake.say(self.user_id, text))

    async def send(self, kind: str) -> list[str]:
        fake = self.env.fake
        if kind == "unsupported":
            return await self.env.answered(
                self.user_id, lambda: fake.send_unsupported(self.user_id)
            )
        return await self.env.answered(self.user_id, lambda: fake.send_media(self.user_id, kind))

    def last(self) -> str:
        return self.env.fake.texts_to(self.user_id)[-1]

    def choice(self, label: str) -> str:
        """The number the last answer shows in front of `label`."""
        found = re.search(rf"^(\d+)\. {re.escape(label)}$", self.last(), re.MULTILINE)
        assert found, f"no choice {label!r} in {self.last()!r}"
        return found[1]

    async def choose(self, label: str) -> list[str]:
        return await self.say(self.choice(label))

    async def user(self):
        return await self.env.app.store.users.find("zalobot", self.user_id)


class ZaloBotEnv:
    def __init__(self, app: App, fake: FakeZaloBot) -> None:
        self.app, self.fake = app, fake
        self.channel = app.channels["zalobot"]

    def member(self, user_id: str, name: str = "Lan") -> ZaloBotMember:
        return ZaloBotMember(self, user_id, name)

    async def answered(self, chat_id: str, act) -> list[str]:
        before = len(self.fake.messages_to(chat_id))
        act()
        await self.fake.wait_for(lambda: len(self.fake.messages_to(chat_id)) > before)
        await self.channel.drain()  # the rest of that answer
        return self.fake.texts_to(chat_id)[before:]


@contextlib.asynccontextmanager
async def zalobot_app(settings, fake: FakeZaloBot, **changes):
    settings = replace(
        settings,
        zalo_bot_token=fake.token,
        zalo_bot_api_url=fake.api_url,
        broadcast_rate=200.0,
        zalo_bot_rate=200.0,
        chat_interval=0.01,
        **{"http_port": 0, **changes},
    )
    app = await App.create(
        settings,
        Role.BOT,
        clock=utc_now,
        tuning=FAST,
        catalog=shared_catalog(),
        extra_admins=[("zalobot", ADMIN)],
    )
    try:
        await app.start()
        yield ZaloBotEnv(app, fake)
    finally:
        await app.close()


@pytest.fixture
async def env(settings):
    async with FakeZaloBot() as fake, zalobot_app(settings, fake) as env:
        yield env


async def onboard(member: ZaloBotMember, area: str = "ninh kieu") -> None:
    answer = await member.say("Xin chào")
    assert "1. Tiếng Việt" in answer[-1]  # the language first, then the consent in it
    await member.choose("Tiếng Việt")
    await member.choose("Đồng ý")
    await member.choose("Hộ gia đình")
    await member.say(area)
    await member.choose("phường Ninh Kiều")


async def test_onboarding_by_numbers_and_a_full_self_assessment(env):
    lan = env.member("6ede0000000000000001")
    await onboard(lan)
    user = await lan.user()
    assert (user.role, user.area_code, user.consented) == ("ho-gia-dinh", "31135", True)
    assert "<b>" not in lan.last()  # plain text: the platform shows no markup

    await lan.say("/assess")
    await lan.choose("Gia đình học tập")
    await lan.choose("Bắt đầu")
    for _ in range(9):
        options = re.findall(r"^(\d+)\. (.+)$", lan.last(), re.MULTILINE)
        first = next(n for n, label in options if label not in ("‹ Câu trước", "Dừng, hủy bài"))
        await lan.say(first)
    assert "đáp ứng đủ 4/4 tiêu chí" in lan.last()
    runs = await env.app.store.assessments.history(user.id)
    assert runs[0].status == "completed"
    assert all(len(text) <= TEXT_LIMIT for text in env.fake.texts_to(lan.user_id))


async def test_echoes_and_repeated_messages_are_dropped(env):
    minh = env.member("6ede0000000000000002")
    await minh.say("/help")
    sent = len(env.fake.sent)
    repeated = env.fake.event(minh.user_id, text="/help")
    env.fake.push(repeated)
    env.fake.push(repeated)  # the same message_id again
    env.fake.say(minh.user_id, "/menu")  # polled after the two above
    await env.fake.wait_for(lambda: "Anh/Chị muốn xem gì?" in minh.last())
    await env.channel.drain()
    assert len(env.fake.sent) == sent + 2  # one answer to the repeated /help, one to /menu
    assert env.channel.counters()["repeats_dropped"] == 1
    # Every send came back as an echo from the bot itself: none was answered.
    assert env.channel.counters()["echoes_dropped"] >= 2
    assert env.fake.messages_to(env.fake.bot_id) == []
    assert await env.app.store.users.find("zalobot", env.fake.bot_id) is None


async def test_pictures_stickers_and_voice_get_a_friendly_answer(env):
    hoa = env.member("6ede0000000000000003")
    for kind in ("image", "sticker", "voice"):
        [answer, *_] = await hoa.send(kind)
        assert "Hội chưa đọc được ảnh, nhãn dán, tin thoại" in answer


async def test_a_withheld_message_opens_a_ticket_with_the_area(env):
    be = env.member("6ede0000000000000004")
    await onboard(be)
    [answer] = await be.send("unsupported")
    assert "cán bộ Hội sẽ liên hệ lại" in answer
    [ticket] = await env.app.services.inbox.open()
    assert ticket.user_id == (await be.user()).id and ticket.area_code == "31135"
    assert "Zalo không cho xem nội dung" in ticket.question

    stranger = env.member("6ede0000000000000005")
    await stranger.send("unsupported")  # never agreed: kept only so staff can answer
    assert len(await env.app.services.inbox.open()) == 2
    assert not (await stranger.user()).consented


async def test_long_text_is_cut_at_2000_characters_on_paragraphs(env):
    nam = env.member("6ede0000000000000006")
    await onboard(nam)
    paragraphs = [f"Đoạn {n}: " + ("học tập suốt đời " * 40).strip() for n in range(8)]
    before = len(env.fake.texts_to(nam.user_id))
    announcement = await env.app.outreach.announce(
        "cli", "\n\n".join(paragraphs), AudienceFilter(user_ids=((await nam.user()).id,))
    )
    await wait_done(env.app, announcement.id)
    pieces = env.fake.texts_to(nam.user_id)[before:]
    assert len(pieces) == 4  # two paragraphs (1,382 characters) in each
    assert all(len(piece) <= TEXT_LIMIT for piece in pieces)
    assert "\n\n".join(pieces) == "\n\n".join(paragraphs)
    assert all(piece.startswith("Đoạn") for piece in pieces)  # cut between paragraphs

    client = env.channel.client  # the platform itself refuses more than 2,000 characters
    with pytest.raises(ZaloBotError) as refused:
        await client.call("sendMessage", {"chat_id": nam.user_id, "text": "a" * 2001})
    assert refused.value.code == 400


async def test_a_broadcast_reaches_telegram_and_zalo_bot_members_once_each(settings):
    async with (
        FakeBotAPI() as telegram,
        FakeZaloBot() as fake,
        zalobot_app(
            settings, fake, telegram_bot_token=telegram.token, telegram_api_url=telegram.base_url
        ) as env,
    ):
        on_telegram = await seed(env.app, 2)
        on_zalo = [env.member(f"6ede00000000000001{n:02}") for n in range(3)]
        for member in on_zalo:
            await onboard(member)
        announcement = await env.app.outreach.announce(
            "cli", "<b>Họp</b> chi hội", AudienceFilter(), report_to=None
        )
        await wait_done(env.app, announcement.id)
        for member in on_telegram:
            texts = [m.visible_text() for m in telegram.messages(int(member.chat_id))]
            assert texts == ["Họp chi hội"]
        for member in on_zalo:
            assert env.fake.texts_to(member.user_id).count("Họp chi hội") == 1
        done = await env.app.outreach.get(announcement.id)
        report = await env.app.outreach.status_report(done, "vi")
        assert "Theo kênh: Telegram 2/2; Zalo Bot 3/3." in report


async def test_quota_pauses_the_outbox_and_tells_staff(env):
    an = env.member("6ede0000000000000007")
    await onboard(an)
    env.fake.fail_next(429, "quota exceeded", method="sendMessage")  # HTTP 200, ok:false
    announcement = await env.app.outreach.announce(
        "cli", "Thông báo", AudienceFilter(user_ids=((await an.user()).id,))
    )

    async def waiting() -> bool:
        row = await env.app.store.db.fetchone(
            "SELECT status, last_error FROM deliveries WHERE announcement_id = ?",
            (announcement.id,),
        )
        return row is not None and row["status"] == "pending" and row["last_error"] is not None

    await env.app.worker.until(waiting, 5)
    alerts = await env.app.store.announcements.listing(["scheduled", "sending", "done"])
    assert any("hết hạn mức gửi tin" in a.text for a in alerts)
    assert env.app.worker.channel_pacers["zalobot"]._paused_until > 0


async def test_a_revoked_token_stops_the_channel_and_turns_healthz_red(env):
    tu = env.member("6ede0000000000000008")
    await tu.say("/help")
    env.fake.revoke()
    env.fake.say(tu.user_id, "/menu")
    await env.fake.wait_for(lambda: not env.channel.health()["zalobot"])
    url = f"http://127.0.0.1:{env.app.web.port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 503
        assert (await response.json())["zalobot"] == "stopped"
    alerts = await env.app.store.announcements.listing(["scheduled", "sending", "done"])
    assert any("từ chối mã truy cập" in a.text for a in alerts)
    assert env.fake.token not in str(alerts)


async def test_a_rejected_token_at_start_is_refused_with_one_clear_line(settings):
    async with FakeZaloBot() as fake:
        fake.revoke()
        with pytest.raises(ChannelRefused) as refused:
            async with zalobot_app(settings, fake):
                pass
        assert "ZALO_BOT_TOKEN" in str(refused.value)
        assert fake.token.split(":")[1] not in str(refused.value)


async def test_webhook_takes_flat_and_wrapped_bodies_and_refuses_a_wrong_secret(settings):
    port = free_port()
    async with (
        FakeZaloBot() as fake,
        zalobot_app(
            settings,
            fake,
            http_port=port,
            zalo_bot_webhook_url="https://bot.example.org/zalobot-hook",
            zalo_bot_webhook_secret="s3cret-s3cret",
        ) as env,
    ):
        assert fake.webhook_secret == "s3cret-s3cret"
        fake.webhook_url = f"http://127.0.0.1:{port}/zalobot-hook"  # what the proxy forwards to
        lan = env.member("6ede0000000000000009")
        event = fake.event(lan.user_id, text="/start")
        for secret in ("wrong-secret", ""):
            assert await fake.post_to_webhook(event, secret=secret) == 403
        assert await lan.user() is None and fake.messages_to(lan.user_id) == []

        assert "1. Tiếng Việt" in (await lan.say("/start"))[0]  # flat, as real deliveries
        fake.wrapped = True  # {ok, result: {...}}, as the docs show
        await lan.choose("Tiếng Việt")
        await lan.choose("Đồng ý")
        assert (await lan.user()).consented
        assert 403 not in fake.webhook_answers[2:]


async def test_pictures_go_by_url_from_the_bots_own_server_and_else_as_text(settings, tmp_path):
    poster = tmp_path / "poster.png"
    poster.write_bytes(b"\x89PNG\r\n\x1a\n a poster")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with (
        FakeZaloBot() as fake,
        zalobot_app(settings, fake, http_port=port, public_base_url=base) as env,
    ):
        mai = env.member("6ede0000000000000010")
        await onboard(mai)
        announcement = await env.app.outreach.announce(
            "cli", "Tuần lễ học tập", AudienceFilter(), photo=str(poster)
        )
        await wait_done(env.app, announcement.id)
        [photo] = [m for m in fake.messages_to(mai.user_id) if "photo" in m]
        assert re.fullmatch(rf"{base}/pictures/[\w-]{{43}}\.png", photo["photo"])
        assert fake.photo_fetches == [poster.read_bytes()] * 2  # Zalo may fetch it twice
        assert fake.texts_to(mai.user_id)[-1] == "Tuần lễ học tập"
        async with aiohttp.ClientSession() as session:  # nothing else is served there
            async with session.get(f"{base}/pictures/guess.png") as response:
                assert response.status == 404

    async with FakeZaloBot() as fake, zalobot_app(settings, fake) as env:
        mai = env.member("6ede0000000000000010")
        announcement = await env.app.outreach.announce(
            "cli", "Tuần lễ học tập", AudienceFilter(), photo=str(poster)
        )
        await wait_done(env.app, announcement.id)
        assert [m["text"] for m in fake.messages_to(mai.user_id)] == ["Tuần lễ học tập"]


async def test_ok_false_on_http_200_is_an_error(env):
    client: ZaloBotClient = env.channel.client
    env.fake.fail_next(404, "chat not found", method="sendMessage")
    with pytest.raises(ZaloBotError) as failed:
        await client.call("sendMessage", {"chat_id": "x", "text": "hi"})
    assert (failed.value.code, failed.value.description) == (404, "chat not found")


async def test_two_linked_accounts_get_each_broadcast_once_and_fall_back(settings):
    async with (
        FakeBotAPI() as telegram,
        FakeZaloBot() as fake,
        zalobot_app(
            settings, fake, telegram_bot_token=telegram.token, telegram_api_url=telegram.base_url
        ) as env,
    ):
        [seeded] = await seed(env.app, 1)
        phone = Phone(telegram, FakeUser(id=int(seeded.external_id), first_name="Lan"))
        shown = (await phone.send("/link")).visible_text()
        code = re.search(r"\d{4} \d{4}", shown)[0]
        lan = env.member("6ede0000000000000020")
        assert "Đã liên kết" in (await lan.say(f"/link {code}"))[0]

        async def broadcast(text: str) -> None:
            announcement = await env.app.outreach.announce("cli", text, AudienceFilter())
            await wait_done(env.app, announcement.id)
            counts = await env.app.store.announcements.counts(announcement.id)
            assert counts["sent"] == 1 and sum(counts.values()) == 1  # one person, one delivery

        def on_telegram(text: str) -> int:
            return [m.visible_text() for m in telegram.messages(phone.user.id)].count(text)

        await broadcast("Họp chi hội")  # to the app last used: Zalo Bot
        assert fake.texts_to(lan.user_id).count("Họp chi hội") == 1 and not on_telegram(
            "Họp chi hội"
        )

        await lan.say("/link")
        await lan.choose("Nhận tin qua Telegram")
        await broadcast("Tuần lễ học tập")
        assert on_telegram("Tuần lễ học tập") == 1
        assert "Tuần lễ học tập" not in fake.texts_to(lan.user_id)

        telegram.fail_chat(phone.user.id, 403, "Forbidden: bot was blocked by the user")
        await broadcast("Ngày Khuyến học")  # Telegram cannot deliver: Zalo Bot does
        assert fake.texts_to(lan.user_id).count("Ngày Khuyến học") == 1
        assert not on_telegram("Ngày Khuyến học")
        accounts = await env.app.services.linking.accounts(await lan.user())
        assert {(a.channel, a.status) for a in accounts} == {
            ("zalobot", "active"),
            ("telegram", "blocked"),
        }

        await phone.send("/help")  # writing from Telegram again unblocks it
        await lan.say("/link")
        await lan.choose("Ứng dụng dùng gần nhất")  # Zalo Bot, last used, whose quota is used up
        fake.fail_next(429, "quota exceeded", method="sendMessage")
        await broadcast("Họp trực tuyến")  # goes through Telegram instead of waiting
        assert on_telegram("Họp trực tuyến") == 1
        assert "Họp trực tuyến" not in fake.texts_to(lan.user_id)


async def test_a_member_whose_replies_are_slow_holds_up_nobody(env):
    slow, quick = env.member("6ede0000000000000030"), env.member("6ede0000000000000031")
    await slow.say("/help")
    await quick.say("/help")
    env.fake.slow_chats[slow.user_id] = 0.5
    for command in ("/menu", "/help", "/menu"):
        env.fake.say(slow.user_id, command)
    await env.fake.wait_for(lambda: env.fake.pending_updates == 0)
    env.fake.say(quick.user_id, "/menu")
    await env.fake.wait_for(lambda: "Anh/Chị muốn xem gì?" in quick.last())
    assert len(env.fake.messages_to(slow.user_id)) <= 2  # the slow replies are still going out
    await env.fake.wait_for(lambda: len(env.fake.messages_to(slow.user_id)) == 4)
    assert [t.split("\n")[0] for t in env.fake.texts_to(slow.user_id)[1:]] == [
        "Anh/Chị muốn xem gì? Chọn một mục bên dưới, hoặc gõ câu hỏi bằng lời của mình.",
        "Hướng dẫn",
        "Anh/Chị muốn xem gì? Chọn một mục bên dưới, hoặc gõ câu hỏi bằng lời của mình.",
    ]  # in order


async def test_a_poster_reaches_zalo_bot_members_after_telegram_kept_its_photo_id(
    settings, tmp_path
):
    poster = tmp_path / "poster.png"
    poster.write_bytes(b"\x89PNG\r\n\x1a\n a poster")
    port = free_port()
    async with (
        FakeBotAPI() as telegram,
        FakeZaloBot() as fake,
        zalobot_app(
            settings,
            fake,
            telegram_bot_token=telegram.token,
            telegram_api_url=telegram.base_url,
            http_port=port,
            public_base_url=f"http://127.0.0.1:{port}",
        ) as env,
    ):
        await seed(env.app, 2)  # Telegram members first: the photo is uploaded there first
        on_zalo = [env.member(f"6ede00000000000002{n:02}") for n in range(2)]
        for member in on_zalo:
            await onboard(member)
        announcement = await env.app.outreach.announce(
            "cli", "Tuần lễ học tập", AudienceFilter(), photo=str(poster)
        )
        await wait_done(env.app, announcement.id)
        assert (await env.app.outreach.get(announcement.id)).photo_file_id  # Telegram's
        for member in on_zalo:
            assert [m for m in fake.messages_to(member.user_id) if "photo" in m]


async def test_a_webhook_address_zalo_refuses_is_one_clear_line(settings):
    async with FakeZaloBot() as fake:
        fake.fail_next(400, "webhook.err.blocked", method="setWebhook")
        with pytest.raises(ChannelRefused) as refused:
            async with zalobot_app(
                settings,
                fake,
                zalo_bot_webhook_url="https://10.0.0.1/zalobot",
                zalo_bot_webhook_secret="s3cret-s3cret",
            ):
                pass
        assert "ZALO_BOT_WEBHOOK_URL" in str(refused.value)
        assert "webhook.err.blocked" in str(refused.value)


async def test_run_with_only_a_zalo_bot_answers_and_a_rejected_token_exits_78(tmp_path):
    async with FakeZaloBot() as fake:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "ZALO"))},
            "ZALO_BOT_TOKEN": fake.token,
            "ZALO_BOT_API_URL": fake.api_url,
            "DATABASE_PATH": str(tmp_path / "run.sqlite3"),
            "CONTENT_DIR": str(CONTENT),
            "WEBHOOK_PORT": str(free_port()),
        }
        process = await khuyenhoc("run", env=env, cwd=tmp_path)
        try:
            fake.say("6ede0000000000000040", "Xin chào")
            [welcome] = await fake.wait_for_messages("6ede0000000000000040", 1, timeout=30)
            assert "Kính chào Lan!" in welcome
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0, stderr.decode()

            fake.revoke()
            process = await khuyenhoc("run", env=env, cwd=tmp_path)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        lines = [line for line in stderr.decode().splitlines() if "rejected" in line]
        assert process.returncode == 78 and len(lines) == 1 and "ZALO_BOT_TOKEN" in lines[0]
        assert fake.token.split(":")[1] not in stderr.decode()


async def test_polling_removes_a_leftover_webhook_first(settings):
    async with FakeZaloBot() as fake:
        fake.webhook_url, fake.webhook_secret = "https://old.example.org/hook", "old-secret"
        async with zalobot_app(settings, fake) as env:
            assert fake.webhook_url is None  # else getUpdates would fail for ever
            assert "Kính chào" in (await env.member("6ede0000000000000050").say("Chào Hội"))[0]
    async with FakeZaloBot() as fake, zalobot_app(settings, fake):
        assert "deleteWebhook" not in [m for m, _ in fake.calls]  # none set: none deleted (400)


async def test_telegram_the_zalo_oa_and_a_zalo_bot_in_one_process(settings):
    from tests.channels.test_zalo import ZaloMember, zalo_bot

    async with (
        FakeBotAPI() as telegram,
        FakeZaloBot() as fake,
        zalo_bot(
            settings,
            telegram_bot_token=telegram.token,
            telegram_api_url=telegram.base_url,
            zalo_bot_token=fake.token,
            zalo_bot_api_url=fake.api_url,
        ) as (app, zalo, oa, hook),
    ):
        assert set(app.channels) == {"telegram", "zalo", "zalobot"}
        [on_telegram] = await seed(app, 1)
        on_oa = ZaloMember(zalo, oa, hook, "900100")
        await on_oa.follow()
        await on_oa.press("Tiếng Việt")
        await on_oa.press("Đồng ý")
        on_bot = ZaloBotEnv(app, fake).member("6ede0000000000000060")
        await onboard(on_bot)
        announcement = await app.outreach.announce("cli", "Họp chi hội", AudienceFilter())
        await wait_done(app, announcement.id)
        assert [m.visible_text() for m in telegram.messages(int(on_telegram.chat_id))] == [
            "Họp chi hội"
        ]
        assert [m["message"].get("text") for m in oa.messages_to("900100")].count(
            "Họp chi hội"
        ) == 1
        assert fake.texts_to(on_bot.user_id).count("Họp chi hội") == 1
        report = await app.outreach.status_report(await app.outreach.get(announcement.id), "vi")
        assert "Theo kênh: Telegram 1/1; Zalo OA 1/1; Zalo Bot 1/1." in report


async def test_a_reply_waits_out_a_short_outage(env):
    hai = env.member("6ede0000000000000070")
    env.fake.fail_next(502, "Bad Gateway", method="sendMessage", status=502, times=2)
    env.fake.fail_next(403, "Internal server error", method="sendMessage")  # Zalo's label
    [answer] = await hai.say("/help")
    assert answer.startswith("Hướng dẫn")
    assert [m for m, _ in env.fake.calls].count("sendMessage") == 4  # three failures, then sent
