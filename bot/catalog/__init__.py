"""The campaign as data: loads `content/`, validates it, and hands out typed models.

Association staff edit YAML files, not code, so every mistake must come back as a clear problem
naming the file, the field path and (where the YAML parser knows it) the line. `check_content`
collects all problems in one run; `load_catalog` refuses to start the bot on any of them.
"""

from __future__ import annotations

import csv
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.catalog.assessments import ASSESSMENT, QUIZ, Definition, parse_definition
from bot.catalog.events import Event, parse_event
from bot.catalog.models import Area, Areas, Campaign, FaqEntry, Plan, Role, Target, Title
from bot.catalog.reader import (
    ID_PATTERN,
    MAX_ID_BYTES,
    Problem,
    Reader,
    Text,
    format_path,
    load_yaml,
)
from bot.core.text import fold

__all__ = [
    "Area",
    "Areas",
    "Catalog",
    "ContentInvalid",
    "Definition",
    "Plan",
    "Problem",
    "Text",
    "load_catalog",
]

TELEGRAM_MAX_MESSAGE = 4096
BUTTON_MAX_CHARS = 24
BRIEFED = "briefed"  # the "members briefed on the plans" target, not a learning-model title


class ContentInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"content has {len(problems)} problem(s):\n{listing}")


@dataclass(frozen=True)
class Locales:
    """UI strings by locale, flattened to dotted keys ("menu.plans"), plus the command menu."""

    default: str
    strings: dict[str, dict[str, Any]]

    def get(self, locale: str, key: str) -> Any:
        value = self.strings.get(locale, {}).get(key)
        if value is None:
            value = self.strings[self.default].get(key)
        if value is None:
            raise KeyError(f"UI string {key!r} is missing in content/locales/{self.default}.yaml")
        return value

    def commands(self, locale: str) -> dict[str, str]:
        prefix = "commands."
        strings = self.strings.get(locale, {})
        return {k[len(prefix) :]: v for k, v in strings.items() if k.startswith(prefix)}


@dataclass(frozen=True, repr=False)
class Catalog:
    root: Path
    campaign: Campaign
    plans: tuple[Plan, ...]
    areas: Areas
    locales: Locales
    definitions: tuple[Definition, ...] = ()
    events: tuple[Event, ...] = ()
    tips: tuple[Text, ...] = ()
    faq: tuple[FaqEntry, ...] = ()

    def __repr__(self) -> str:
        # Not every field: the whole content is a quarter of a megabyte of text, and an app (its
        # services hold the catalog) is repr'd in tracebacks, logs and asyncio's task reprs.
        return (
            f"Catalog({str(self.root)!r}: {len(self.plans)} plans, {len(self.definitions)}"
            f" assessments and quizzes, {len(self.areas)} areas, {len(self.events)} events,"
            f" {len(self.faq)} FAQ entries)"
        )

    @property
    def current(self) -> Catalog:
        """Itself: the same question a `LiveCatalog` answers with the content of the moment."""
        return self

    def plan(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    def event(self, event_id: str) -> Event | None:
        return next((e for e in self.events if e.id == event_id), None)

    def definition(self, definition_id: str) -> Definition | None:
        return next((d for d in self.definitions if d.id == definition_id), None)

    def assessments(self) -> tuple[Definition, ...]:
        return tuple(d for d in self.definitions if d.kind == ASSESSMENT)

    def quiz_for(self, plan_id: str) -> Definition | None:
        return next((d for d in self.definitions if d.kind == QUIZ and d.plan_id == plan_id), None)


def load_catalog(root: Path | str) -> Catalog:
    catalog, problems = _load(Path(root))
    if problems or catalog is None:
        raise ContentInvalid(problems)
    return catalog


def check_content(root: Path | str) -> list[Problem]:
    return _load(Path(root))[1]


def _load(root: Path) -> tuple[Catalog | None, list[Problem]]:
    problems: list[Problem] = []
    if not root.is_dir():
        return None, [Problem(str(root), "", "content directory not found")]
    campaign = _load_campaign(root, problems)
    if campaign is None:
        return None, problems
    locales = _load_locales(root, campaign, problems)
    plans = _load_plans(root, campaign, problems)
    areas = _load_areas(root, problems)
    definitions = _load_definitions(root, campaign, plans, problems)
    events, tips = _load_calendar(root, campaign, areas, problems)
    faq = _load_faq(root, campaign, problems)
    catalog = Catalog(root, campaign, plans, areas, locales, definitions, events, tips, faq)
    return catalog, problems


def _reader(file: Path, root: Path, locales: tuple[str, ...], problems: list[Problem]) -> Reader:
    data, lines, found = load_yaml(file, root)
    problems.extend(found)
    name = found[0].file if found else str(file.relative_to(root.parent))
    if data is not None and not isinstance(data, dict):
        problems.append(Problem(name, "", "must be a mapping of fields"))
        data = None
    return Reader(name, data if data is not None else {}, lines, locales, problems)


def _check_id(reader: Reader, path: tuple, value: str) -> None:
    if not ID_PATTERN.match(value) or len(value.encode()) > MAX_ID_BYTES:
        reader.problem(
            path,
            f"id {value!r} must be lower-case a-z, 0-9 and '-', at most {MAX_ID_BYTES} characters"
            " (it travels in button data, which Telegram limits to 64 bytes)",
        )


def _check_button(reader: Reader, path: tuple, text: Text) -> None:
    for locale, label in text.values.items():
        if len(label) > BUTTON_MAX_CHARS:
            reader.problem((*path, locale), f"button label longer than {BUTTON_MAX_CHARS} chars")


def _load_campaign(root: Path, problems: list[Problem]) -> Campaign | None:
    file = root / "campaign.yaml"
    if not file.is_file():
        problems.append(Problem("content/campaign.yaml", "", "file is missing"))
        return None
    r = _reader(file, root, (), problems)
    names = r.raw(("locales",))
    if not isinstance(names, dict) or not names:
        r.problem(("locales",), "must map language codes to their names, e.g. {vi: Tiếng Việt}")
        return None
    locales = tuple(str(k) for k in names)
    r = r.with_locales(locales)
    default = r.string(("default_locale",), default=locales[0])
    if default not in locales:
        r.problem(("default_locale",), f"{default!r} is not one of the locales")
    tz = r.string(("timezone",), default="Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(("timezone",), f"unknown time zone {tz!r}")

    roles = []
    for path in r.items(("roles",)):
        role_id = r.string((*path, "id"))
        _check_id(r, (*path, "id"), role_id)
        label = r.text((*path, "label"))
        _check_button(r, (*path, "label"), label)
        roles.append(Role(role_id, label))
    _check_unique(r, ("roles",), [role.id for role in roles])

    titles = []
    for path in r.items(("titles",)):
        title_id = r.string((*path, "id"))
        _check_id(r, (*path, "id"), title_id)
        targets: dict[int, float] = {}
        raw_targets = r.raw((*path, "targets"))
        if not isinstance(raw_targets, dict):
            r.problem((*path, "targets"), "must map a year to a percentage, e.g. {2025: 75}")
        else:
            for year in raw_targets:
                value = r.number((*path, "targets", year))
                if not isinstance(year, int) or value is None or not 0 <= value <= 100:
                    r.problem((*path, "targets", year), "year must be a number, value 0-100")
                else:
                    targets[year] = value
        titles.append(Title(title_id, r.text((*path, "name")), targets))
    _check_unique(r, ("titles",), [t.id for t in titles])

    return Campaign(
        association=r.text(("association",)),
        city=r.text(("city",)),
        timezone=tz,
        default_locale=default,
        locales=locales,
        locale_names={str(k): str(v) for k, v in names.items()},
        roles=tuple(roles),
        titles=tuple(titles),
    )


def _check_unique(r: Reader, path: tuple, ids: list[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            r.problem((*path, index, "id"), f"id {item!r} is used twice")
        seen.add(item)


def _flatten(data: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = data


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<malformed braces>"}


def _load_locales(root: Path, campaign: Campaign, problems: list[Problem]) -> Locales:
    strings: dict[str, dict[str, Any]] = {}
    readers: dict[str, Reader] = {}
    for locale in campaign.locales:
        file = root / "locales" / f"{locale}.yaml"
        if not file.is_file():
            problems.append(Problem(f"content/locales/{locale}.yaml", "", "file is missing"))
            strings[locale] = {}
            continue
        r = _reader(file, root, campaign.locales, problems)
        readers[locale] = r
        flat: dict[str, Any] = {}
        _flatten(r.data, "", flat)
        for key, value in flat.items():
            path = tuple(key.split("."))
            if isinstance(value, list):
                if not all(isinstance(v, str) for v in value):
                    r.problem(path, "a list of texts is expected")
                continue
            if not isinstance(value, str):
                r.problem(path, "must be text")
                continue
            if not unicodedata.is_normalized("NFC", value):
                r.problem(path, "text is not Unicode NFC (re-save it NFC-normalised)")
            if len(value) > TELEGRAM_MAX_MESSAGE:
                r.problem(path, f"longer than Telegram's {TELEGRAM_MAX_MESSAGE} characters")
            if "<malformed braces>" in _placeholders(value):
                r.problem(path, "unbalanced { } (write {{ and }} for literal braces)")
        strings[locale] = flat

    reference = strings.get(campaign.default_locale, {})
    for locale, flat in strings.items():
        r = readers.get(locale)
        if r is None or locale == campaign.default_locale:
            continue
        for key, value in reference.items():
            path = tuple(key.split("."))
            if key not in flat:
                r.problem(path, f"missing translation (present in {campaign.default_locale}.yaml)")
            elif isinstance(value, str) and _placeholders(value) != _placeholders(flat[key]):
                r.problem(path, f"placeholders differ from {campaign.default_locale}.yaml")
        for key in flat.keys() - reference.keys():
            r.problem(tuple(key.split(".")), f"not in {campaign.default_locale}.yaml")
    return Locales(campaign.default_locale, strings)


def _load_plans(root: Path, campaign: Campaign, problems: list[Problem]) -> tuple[Plan, ...]:
    folder = root / "plans"
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        problems.append(Problem("content/plans", "", "no plan files (*.yaml) found"))
    title_ids = {t.id for t in campaign.titles} | {BRIEFED}
    plans: list[Plan] = []
    readers: list[Reader] = []
    for file in files:
        r = _reader(file, root, campaign.locales, problems)
        plan_id = r.string(("id",))
        _check_id(r, ("id",), plan_id)
        if plan_id and plan_id != file.stem:
            r.problem(("id",), f"must match the file name ({file.stem!r})")
        scope = r.string(("scope",))
        if scope not in ("city", "national"):
            r.problem(("scope",), "must be 'city' or 'national'")
        button = r.text(("button",))
        _check_button(r, ("button",), button)
        targets = []
        for path in r.items(("targets",), required=False):
            title_id = r.raw((*path, "title_id"), required=False)
            if title_id is not None and title_id not in title_ids:
                r.problem((*path, "title_id"), f"unknown title {title_id!r}")
            by_year = {}
            for year in (2025, 2030):
                value = r.number((*path, f"y{year}"), required=False)
                if value is not None and not 0 <= value <= 100:
                    r.problem((*path, f"y{year}"), "a percentage must be 0-100")
                by_year[year] = value
            note = r.text((*path, "note"), required=False)
            targets.append(Target(r.text((*path, "label")), title_id, by_year, note or None))
        order = r.number(("order",))
        unconfirmed = r.text(("unconfirmed",), required=False)
        plans.append(
            Plan(
                id=plan_id,
                order=int(order or 0),
                scope=scope,
                implements=r.raw(("implements",), required=False),
                title=r.text(("title",)),
                button=button,
                issuer=r.text(("issuer",)),
                summary=r.text(("summary",)),
                targets=tuple(targets),
                tasks=tuple(r.text(p) for p in r.items(("tasks",))),
                what_you_can_do=tuple(r.text(p) for p in r.items(("what_you_can_do",))),
                source=r.text(("source",)),
                unconfirmed=unconfirmed or None,
            )
        )
        readers.append(r)
    ids = {p.id for p in plans}
    for plan, r in zip(plans, readers, strict=True):
        if plan.implements is not None and plan.implements not in ids:
            r.problem(("implements",), f"unknown plan {plan.implements!r}")
    seen: set[str] = set()
    for plan, r in zip(plans, readers, strict=True):
        if plan.id in seen:
            r.problem(("id",), f"plan id {plan.id!r} is used twice")
        seen.add(plan.id)
    return tuple(sorted(plans, key=lambda p: (p.order, p.id)))


def _load_areas(root: Path, problems: list[Problem]) -> Areas:
    file = root / "areas.csv"
    name = "content/areas.csv"
    if not file.is_file():
        problems.append(Problem(name, "", "file is missing"))
        return Areas([])
    areas: list[Area] = []
    seen: set[str] = set()
    with file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"code", "name", "type"} <= set(reader.fieldnames):
            problems.append(Problem(name, "", "header must be: code,name,type", 1))
            return Areas([])
        for row in reader:
            line = reader.line_num
            code, title, kind = (row.get(k, "") or "" for k in ("code", "name", "type"))
            code, title, kind = code.strip(), title.strip(), kind.strip()
            where = format_path(("row", line))
            if not (code.isdigit() and len(code) == 5):
                problems.append(
                    Problem(name, f"{where}.code", f"not a 5-digit code: {code!r}", line)
                )
            elif code in seen:
                problems.append(Problem(name, f"{where}.code", f"code {code} repeats", line))
            if kind not in ("phuong", "xa"):
                problems.append(Problem(name, f"{where}.type", "must be phuong or xa", line))
            if not title or not unicodedata.is_normalized("NFC", title):
                problems.append(Problem(name, f"{where}.name", "empty or not NFC", line))
            seen.add(code)
            areas.append(Area(code, title, kind, fold(title)))
    return Areas(areas)


def _load_definitions(
    root: Path, campaign: Campaign, plans: tuple[Plan, ...], problems: list[Problem]
) -> tuple[Definition, ...]:
    """Self-assessments (content/assessments) and knowledge checks (content/quizzes)."""
    titles = [t.id for t in campaign.titles]
    roles = {r.id for r in campaign.roles}
    plan_ids = {p.id for p in plans}
    found: list[tuple[Definition, Reader]] = []
    for folder, kind in (("assessments", ASSESSMENT), ("quizzes", QUIZ)):
        for file in sorted((root / folder).glob("*.yaml")):
            r = _reader(file, root, campaign.locales, problems)
            definition = parse_definition(r, kind)
            if definition.id and definition.id != file.stem:
                r.problem(("id",), f"must match the file name ({file.stem!r})")
            if kind == ASSESSMENT and definition.title_id not in titles:
                r.problem(("title_id",), f"unknown title {definition.title_id!r}")
            if kind == QUIZ and definition.plan_id not in plan_ids:
                r.problem(("plan_id",), f"unknown plan {definition.plan_id!r}")
            for index, role in enumerate(definition.roles):
                if role not in roles:
                    r.problem(("roles", index), f"unknown role {role!r}")
            found.append((definition, r))
    seen: set[str] = set()
    quizzed: set[str] = set()
    for definition, r in found:
        if definition.id in seen:
            r.problem(("id",), f"id {definition.id!r} is used by another assessment or quiz")
        seen.add(definition.id)
        if definition.plan_id:
            if definition.plan_id in quizzed:
                r.problem(("plan_id",), f"plan {definition.plan_id!r} already has a quiz")
            quizzed.add(definition.plan_id)
    order = {title: index for index, title in enumerate(titles)}
    definitions = [d for d, _ in found]
    definitions.sort(key=lambda d: (d.kind != ASSESSMENT, order.get(d.title_id or "", 99), d.id))
    return tuple(definitions)


def _load_calendar(
    root: Path, campaign: Campaign, areas: Areas, problems: list[Problem]
) -> tuple[tuple[Event, ...], tuple[Text, ...]]:
    """content/events.yaml (the campaign calendar) and content/tips.yaml (weekly learning tips)."""
    events: list[Event] = []
    file = root / "events.yaml"
    if file.is_file():
        r = _reader(file, root, campaign.locales, problems)
        seen: set[str] = set()
        for path in r.items(("events",)):
            event = parse_event(r, path)
            _check_id(r, (*path, "id"), event.id)
            if event.id in seen:
                r.problem((*path, "id"), f"event id {event.id!r} is used twice")
            seen.add(event.id)
            for index, role in enumerate(event.roles):
                if campaign.role(role) is None:
                    r.problem((*path, "audience", "roles", index), f"unknown role {role!r}")
            for index, code in enumerate(event.areas):
                if areas.get(code) is None:
                    r.problem((*path, "audience", "areas", index), f"unknown area {code!r}")
            events.append(event)
    tips: list[Text] = []
    file = root / "tips.yaml"
    if file.is_file():
        r = _reader(file, root, campaign.locales, problems)
        tips = [r.text(path) for path in r.items(("tips",))]
    return tuple(events), tuple(tips)


FAQ_SECTIONS = ("plans", "assess", "events", "progress", "settings", "mydata")
FAQ_ANSWER_MAX = 1500


def _load_faq(root: Path, campaign: Campaign, problems: list[Problem]) -> tuple[FaqEntry, ...]:
    """content/faq.yaml: questions members ask, with other phrasings, and the answers."""
    file = root / "faq.yaml"
    if not file.is_file():
        return ()
    r = _reader(file, root, campaign.locales, problems)
    entries = []
    seen: set[str] = set()
    for path in r.items(("faq",)):
        entry_id = r.string((*path, "id"))
        _check_id(r, (*path, "id"), entry_id)
        if entry_id in seen:
            r.problem((*path, "id"), f"faq id {entry_id!r} is used twice")
        seen.add(entry_id)
        answer = r.text((*path, "answer"))
        for locale, text in answer.values.items():
            if len(text) > FAQ_ANSWER_MAX:
                r.problem((*path, "answer", locale), f"longer than {FAQ_ANSWER_MAX} characters")
        alternates: dict[str, tuple[str, ...]] = {}
        raw = r.raw((*path, "alternates"), required=False) or {}
        if not isinstance(raw, dict):
            r.problem((*path, "alternates"), "must map each language to a list of phrasings")
            raw = {}
        for locale, phrasings in raw.items():
            if locale not in campaign.locales or not isinstance(phrasings, list):
                r.problem((*path, "alternates", locale), "a known language with a list of texts")
                continue
            for index, phrasing in enumerate(phrasings):
                if not isinstance(phrasing, str) or not unicodedata.is_normalized("NFC", phrasing):
                    r.problem((*path, "alternates", locale, index), "must be NFC text")
            alternates[str(locale)] = tuple(str(p) for p in phrasings)
        section = r.string((*path, "section"), required=False) or None
        if section is not None and section not in FAQ_SECTIONS:
            r.problem((*path, "section"), f"must be one of {', '.join(FAQ_SECTIONS)}")
        entries.append(FaqEntry(entry_id, r.text((*path, "question")), answer, alternates, section))
    return tuple(entries)
