"""Content the association edits: the workbook round trip, the draft, publishing and versions.

The YAML in CONTENT_DIR is what a fresh install starts from and is never written here. Staff's
edits live in the data folder, beside the database:

    data/content-versions/draft/      the draft an imported workbook made (a whole content folder)
    data/content-versions/v0003/      each published version, kept (a whole content folder)
    data/content-versions/v0003.json  who published it, when, and what changed
    data/content-versions/CURRENT     the version the bot serves ("0": CONTENT_DIR itself)

Publishing copies the draft to the next version folder, then replaces CURRENT in one rename; a
rollback only points CURRENT at an older folder. The running bot notices CURRENT change
(`refresh`, on a timer) and swaps its `LiveCatalog` in one assignment: no restart, and a member in
the middle of an assessment finishes on the definition they started (runs are pinned to their
snapshot). A definition whose questions, options, points or rules changed gets a new version
number when the workbook is read, so results always say which version they were scored on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.catalog import Catalog, Problem, check_content, load_catalog
from bot.catalog.workbook import (
    ContentData,
    SheetProblem,
    Words,
    read_content,
    read_workbook,
    words_for,
    write_workbook,
)

if TYPE_CHECKING:
    from bot.catalog.live import LiveCatalog
    from bot.store import Store

log = logging.getLogger(__name__)

DRAFT = "draft"
CURRENT = "CURRENT"
_VERSION_DIR = re.compile(r"^v(\d{4,})$")


class ContentError(Exception):
    """A request about versions that cannot be met (no draft, no such version)."""


@dataclass(frozen=True)
class Version:
    number: int
    published_at: str
    actor: str
    note: str
    live: bool


@dataclass(frozen=True)
class Change:
    """What a draft does to one kind of content (a sheet): ids added, changed, removed."""

    sheet: str
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass
class ImportReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    versions: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (old, new)
    draft: Path | None = None  # written when there are no problems

    @property
    def ok(self) -> bool:
        return not self.problems


class ContentService:
    """The workbook round trip, the draft and the published versions of one installation."""

    def __init__(
        self,
        folder: Path,
        shipped: Path,
        catalog: LiveCatalog,
        store: Store | None = None,
        clock: Any = None,
        preview: Callable[[Catalog], Any] | None = None,
    ) -> None:
        self.folder = folder
        self.shipped = shipped
        self.catalog = catalog
        self._store = store
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._lock = asyncio.Lock()
        # Staff previewing the draft: user id -> the services built on the draft (in memory: a
        # restart or a publish ends every preview).
        self._preview = preview
        self._previews: dict[int, Any] = {}
        self._unloadable: int | None = None  # a published version that failed to load

    # -- where things are ---------------------------------------------------------------------
    @property
    def draft_dir(self) -> Path:
        return self.folder / DRAFT

    def _dir(self, number: int) -> Path:
        return self.folder / f"v{number:04d}"

    def current(self) -> int:
        """The version in CURRENT, 0 when none was ever published (or its folder is missing)."""
        return current_version(self.folder)

    def live_dir(self) -> Path:
        return live_dir(self.folder, self.shipped)

    def versions(self) -> list[Version]:
        live = self.current()
        found = []
        for path in sorted(self.folder.glob("v*")):
            match = _VERSION_DIR.match(path.name)
            if not match or not path.is_dir():
                continue
            number = int(match.group(1))
            meta = _read_json(path.with_suffix(".json"))
            found.append(
                Version(
                    number,
                    meta.get("published_at", ""),
                    meta.get("actor", ""),
                    meta.get("note", ""),
                    number == live,
                )
            )
        return found

    def words(self) -> Words:
        return words_for(self.catalog.current)

    # -- the workbook -----------------------------------------------------------------------------
    def export_workbook(self) -> bytes:
        """The workbook of the content being served."""
        return write_workbook(self.live_dir(), self.words())

    async def import_workbook(self, source: bytes, actor: str) -> ImportReport:
        """Read an edited workbook against the live content; without problems, write the draft.
        The content being served is never touched."""
        words = self.words()
        base_dir = self.live_dir()
        base = await asyncio.to_thread(read_content, base_dir)
        imported = await asyncio.to_thread(read_workbook, source, base, words)
        report = ImportReport(
            problems=[p.render(words) for p in imported.problems],
            warnings=[p.render(words) for p in imported.warnings],
        )
        if imported.data is None:
            return report
        data = imported.data
        report.versions = await self._bump_versions(base, data)
        report.changes = changes(base, data, words)
        if not report.changes:
            return report  # nothing to draft
        async with self._lock:
            problems = await asyncio.to_thread(self._write_draft, base_dir, base, data)
        if problems:
            report.problems = [_place(p, imported.origins, words) for p in problems]
            return report
        _write_json(
            self.draft_dir.with_suffix(".json"),
            {
                "created_at": self._clock().isoformat(timespec="seconds"),
                "actor": actor,
                "base": self.current(),
            },
        )
        if self._store is not None:
            await self._store.staff.audit(actor, "content_draft", changes=_count(report.changes))
        report.draft = self.draft_dir
        return report

    async def _bump_versions(self, base: ContentData, data: ContentData) -> dict[str, tuple]:
        """A new version number for each definition whose content changed, above any number a
        run ever started on."""
        started = await self._store.assessments.latest_versions() if self._store else {}
        bumped = {}
        for def_id, item in data.definitions.items():
            old = base.definitions.get(def_id) or {}
            strip = ("version",)
            if {k: v for k, v in item.items() if k not in strip} == {
                k: v for k, v in old.items() if k not in strip
            }:
                continue
            old_version = int(old.get("version") or 1)
            new = max(int(item.get("version") or 1), old_version + 1, started.get(def_id, 0) + 1)
            item["version"] = new
            bumped[def_id] = (old_version, new)
        return bumped

    def _write_draft(self, base_dir: Path, base: ContentData, data: ContentData) -> list[Problem]:
        """The draft folder: the live content with the changed files written; [] when it passes
        the full content check, else its problems (and no draft is left half-written)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{DRAFT}-new"
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.copytree(base_dir, temporary, ignore=shutil.ignore_patterns("*.md"))
        before = base.files()
        for name, document in data.files().items():
            if before.get(name) == document:
                continue  # untouched files keep their comments
            path = temporary / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100),
                encoding="utf-8",
            )
        for name in before.keys() - data.files().keys():
            (temporary / name).unlink(missing_ok=True)
        problems = check_content(temporary)
        if problems:
            shutil.rmtree(temporary, ignore_errors=True)
            return problems
        shutil.rmtree(self.draft_dir, ignore_errors=True)
        os.replace(temporary, self.draft_dir)
        return []

    # -- publishing -------------------------------------------------------------------------------
    def has_draft(self) -> bool:
        return self.draft_dir.is_dir()

    def draft_stamp(self) -> str:
        """Which draft this is (its creation time, compact): a publish button names it."""
        created = _read_json(self.draft_dir.with_suffix(".json")).get("created_at", "")
        return re.sub(r"\D", "", created)[:14]

    def draft_catalog(self) -> Catalog:
        if not self.has_draft():
            raise ContentError("no draft")
        return load_catalog(self.draft_dir)

    # -- previewing -----------------------------------------------------------------------------
    def start_preview(self, user_id: int) -> None:
        """This staffer's conversations use the draft from now on; nobody else's do."""
        if self._preview is None:
            raise ContentError("no preview in this process")
        self._previews[user_id] = self._preview(self.draft_catalog())

    def stop_preview(self, user_id: int) -> bool:
        return self._previews.pop(user_id, None) is not None

    def preview_for(self, user_id: int) -> Any:
        """The services on the draft this staffer is previewing, or None."""
        return self._previews.get(user_id)

    async def publish(self, actor: str, note: str = "") -> int:
        """The draft becomes the next version and is served; returns its number."""
        async with self._lock:
            if not self.has_draft():
                raise ContentError("no draft")
            catalog = await asyncio.to_thread(load_catalog, self.draft_dir)  # checked once more
            numbers = [v.number for v in self.versions()]
            number = max(numbers, default=0) + 1
            meta = {
                "published_at": self._clock().isoformat(timespec="seconds"),
                "actor": actor,
                "note": note,
                "base": self.current(),
            }
            _write_json(self._dir(number).with_suffix(".json"), meta)
            os.replace(self.draft_dir, self._dir(number))
            self.draft_dir.with_suffix(".json").unlink(missing_ok=True)
            _point(self.folder, number)
            self._previews.clear()  # the draft they looked at is live now
        if self._store is not None:
            await self._store.staff.audit(actor, "content_publish", version=number)
        log.info("content: version %d published by %s", number, actor)
        self._serve(catalog, number)
        return number

    async def rollback(self, number: int, actor: str) -> None:
        """Serve an earlier published version again (0: the shipped content)."""
        async with self._lock:
            folder = self.shipped if number == 0 else self._dir(number)
            if not folder.is_dir():
                raise ContentError(f"no version {number}")
            catalog = await asyncio.to_thread(load_catalog, folder)
            _point(self.folder, number)
        if self._store is not None:
            await self._store.staff.audit(actor, "content_rollback", version=number)
        log.info("content: back to version %d (%s)", number, actor)
        self._serve(catalog, number)

    async def refresh(self) -> bool:
        """Serve the version CURRENT names if it is not the one served (another process
        published); True when the content was replaced. A version that fails to load is logged
        and the content being served stays."""
        number = self.current()
        if number in (self.catalog.version, self._unloadable):
            return False
        try:
            catalog = await asyncio.to_thread(load_catalog, self.live_dir())
        except Exception:  # whatever broke the files, the bot keeps serving what it has
            self._unloadable = number  # said once, not every few seconds
            log.exception(
                "content: version %d cannot be loaded; keeping %d", number, self.catalog.version
            )
            return False
        self._serve(catalog, number)
        return True

    def _serve(self, catalog: Catalog, number: int) -> None:
        self.catalog.swap(catalog, number)
        log.info("content: serving version %d", number)


# -- the folder, without a service (the app's start-up reads it before anything is built) ----------
def versions_folder(database_path: Path) -> Path:
    """Where staff's content lives: beside the database, in the installation's data."""
    return database_path.parent / "content-versions"


def current_version(folder: Path) -> int:
    try:
        number = int((folder / CURRENT).read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return 0
    return number if number == 0 or (folder / f"v{number:04d}").is_dir() else 0


def live_dir(folder: Path, shipped: Path) -> Path:
    number = current_version(folder)
    return folder / f"v{number:04d}" if number else shipped


def _point(folder: Path, number: int) -> None:
    """CURRENT names `number`, replaced in one rename (a reader sees the old or the new)."""
    temporary = folder / f".{CURRENT}.new"
    temporary.write_text(f"{number}\n", encoding="ascii")
    os.replace(temporary, folder / CURRENT)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- what changes ----------------------------------------------------------------------------------
def changes(base: ContentData, new: ContentData, words: Words) -> list[Change]:
    def compare(sheet: str, old: dict[str, Any], now: dict[str, Any]) -> Change:
        return Change(
            words(f"sheet.{sheet}"),
            tuple(k for k in now if k not in old),
            tuple(k for k in now if k in old and old[k] != now[k]),
            tuple(k for k in old if k not in now),
        )

    def by_id(items: list[dict]) -> dict[str, Any]:
        return {str(i.get("id")): i for i in items}

    def strings(data: ContentData) -> dict[str, Any]:
        keys = data.strings[data.locales[0]]
        return {k: [data.strings[loc].get(k) for loc in data.locales] for k in keys}

    found = [
        compare("faq", by_id(base.faq), by_id(new.faq)),
        compare("events", by_id(base.events), by_id(new.events)),
        compare("plans", base.plans, new.plans),
        compare("definitions", base.definitions, new.definitions),
        compare("ui", strings(base), strings(new)),
    ]
    return [c for c in found if c.added or c.changed or c.removed]


def change_lines(report: ImportReport, say: Any) -> list[str]:
    """What a draft changes, a line a sheet, in words from content_tools.cli (`say(key, ...)`):
    what the command line prints and the bot answers in chat."""
    if not report.changes:
        return [say("no_changes")]
    lines = [say("changes")]
    for change in report.changes:
        parts = [
            say(key, count=len(ids), ids=", ".join(ids[:8]) + (" …" if len(ids) > 8 else ""))
            for key, ids in (
                ("added", change.added),
                ("changed", change.changed),
                ("removed", change.removed),
            )
            if ids
        ]
        lines.append("  " + say("change_line", sheet=change.sheet, parts="; ".join(parts)))
    for def_id, (old, new) in report.versions.items():
        lines.append("  " + say("version_line", id=def_id, old=old, new=new))
    return lines


def _count(found: list[Change]) -> dict[str, int]:
    return {
        "added": sum(len(c.added) for c in found),
        "changed": sum(len(c.changed) for c in found),
        "removed": sum(len(c.removed) for c in found),
    }


# -- placing the content check's problems in the workbook ------------------------------------------
_LONGER = re.compile(r"longer than (?:Telegram's )?(\d+)")
_NEVER = re.compile(r"(\S+) can never be met: at most (\S+)")


def _place(
    problem: Problem, origins: dict[tuple[str, str], tuple[str, int, str | None]], words: Words
) -> str:
    """A content-check problem of the draft, said where it is in the workbook."""
    file = problem.file.split("/", 1)[1] if "/" in problem.file else problem.file
    found = None
    path = problem.field
    while True:
        found = origins.get((file, path))
        if found is not None or not path:
            break
        cut = max(path.rfind("."), path.rfind("["))
        path = path[: max(cut, 0)]
    message = _message(problem.message, words)
    if found is None:
        return f"{problem.file}: {problem.field}: {message}"
    sheet, row, column = found
    return SheetProblem(sheet, row, column, message).render(words)


def _message(message: str, words: Words) -> str:
    if message in ("missing", "missing translation", "must be non-empty text"):
        return words("problem.empty")
    longer = _LONGER.search(message)
    if longer:
        return words("problem.too_long", limit=longer.group(1))
    never = _NEVER.search(message)
    if never:
        return words("problem.never_met", needed=never.group(1), most=never.group(2))
    if message.startswith("placeholders differ"):
        return words("problem.placeholders")
    return words("problem.check", message=message)
