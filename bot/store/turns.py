"""A member's turn: one update of a member handled at a time across every instance (PostgreSQL).

Inside one instance the channels already hand a member's updates over one at a time. Behind a
load balancer a member's next press may reach another instance while the first is still being
handled; both would read the same session and run, and the later write would undo the earlier
(an answer lost, a question asked twice). So the Dispatcher handles each update inside the
member's turn: a session-level advisory lock keyed (TURN_LOCK, hash of schema, channel and
member). An update that arrives while another instance handles the same member waits for it,
then reads what it wrote. Two members whose keys hash alike only share a turn now and then.

The locks are held on connections of a pool of their own: a turn's holder also needs the
store's connections for its queries, and with one pool every connection could be holding a
turn while its holder waits for a connection to query with. A turn waits at most the store's
lock patience (lock_timeout), then the member is answered "busy", as for a locked database.
The turn ends when its connection goes back to the pool: the pool's reset lets go of every
advisory lock the connection holds (one round trip, the only one at the end of a turn), so a
turn given up half-way (a cancelled update) never stays held either; a connection whose reset
fails is closed, and a connection that closed took its locks with it.

On SQLite there is one process and nothing to share: the store has no turns there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from bot.store.pg import TURN_LOCK, PgDatabase

# The Dispatcher handles at most MAX_HANDLING (4) updates at once, each inside one turn: more
# connections would sit idle, and fewer only make an update wait for one (never a deadlock:
# a turn's holder needs no second turn).
TURN_CONNECTIONS = 4
_KEY = "hashtext(current_schema() || ':' || $2::text || ':' || $3::text)"


class MemberTurns:
    """`turn(channel, member)`: an async context manager held while one update is handled."""

    def __init__(self, db: PgDatabase, size: int = TURN_CONNECTIONS) -> None:
        self._db = db
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        """The pool, opened at the first turn (a CLI command never takes one)."""
        if self._pool is None:
            async with self._opening:  # the first updates arrive together: one pool
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._db.url,
                        min_size=0,
                        max_size=self._size,
                        reset=_let_go,
                        server_settings={
                            "lock_timeout": str(int(self._db.lock_patience * 1000)),
                            "application_name": "khuyenhoc turns",
                        },
                    )
        return self._pool

    @asynccontextmanager
    async def turn(self, channel: str, member: str) -> AsyncIterator[None]:
        pool = await self._connections()
        async with pool.acquire() as conn:  # released (and the turn ended) by `_let_go`
            await conn.execute(f"SELECT pg_advisory_lock($1, {_KEY})", TURN_LOCK, channel, member)
            yield

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _let_go(conn: asyncpg.Connection) -> None:
    """The pool's reset of a connection given back: the turn it held ends (only locks are ever
    taken on these connections, so nothing else needs resetting)."""
    await conn.execute("SELECT pg_advisory_unlock_all()")
