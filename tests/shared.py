"""What every test may share because nobody changes it: the shipped content, loaded and checked
once per session, and the BM25 index built from it. Imported as `tests.shared` everywhere (conftest
too), so there is one of each; `changed()` tells whether a test changed them after all."""

from __future__ import annotations

import pickle
from pathlib import Path

from bot.catalog import Catalog, load_catalog
from bot.services.ask import Answerer

CONTENT = Path(__file__).resolve().parent.parent / "content"

_shared: dict[str, object] = {}


def shared_catalog() -> Catalog:
    """The shipped content; never change it (replace it: `dataclasses.replace(catalog, ...)` makes
    a new one)."""
    if "catalog" not in _shared:
        _shared["catalog"] = load_catalog(CONTENT)
        _shared["snapshot"] = _snapshot()
    return _shared["catalog"]  # type: ignore[return-value]


def shared_answerer(catalog: Catalog) -> Answerer:
    """`Answerer(catalog)`, built once for the shared catalog (it is read-only once built); any
    other catalog gets its own, as in the bot."""
    if catalog.current is not _shared.get("catalog"):  # the app serves it through a LiveCatalog
        return Answerer(catalog)
    if "answerer" not in _shared:
        _shared["answerer"] = Answerer(catalog.current)  # fixed content: never rebuilt
        _shared["snapshot"] = _snapshot()
    return _shared["answerer"]  # type: ignore[return-value]


def changed() -> bool:
    """Whether the shared catalog or answerer changed since the last call (or since made)."""
    if "catalog" not in _shared:
        return False
    now = _snapshot()
    if now == _shared["snapshot"]:
        return False
    _shared["snapshot"] = now  # report each change once
    return True


def _snapshot() -> bytes:
    return pickle.dumps((_shared.get("catalog"), _shared.get("answerer")))
