"""The leader among instances sharing a PostgreSQL database: one at a time, per install (schema),
and another within the lease when it goes."""

import asyncio

from bot.store import Store
from bot.store.leader import Leadership
from tests.pg import Schemas, needs_pg

pytestmark = needs_pg
LEASE_S = 1.5  # the followers try every 0.5 s


async def leads_within(leadership: Leadership, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not leadership.is_leader():
        if loop.time() > deadline:
            return False
        await asyncio.wait_for(leadership.changed.wait(), max(0.01, deadline - loop.time()))
        leadership.changed.clear()
    return True


async def test_one_leader_per_install_and_a_takeover_within_the_lease():
    schemas = Schemas()
    stores = [await Store.open(await schemas.url(name)) for name in ("one", "one", "other")]
    first, second, elsewhere = (Leadership(s.db, LEASE_S) for s in stores)  # type: ignore[arg-type]
    try:
        await first.start()
        await second.start()
        await elsewhere.start()
        assert first.is_leader() and not second.is_leader()
        assert elsewhere.is_leader()  # another schema: another install, its own leader

        loop = asyncio.get_running_loop()
        gone = loop.time()
        await first.stop()
        assert await leads_within(second, LEASE_S)
        assert loop.time() - gone <= LEASE_S
    finally:
        for leadership in (first, second, elsewhere):
            await leadership.stop()
        for store in stores:
            await store.close()
        await schemas.drop()
