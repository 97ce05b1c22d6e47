"""Updates taken from a platform and not yet handled (the `InboundLog` of bot.core.channel).

Rows live for the few milliseconds an update is being handled: written in one statement per
fetched batch, deleted in one statement per batch of finished ones. Whatever a crash leaves here
is handled again at the next start.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.db import Database


class InboundLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def keep(self, channel: str, updates: Sequence[tuple[int, str]]) -> None:
        """Store (update_id, JSON body) pairs; one already kept is left as it is."""
        if not updates:
            return
        now = self._db.now()
        # One multi-row statement: one trip to the database thread for the whole batch.
        rows = ",".join(["(?, ?, ?, ?)"] * len(updates))
        params = [value for update_id, body in updates for value in (channel, update_id, body, now)]
        await self._db.execute(
            f"INSERT INTO inbound_log (channel, update_id, body, taken_at) VALUES {rows}"
            " ON CONFLICT DO NOTHING",
            params,
        )

    async def release(self, channel: str, update_ids: Sequence[int]) -> None:
        """Forget handled updates."""
        if not update_ids:
            return
        marks = ",".join("?" * len(update_ids))
        await self._db.execute(
            f"DELETE FROM inbound_log WHERE channel = ? AND update_id IN ({marks})",
            (channel, *update_ids),
        )

    async def pending(self, channel: str) -> list[str]:
        """Bodies of the updates a previous run took but did not finish, oldest first."""
        rows = await self._db.fetchall(
            "SELECT body FROM inbound_log WHERE channel = ? ORDER BY update_id", (channel,)
        )
        return [str(row["body"]) for row in rows]
