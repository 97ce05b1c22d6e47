"""The content the running bot serves, swappable while it runs.

Every part that reads content holds the one `LiveCatalog` and reads through it, so publishing a
new content version (`bot.services.content`) replaces the whole catalog in one assignment: a
reader sees either the old content or the new, never a mix of files. What must not change under a
member's feet is pinned elsewhere: an assessment run keeps the definition it started on (its
snapshot, bot.services.assessment).
"""

from __future__ import annotations

from typing import Any

from bot.catalog import Catalog


class LiveCatalog:
    """A `Catalog` whose content can be replaced as a whole; reads go to the current one."""

    def __init__(self, catalog: Catalog, version: int = 0) -> None:
        self._current = catalog
        self._version = version

    @property
    def current(self) -> Catalog:
        """The catalog right now (hold it to read several things from the same content)."""
        return self._current

    @property
    def version(self) -> int:
        """The published content version served (0: the content shipped in CONTENT_DIR)."""
        return self._version

    def swap(self, catalog: Catalog, version: int) -> None:
        self._current = catalog
        self._version = version

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy and pickle ask before __init__ ran: not the catalog's
            raise AttributeError(name)
        return getattr(self._current, name)

    def __repr__(self) -> str:
        return f"LiveCatalog(v{self._version}: {self._current!r})"
