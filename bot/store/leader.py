"""Which instance runs the scheduled jobs when several share one PostgreSQL database.

The leader is the instance holding a session-level advisory lock on a connection of its own.
When it dies, PostgreSQL ends its session and the lock is free at once (a crash closes the
socket; a machine that vanishes is noticed by TCP keepalives within about LEADER_LEASE_S); the
others try for the lock every third of LEADER_LEASE_S, so one takes over within the lease. A
leader that loses its connection stops counting itself leader before it tries again.

On SQLite there is one process, always the leader: `Leadership` is used only on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from bot.store.pg import LEADER_LOCK, SCHEMA_KEY, PgDatabase, safe_url

log = logging.getLogger(__name__)

LEADER_LEASE_S = 15.0


class Leadership:
    def __init__(self, db: PgDatabase, lease_s: float = LEADER_LEASE_S) -> None:
        self._url = db.url
        self.lease_s = lease_s
        self._leader = False
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task | None = None
        self.changed = asyncio.Event()  # set whenever this instance becomes or stops being leader

    def is_leader(self) -> bool:
        return self._leader

    async def start(self) -> None:
        """Try for the lock at once (a lone instance leads from its first second), then keep
        trying, or checking it is still held, in the background."""
        await self._attempt()
        self._task = asyncio.create_task(self._keep(), name="leadership")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await self._attempt()

    async def _attempt(self) -> None:
        try:
            if self._conn is None or self._conn.is_closed():
                await self._drop()
                # Keepalives: the server ends the session of a leader whose machine vanished
                # within about the lease, which frees the lock for another instance.
                idle = str(max(1, int(self.lease_s / 3)))
                self._conn = await asyncpg.connect(
                    self._url,
                    timeout=self.lease_s / 3,
                    server_settings={
                        "tcp_keepalives_idle": idle,
                        "tcp_keepalives_interval": idle,
                        "tcp_keepalives_count": "2",
                        "application_name": "khuyenhoc leader",
                    },
                )
            if self._leader:
                await self._conn.fetchval("SELECT 1", timeout=self.lease_s / 3)
            elif await self._conn.fetchval(
                f"SELECT pg_try_advisory_lock($1, {SCHEMA_KEY})",
                LEADER_LOCK,
                timeout=self.lease_s / 3,
            ):
                self._set(True)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("leadership: %s (%s)", type(exc).__name__, safe_url(str(exc)))
            await self._drop()

    async def _drop(self) -> None:
        """Stop leading and let the connection (and with it the lock) go."""
        self._set(False)
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), self.lease_s / 3)
            except Exception:  # a connection already broken: just drop it
                conn.terminate()

    def _set(self, leader: bool) -> None:
        if leader != self._leader:
            self._leader = leader
            log.info("leadership: this instance is %s", "the leader" if leader else "a follower")
            self.changed.set()
