"""The outbox shared by instances on PostgreSQL: claims never overlap, a lease that runs out
gives the row to another, an instance stopping puts back only its own, the rate is shared."""

import asyncio
from datetime import UTC, datetime, timedelta

from bot.records import AudienceFilter, Outcome
from bot.store import Store
from tests.pg import Schemas, needs_pg

pytestmark = needs_pg
NOW = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
MEMBERS = 60


async def broadcast(store: Store) -> None:
    for n in range(MEMBERS):
        user, _ = await store.users.seen(
            "telegram", str(n), chat_id=str(n), display_name="", locale="vi"
        )
        await store.users.update(user.id, consent_at=store.db.now())
    sent = await store.announcements.create(
        created_by="cli", text="Họp", audience=AudienceFilter(), status="scheduled"
    )
    assert await store.announcements.start_sending(sent, [], None) == MEMBERS


async def test_instances_share_the_outbox_without_overlap():
    schemas = Schemas()
    url = await schemas.url("bot")
    one = await Store.open(url, clock=lambda: NOW, lease_s=30)
    two = await Store.open(url, clock=lambda: NOW, lease_s=30)
    try:
        await broadcast(one)
        later = NOW + timedelta(minutes=1)
        first, second = await asyncio.gather(
            one.deliveries.claim(later, 25, ["telegram"]),
            two.deliveries.claim(later, 25, ["telegram"]),
        )
        assert len(first) == len(second) == 25
        assert not {d.id for d in first} & {d.id for d in second}

        # The second instance stops: only its own claims go back to pending.
        assert await two.deliveries.recover(["telegram"]) == 25
        # The first dies without a word: its rows wait for their lease, then go to another.
        rest = await two.deliveries.claim(later, 100, ["telegram"])
        assert len(rest) == 35
        await two.deliveries.record([Outcome(d.id, "sent", 1) for d in rest])
        assert await two.deliveries.claim(later + timedelta(seconds=29), 100, ["telegram"]) == []
        taken_again = await two.deliveries.claim(later + timedelta(seconds=31), 100, ["telegram"])
        assert {d.id for d in taken_again} == {d.id for d in first}
        await two.deliveries.record([Outcome(d.id, "sent", 1) for d in taken_again])
        assert (await one.announcements.counts(1))["sent"] == MEMBERS
    finally:
        await one.close()
        await two.close()
        await schemas.drop()


async def test_a_shared_rate_bounds_what_all_instances_take():
    schemas = Schemas()
    url = await schemas.url("bot")
    one = await Store.open(url, clock=lambda: NOW, shared_rate=20)
    two = await Store.open(url, clock=lambda: NOW, shared_rate=20)
    try:
        await broadcast(one)
        at = NOW + timedelta(minutes=1)
        taken = [await store.deliveries.claim(at, 100, ["telegram"]) for store in (one, two)]
        assert [len(t) for t in taken] == [1, 0]  # a twentieth of a second's worth, for both
        half = at + timedelta(seconds=0.5)
        assert len(await two.deliveries.claim(half, 100, ["telegram"])) == 1  # refilled, capped
        second = at + timedelta(seconds=0.55)
        assert len(await one.deliveries.claim(second, 100, ["telegram"])) == 1  # 20/s
        assert await two.deliveries.claim(second, 100, ["telegram"]) == []  # spent
    finally:
        await one.close()
        await two.close()
        await schemas.drop()
