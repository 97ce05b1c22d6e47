"""A running bot with its outbox: real Application, real worker, real scheduler, fake Bot API."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.app import App, Role, Tuning
from bot.store.db import utc_now
from fakes.bot_api import FakeBotAPI
from tests.shared import shared_catalog

FAST = Tuning(
    flush_every=0.02,
    idle_poll=0.1,
    progress_every=0.2,
    backoff_base=0.05,
    poll_timeout=1,
    read_timeout=0.5,
    outage_backoff_max=0.4,
    reply_patience=20.0,
)


def bot_settings(settings, fake, **changes):
    """Settings of a bot process talking to the fake Bot API (HTTP on a port the OS picks)."""
    return replace(
        settings,
        telegram_bot_token=fake.token,
        telegram_api_url=fake.base_url,
        http_port=0,
        **changes,
    )


async def start_bot(settings, fake, **changes):
    """A running bot (Role.BOT): Telegram polling, the outbox and the timers on real time."""
    app = await App.create(
        bot_settings(settings, fake, **changes),
        Role.BOT,
        clock=utc_now,
        tuning=FAST,
        catalog=shared_catalog(),
    )
    await app.start()
    return app


async def seed(app, count, *, start=5000, consent=True, **fields):
    """Members who have agreed to the privacy notice, with optional profile fields."""
    users = []
    for n in range(start, start + count):
        user, _ = await app.store.users.seen(
            "telegram", str(n), chat_id=str(n), display_name=f"M{n}", locale="vi"
        )
        changes = dict(fields)
        if consent:
            changes["consent_at"] = app.store.db.now()
        if changes:
            user = await app.store.users.update(user.id, **changes)
        users.append(user)
    return users


@pytest.fixture
async def fake():
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def live(settings, fake, catalog):
    """(app, channel): polling, with the outbox and scheduler running on real time."""
    app = await start_bot(settings, fake, broadcast_rate=200.0, chat_interval=0.05)
    yield app, app.channels["telegram"]
    await app.close()


async def wait_done(app, announcement_id, timeout=10.0):
    """Until the announcement is done: every delivery has its outcome."""

    async def done():
        announcement = await app.store.announcements.get(announcement_id)
        return announcement is not None and announcement.status == "done"

    try:
        await app.worker.until(done, timeout)
    except TimeoutError:
        counts = await app.store.announcements.counts(announcement_id)
        raise AssertionError(f"announcement {announcement_id} not done: {counts}") from None
