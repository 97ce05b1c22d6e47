"""Small install-wide values kept in the database (secrets generated once, ...)."""

from __future__ import annotations

import secrets

from bot.store.db import Database


class Meta:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def set(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def secret(self, key: str) -> str:
        """A random secret stored under `key`, created on first use and kept afterwards."""
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (key, secrets.token_hex(16)),
        )
        value = await self.get(key)
        assert value is not None
        return value
