"""A member's turn across instances sharing a PostgreSQL database (bot/store/turns.py): the same
member waits for it, anyone else does not; a turn ended or given up is free at once; a turn held
past the store's patience fails the one waiting for it."""

import asyncio
import contextlib

import asyncpg
import pytest

from bot.store import Store
from bot.store.pg import TURN_LOCK
from bot.store.turns import MemberTurns
from tests.outreach.test_instances import until
from tests.pg import Schemas, needs_pg

pytestmark = needs_pg
SOON_S = 5.0  # what should happen at once happens well within this


@pytest.fixture
async def stores():
    """Two instances of one install, and one of another install (another schema)."""
    schemas = Schemas()
    opened = [await Store.open(await schemas.url(name)) for name in ("one", "one", "other")]
    yield opened
    for store in opened:
        await store.close()
    await schemas.drop()


async def hold(turns: MemberTurns, member: str, got: asyncio.Event, end: asyncio.Event) -> None:
    async with turns.turn("telegram", member):
        got.set()
        await end.wait()


async def turn_locks(store: Store, *, granted: bool, member: str = "1001") -> int:
    """How many hold (granted) or wait for the Telegram member's turn in the store's schema."""
    row = await store.db.fetchone(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = ?"
        " AND objid::bigint = (hashtext(current_schema() || ':telegram:' || ?)::bigint"
        " + 4294967296) % 4294967296 AND granted = ?",  # the key, as an unsigned oid
        (TURN_LOCK, member, granted),
    )
    return int(row[0]) if row else 0


async def until_waiting(store: Store, count: int) -> None:
    """Until `count` wait for the member's turn (their queries have reached the server)."""

    async def waiting() -> bool:
        return await turn_locks(store, granted=False) == count

    await until(waiting, SOON_S, f"{count} waiting for the turn")


async def test_the_same_member_waits_for_their_turn_and_nobody_else_does(stores):
    one, two, elsewhere = stores
    got, end = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(hold(one.turns, "1001", got, end))
    await asyncio.wait_for(got.wait(), SOON_S)

    async with asyncio.timeout(SOON_S):  # none of these waits for the held turn
        async with two.turns.turn("telegram", "1002"):  # another member
            pass
        async with two.turns.turn("zalo", "1001"):  # the same id on another channel
            pass
        async with elsewhere.turns.turn("telegram", "1001"):  # another install
            pass

    second_got = asyncio.Event()
    second = asyncio.create_task(hold(two.turns, "1001", second_got, asyncio.Event()))
    await until_waiting(one, 1)
    assert not second_got.is_set()
    end.set()  # the first update is handled: the second has its turn
    await asyncio.wait_for(second_got.wait(), SOON_S)
    await holder
    second.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await second
    assert await turn_locks(one, granted=True) == 0


async def test_a_turn_given_up_while_waiting_is_not_kept(stores):
    """An update cancelled while it waits (the instance stopping) leaves no turn behind, even
    if PostgreSQL granted it just as it was given up."""
    one, two, _ = stores
    got, end = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(hold(one.turns, "1001", got, end))
    await asyncio.wait_for(got.wait(), SOON_S)
    waiter = asyncio.create_task(hold(two.turns, "1001", asyncio.Event(), asyncio.Event()))
    await until_waiting(one, 1)
    waiter.cancel()
    end.set()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    await holder
    async with asyncio.timeout(SOON_S):
        async with two.turns.turn("telegram", "1001"):
            pass
    assert await turn_locks(one, granted=True) == 0


async def test_a_turn_held_past_the_patience_fails_the_one_waiting(stores):
    one, two, _ = stores
    two.db.lock_patience = 0.3
    impatient = MemberTurns(two.db)  # type: ignore[arg-type]
    got, end = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(hold(one.turns, "1001", got, end))
    try:
        await asyncio.wait_for(got.wait(), SOON_S)
        with pytest.raises(asyncpg.LockNotAvailableError):
            async with asyncio.timeout(SOON_S):
                async with impatient.turn("telegram", "1001"):
                    pass
    finally:
        end.set()
        await holder
        await impatient.close()
