"""The content as one Excel workbook, for the association's staff, and back.

Staff own the words but work in Excel, not YAML. `write_workbook` turns a content folder into a
workbook: a sheet per kind (FAQ, events, plans, assessments with their criteria, questions and
options, the bot's UI strings), one row per item, a column per language, Vietnamese headers (from
content/locales, section `content_tools`), frozen header row, lists to pick from where a value is
one of a set.

`read_workbook` does the reverse onto the same content folder's data: every cell that reads as it
was exported leaves the YAML value untouched (so types, and fields the sheet does not show, such
as plan targets or event themes, survive), every other cell replaces it. Problems name the sheet,
the row and the column in words a staffer understands; text is NFC-normalised silently; an empty
English text falls back to the Vietnamese one with a warning. `bot.services.content` writes what
comes out as a draft and runs the full content check on it.
"""

from __future__ import annotations

import copy
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.catalog.reader import ID_PATTERN, MAX_ID_BYTES

KEYS = "content_tools"
MAX_FILE_BYTES = 5 * 1024 * 1024  # a workbook of the whole content is ~100 kB
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # an .xlsx is a zip: refuse one that unpacks huge
MAX_ROWS = 2000

# What a column holds: the kinds of cells.
TEXT = "text"  # a translated text: one column per language, path + (locale,)
STRING = "string"
ID = "id"
NUMBER = "number"
INT = "int"
CHOICE = "choice"  # one of `choices`, shown by its label
ROLES = "roles"  # role ids, shown by their labels, comma-separated
CODES = "codes"  # ids, comma-separated
FLAG = "flag"  # true shown as "Có", false or absent as an empty cell
PHRASES = "phrases"  # per language, a list of texts, one per line
TEXT_LIST = "text_list"  # a list of translated texts: per language, one per line
REMINDERS = "reminders"  # "7 08:00; 1 19:00"
WHEN = "when"  # an event's date ("10-01", "2026-10-01 07:30")
PASS = "pass"  # an assessment's overall.min_total (empty: all criteria), a quiz's pass_mark

FAQ_SECTIONS = ("plans", "assess", "events", "progress", "settings", "mydata")
_REMINDER = re.compile(r"^(\d{1,2})\s+(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Field:
    key: str  # its header: content_tools.col.<key>
    path: tuple[str, ...]
    kind: str = STRING
    required: bool = False
    choices: tuple[str, ...] = ()
    width: int = 18


@dataclass(frozen=True)
class Column:
    field: Field
    locale: str | None
    header: str


@dataclass(frozen=True)
class SheetSpec:
    key: str  # its name: content_tools.sheet.<key>
    fields: tuple[Field, ...]


def _text(key: str, required: bool = True, width: int = 40) -> Field:
    return Field(key, (key,), TEXT, required, width=width)


FAQ = SheetSpec(
    "faq",
    (
        Field("id", ("id",), ID, True, width=22),
        Field("section", ("section",), CHOICE, choices=FAQ_SECTIONS, width=16),
        _text("question"),
        _text("answer", width=60),
        Field("alternates", ("alternates",), PHRASES, width=40),
    ),
)
EVENTS = SheetSpec(
    "events",
    (
        Field("id", ("id",), ID, True, width=22),
        Field("recurrence", ("recurrence",), CHOICE, True, ("yearly", "once"), 12),
        Field("start", ("start",), WHEN, True, width=17),
        Field("end", ("end",), WHEN, width=17),
        _text("title"),
        _text("description", width=60),
        _text("place", required=False, width=30),
        Field("link", ("link",), STRING, width=30),
        Field("roles", ("audience", "roles"), ROLES, width=24),
        Field("areas", ("audience", "areas"), CODES, width=16),
        Field("staff_only", ("audience", "staff"), FLAG, width=12),
        Field("notify", ("notify",), CHOICE, choices=("subscribers", "audience"), width=20),
        Field("reminders", ("reminders",), REMINDERS, width=22),
        Field("grace_hours", ("grace_hours",), NUMBER, width=12),
    ),
)
PLANS = SheetSpec(
    "plans",
    (
        Field("id", ("id",), ID, True, width=26),
        Field("order", ("order",), INT, True, width=8),
        Field("scope", ("scope",), CHOICE, True, ("city", "national"), 12),
        Field("implements", ("implements",), STRING, width=22),
        _text("title"),
        _text("button", width=22),
        _text("issuer"),
        _text("summary", width=60),
        Field("tasks", ("tasks",), TEXT_LIST, True, width=60),
        Field("what_you_can_do", ("what_you_can_do",), TEXT_LIST, True, width=60),
        _text("source"),
        _text("unconfirmed", required=False),
    ),
)
DEFINITIONS = SheetSpec(
    "definitions",
    (
        Field("id", ("id",), ID, True, width=22),
        Field("kind", ("kind",), CHOICE, True, ("assessment", "quiz"), 18),
        Field("version", ("version",), INT, True, width=10),
        Field("status", ("status",), CHOICE, choices=("draft", "confirmed"), width=14),
        Field("roles", ("roles",), ROLES, width=24),
        _text("title"),
        _text("button", width=22),
        Field("minutes", ("minutes",), INT, True, width=8),
        _text("intro", width=50),
        Field("pass_mark", ("pass",), PASS, width=12),
        Field("min_each", ("overall", "min_each_question"), NUMBER, width=12),
        _text("disclaimer", required=False),
        _text("next_steps", required=False),
        _text("unconfirmed_rule", required=False),
        _text("source", required=False),
    ),
)
CRITERIA = SheetSpec(
    "criteria",
    (
        Field("definition", (), ID, True, width=22),
        Field("id", ("id",), ID, True, width=16),
        _text("title"),
        Field("min_points", ("min_points",), NUMBER, True, width=10),
        _text("advice", width=60),
    ),
)
QUESTIONS = SheetSpec(
    "questions",
    (
        Field("definition", (), ID, True, width=22),
        Field("criterion", (), ID, width=16),
        Field("id", ("id",), ID, True, width=16),
        _text("text", width=60),
        _text("explanation", required=False, width=40),
    ),
)
OPTIONS = SheetSpec(
    "options",
    (
        Field("definition", (), ID, True, width=22),
        Field("question", (), ID, True, width=16),
        Field("id", ("id",), ID, True, width=14),
        _text("text", width=32),
        Field("points", ("points",), NUMBER, width=8),
        Field("correct", ("correct",), FLAG, width=12),
    ),
)
UI = SheetSpec("ui", (Field("key", (), ID, True, width=34), _text("value", width=70)))
SHEETS = (FAQ, EVENTS, PLANS, DEFINITIONS, CRITERIA, QUESTIONS, OPTIONS, UI)
DEFINITION_FOLDERS = {"assessment": "assessments", "quiz": "quizzes"}


# -- the content's data, as the YAML files hold it -------------------------------------------------
@dataclass
class ContentData:
    """The parts of a content folder the workbook edits, as plain data, by file."""

    locales: tuple[str, ...]
    faq: list[dict]
    events: list[dict]
    plans: dict[str, dict]  # plan id -> data (plans/<id>.yaml)
    definitions: dict[str, dict]  # id -> data, with "kind" added
    strings: dict[str, dict[str, Any]]  # locale -> flat key -> text or list

    def files(self) -> dict[str, Any]:
        """Relative file name -> its document."""
        out: dict[str, Any] = {
            "faq.yaml": {"faq": self.faq},
            "events.yaml": {"events": self.events},
        }
        for plan_id, plan in self.plans.items():
            out[f"plans/{plan_id}.yaml"] = plan
        for def_id, data in self.definitions.items():
            body = {k: v for k, v in data.items() if k != "kind"}
            out[f"{DEFINITION_FOLDERS[data['kind']]}/{def_id}.yaml"] = body
        for locale, flat in self.strings.items():
            out[f"locales/{locale}.yaml"] = _nest(flat)
        return out


def read_content(root: Path) -> ContentData:
    """The editable parts of a content folder that passed the content check."""

    def load(path: Path) -> Any:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) if path.is_file() else {}

    campaign = load(root / "campaign.yaml")
    locales = tuple(str(k) for k in campaign["locales"])
    definitions = {}
    for kind, folder in DEFINITION_FOLDERS.items():
        for file in sorted((root / folder).glob("*.yaml")):
            data = load(file)
            definitions[data["id"]] = {"kind": kind, **data}
    strings = {}
    for locale in locales:
        flat: dict[str, Any] = {}
        _flatten(load(root / "locales" / f"{locale}.yaml"), "", flat)
        strings[locale] = flat
    return ContentData(
        locales=locales,
        faq=list((load(root / "faq.yaml") or {}).get("faq") or []),
        events=list((load(root / "events.yaml") or {}).get("events") or []),
        plans={f.stem: load(f) for f in sorted((root / "plans").glob("*.yaml"))},
        definitions=definitions,
        strings=strings,
    )


_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _flatten(data: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = data


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _get(data: Any, path: Iterable[str]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _set(data: dict, path: tuple[str, ...], value: Any) -> None:
    *parents, last = path
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    if value is None:
        data.pop(last, None)
    else:
        data[last] = value


# -- words -----------------------------------------------------------------------------------------
class Words:
    """The workbook's sheet names, headers, labels and problem messages (content_tools.*)."""

    def __init__(
        self, strings: Callable[[str], Any], locales: tuple[str, ...], roles: dict
    ) -> None:
        self._strings = strings
        self.locales = locales
        self.roles = roles  # role id -> label

    def __call__(self, key: str, **params: Any) -> str:
        value = self._strings(f"{KEYS}.{key}")
        return value.format(**params) if params else value

    def sheet(self, spec: SheetSpec) -> str:
        return self(f"sheet.{spec.key}")

    def columns(self, spec: SheetSpec) -> list[Column]:
        out = []
        for f in spec.fields:
            label = self(f"col.{f.key}")
            if f.kind in (TEXT, PHRASES, TEXT_LIST):
                for locale in self.locales:
                    lang = self(f"lang.{locale}")
                    out.append(Column(f, locale, self("lang_column", field=label, lang=lang)))
            else:
                out.append(Column(f, None, label))
        return out

    def label(self, value: str) -> str:
        return self(f"choice.{value}")


def words_for(catalog: Any) -> Words:
    locale = catalog.campaign.default_locale
    roles = {r.id: r.label.get(locale) for r in catalog.campaign.roles}
    return Words(lambda key: catalog.locales.get(locale, key), catalog.campaign.locales, roles)


# -- rendering a value into a cell -----------------------------------------------------------------
def _render(column: Column, item: dict, words: Words) -> Any:
    f, locale = column.field, column.locale
    if f.kind == PASS:
        value = item.get("pass_mark") if item.get("kind") == "quiz" else None
        return value if value is not None else _get(item, ("overall", "min_total"))
    value = _get(item, f.path)
    if f.kind == TEXT:
        text = _get(value, (locale,)) if isinstance(value, dict) else None
        return "\n".join(text) if isinstance(text, list) else text  # a UI list: a line each
    if value is None:
        return None
    if f.kind == CHOICE:
        return words.label(str(value))
    if f.kind == ROLES:
        return ", ".join(words.roles.get(r, r) for r in value)
    if f.kind == CODES:
        return ", ".join(str(v) for v in value)
    if f.kind == FLAG:
        return words("yes_mark") if value is True else None
    if f.kind == PHRASES:
        return "\n".join(value.get(locale) or []) if isinstance(value, dict) else None
    if f.kind == TEXT_LIST:
        return "\n".join(str(t.get(locale) or "") for t in value if isinstance(t, dict))
    if f.kind == REMINDERS:
        return "; ".join(f"{r.get('days_before')} {r.get('at')}" for r in value)
    if f.kind in (NUMBER, INT):
        return value
    return str(value)


def _cell_text(value: Any) -> str:
    """A cell's content as comparable text (numbers without a needless .0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").strip()


# -- writing ---------------------------------------------------------------------------------------
def _rows(data: ContentData) -> dict[str, list[tuple[tuple, dict]]]:
    """Per sheet: (parent keys, item) in the order the content holds them."""
    rows: dict[str, list[tuple[tuple, dict]]] = {s.key: [] for s in SHEETS}
    rows["faq"] = [((), e) for e in data.faq]
    rows["events"] = [((), e) for e in data.events]
    rows["plans"] = [((), p) for p in data.plans.values()]
    for def_id, d in data.definitions.items():
        rows["definitions"].append(((), d))
        if d["kind"] == "quiz":
            groups = [("", d.get("questions") or [])]
        else:
            groups = []
            for c in d.get("criteria") or []:
                rows["criteria"].append(((def_id,), c))
                groups.append((c.get("id"), c.get("questions") or []))
        for criterion_id, questions in groups:
            for q in questions:
                rows["questions"].append(((def_id, criterion_id), q))
                for o in q.get("options") or []:
                    rows["options"].append(((def_id, q.get("id")), o))
    default = data.locales[0]
    for key in data.strings[default]:
        if not key.startswith(f"{KEYS}."):
            item = {"value": {loc: data.strings[loc].get(key) for loc in data.locales}}
            rows["ui"].append(((key,), item))
    return rows


def write_workbook(root: Path, words: Words) -> bytes:
    """The workbook of the content folder `root`, as .xlsx bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    data = read_content(root)
    rows = _rows(data)
    book = Workbook()
    guide = book.active
    guide.title = words("sheet.guide")
    for line in words("guide"):
        guide.append([line])
    guide.column_dimensions["A"].width = 110
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for spec in SHEETS:
        sheet = book.create_sheet(words.sheet(spec))
        columns = words.columns(spec)
        sheet.append([c.header for c in columns])
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "B2"
        for parents, item in rows[spec.key]:
            values = []
            keys = iter(parents)
            for column in columns:
                if not column.field.path and column.field.kind == ID:
                    values.append(next(keys, None))
                else:
                    values.append(_render(column, item, words))
            sheet.append(values)
        last = max(sheet.max_row, 2)
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = column.field.width
            long = column.field.width >= 30
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if long:
                    cell.alignment = wrap
                if column.field.kind in (WHEN, ID, STRING):
                    cell.number_format = "@"  # "10-01" must stay text, not become a date
            choices = _choices(column.field, words)
            if choices:
                listing = ",".join(choices)
                check = DataValidation(type="list", formula1=f'"{listing}"', allow_blank=True)
                check.error = words("problem.not_choice", value="", choices=", ".join(choices))
                check.showErrorMessage = True
                sheet.add_data_validation(check)
                check.add(f"{letter}2:{letter}{last + 200}")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _choices(f: Field, words: Words) -> list[str]:
    if f.kind == CHOICE:
        return [words.label(c) for c in f.choices]
    if f.kind == FLAG:
        return [words("yes_mark")]
    return []


# -- reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SheetProblem:
    sheet: str
    row: int | None
    column: str | None
    message: str
    warning: bool = False

    def where(self, words: Words) -> str:
        if self.row is None:
            return words("where_sheet", sheet=self.sheet)
        if self.column is None:
            return words("where_row", sheet=self.sheet, row=self.row)
        return words("where", sheet=self.sheet, row=self.row, column=self.column)

    def render(self, words: Words) -> str:
        return f"{self.where(words)}: {self.message}"


@dataclass
class Imported:
    """What a workbook made of the content: the new data, problems, and where each field came
    from (file, field path) -> (sheet, row, column header), to place later problems."""

    data: ContentData | None
    problems: list[SheetProblem] = field(default_factory=list)
    warnings: list[SheetProblem] = field(default_factory=list)
    origins: dict[tuple[str, str], tuple[str, int, str | None]] = field(default_factory=dict)


class _Sheet:
    """One sheet of the uploaded workbook: its header columns and its non-empty rows."""

    def __init__(self, name: str, columns: list[Column], rows: list[tuple[int, dict]]) -> None:
        self.name = name
        self.columns = columns  # the expected ones present in the first row
        self.rows = rows  # (row number, header -> cell value)


class _Reading:
    def __init__(self, words: Words, base: ContentData) -> None:
        self.w = words
        self.base = base
        self.out = Imported(None)

    def problem(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.out.problems.append(SheetProblem(sheet, row, column, message))

    def warn(self, sheet: str, row: int, column: str, message: str) -> None:
        self.out.warnings.append(SheetProblem(sheet, row, column, message, warning=True))

    def origin(self, file: str, path: str, sheet: _Sheet, row: int, column: str | None) -> None:
        self.out.origins[(file, path)] = (sheet.name, row, column)

    # -- one cell ----------------------------------------------------------------------------
    def value(self, sheet: _Sheet, row: int, cells: dict, column: Column, base: dict) -> Any:
        """The value `column` gives `base`'s field: the base value when the cell reads as it was
        exported, the parsed cell otherwise; `_MISSING` after a problem."""
        raw = cells.get(column.header)
        if isinstance(raw, str) and raw.startswith("="):
            self.problem(sheet.name, row, column.header, self.w("problem.formula"))
            return _MISSING
        shown = _cell_text(raw)
        f = column.field
        if shown == _cell_text(_render(column, base, self.w)):
            return _KEEP
        if not shown:
            if f.required and f.kind != TEXT:
                self.problem(sheet.name, row, column.header, self.w("problem.empty"))
                return _MISSING
            return None
        return self.parse(sheet, row, column, raw, shown)

    def parse(self, sheet: _Sheet, row: int, column: Column, raw: Any, shown: str) -> Any:
        f, w = column.field, self.w

        def bad(key: str, **params: Any) -> Any:
            self.problem(sheet.name, row, column.header, w(f"problem.{key}", **params))
            return _MISSING

        if f.kind in (NUMBER, INT, PASS):
            number = _number(raw)
            if number is None:
                return bad("not_number", value=shown)
            if f.kind == INT and not float(number).is_integer():
                return bad("not_whole", value=shown)
            return int(number) if float(number).is_integer() else number
        if f.kind == ID:
            if not ID_PATTERN.match(shown) or len(shown.encode()) > MAX_ID_BYTES:
                return bad("bad_id", value=shown)
            return shown
        if f.kind == CHOICE:
            found = _pick(shown, {c: w.label(c) for c in f.choices})
            if found is None:
                return bad("not_choice", value=shown, choices=", ".join(_choices(f, w)))
            return found
        if f.kind == FLAG:
            return True if _fold(shown) in (_fold(w("yes_mark")), "x", "true", "1") else None
        if f.kind == ROLES:
            ids = []
            for part in filter(None, (p.strip() for p in shown.split(","))):
                found = _pick(part, w.roles)
                if found is None:
                    return bad("unknown_role", value=part, choices=", ".join(w.roles.values()))
                ids.append(found)
            return ids or None
        if f.kind == CODES:
            return [p.strip() for p in shown.split(",") if p.strip()] or None
        if f.kind == REMINDERS:
            out = []
            for part in filter(None, (p.strip() for p in shown.split(";"))):
                match = _REMINDER.match(part)
                if match is None:
                    return bad("bad_reminders", value=part)
                days, hh, mm = match.groups()
                out.append({"days_before": int(days), "at": f"{int(hh):02d}:{mm}"})
            return out or None
        if f.kind == WHEN and isinstance(raw, datetime | date):
            return _when(raw)
        if f.kind in (PHRASES, TEXT_LIST):
            return [line.strip() for line in shown.split("\n") if line.strip()]
        return shown


_KEEP, _MISSING = object(), object()


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return raw
    text = str(raw).strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _fold(text: str) -> str:
    from bot.core.text import fold

    return fold(text).strip()


def _pick(shown: str, labels: dict[str, str]) -> str | None:
    """The value whose label (or the value itself) is `shown`, accents and case aside."""
    wanted = _fold(shown)
    for value, label in labels.items():
        if wanted in (_fold(label), _fold(value)):
            return value
    return None


def _when(moment: date | datetime) -> str:
    if isinstance(moment, datetime):
        if moment.hour or moment.minute:
            return f"{moment:%Y-%m-%d %H:%M}"
        moment = moment.date()
    return moment.isoformat()


def read_workbook(source: bytes, base: ContentData, words: Words) -> Imported:
    """The content `source` (an .xlsx) makes of `base`; `data` is None when it has problems."""
    reading = _Reading(words, base)
    sheets = _open(source, words, reading)
    if sheets is None:
        return reading.out
    # Every sheet that is there is read, so one import lists all the problems at once.
    data = copy.deepcopy(base)
    if "faq" in sheets:
        data.faq = _read_list(reading, sheets["faq"], base.faq, "faq.yaml", "faq")
    if "events" in sheets:
        data.events = _read_list(reading, sheets["events"], base.events, "events.yaml", "events")
    if "plans" in sheets:
        plans = _read_list(reading, sheets["plans"], list(base.plans.values()), None, "plans")
        data.plans = {p["id"]: p for p in plans}
    if {"definitions", "criteria", "questions", "options"} <= sheets.keys():
        _read_definitions(reading, sheets, data)
    if "ui" in sheets:
        _read_strings(reading, sheets["ui"], data)
    if not reading.out.problems:
        reading.out.data = data
    return reading.out


def _open(source: bytes, words: Words, reading: _Reading) -> dict[str, _Sheet] | None:
    from openpyxl import load_workbook

    name = words("sheet.guide")
    if len(source) > MAX_FILE_BYTES:
        size = f"{len(source) / 1048576:.1f}".replace(".", ",")
        reading.problem(name, None, None, words("problem.too_big", size=size, limit=5))
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            size = f"{unpacked / 1048576:.0f}"
            reading.problem(name, None, None, words("problem.too_big", size=size, limit=50))
            return None
        book = load_workbook(io.BytesIO(source), data_only=False)
    except Exception:  # a damaged or foreign file, whatever openpyxl makes of it
        reading.problem(name, None, None, words("problem.not_workbook"))
        return None
    expected = {words.sheet(spec): spec for spec in SHEETS}
    for title in book.sheetnames:
        if title not in expected and title != name:
            reading.problem(title, None, None, words("problem.unknown_sheet"))
    out = {}
    for title, spec in expected.items():
        if title not in book.sheetnames:
            reading.problem(title, None, None, words("problem.missing_sheet"))
            continue
        sheet = book[title]
        if sheet.max_row > MAX_ROWS + 1:
            reading.problem(
                title,
                None,
                None,
                words("problem.too_many_rows", count=sheet.max_row, limit=MAX_ROWS),
            )
            continue
        grid = sheet.iter_rows(values_only=True)
        header = [_cell_text(v) for v in next(grid, ())]
        columns = words.columns(spec)
        for column in columns:
            if column.header not in header:
                reading.problem(
                    title, 1, None, words("problem.missing_column", column=column.header)
                )
        rows = []
        for number, values in enumerate(grid, start=2):
            cells = {h: v for h, v in zip(header, values, strict=False) if h}
            if any(_cell_text(v) for v in cells.values()):
                rows.append((number, cells))
        present = [c for c in columns if c.header in header]  # a missing one: said once above
        if all(c in present for c in columns if c.field.kind == ID):  # rows need their ids
            out[spec.key] = _Sheet(title, present, rows)
    return out


def _apply(
    reading: _Reading,
    sheet: _Sheet,
    row: int,
    cells: dict,
    item: dict,
    base: dict,
    file: str,
    prefix: str,
) -> None:
    """Set `item`'s fields from the row's cells (item starts as a copy of `base`)."""
    for column in sheet.columns:
        f = column.field
        if not f.path:
            continue  # a parent key, read by the caller
        locale_path = f.path + ((column.locale,) if f.kind == TEXT else ())
        reading.origin(file, _dotted(prefix, locale_path), sheet, row, column.header)
        value = reading.value(sheet, row, cells, column, base)
        if value is _KEEP or value is _MISSING:
            continue
        if f.kind == TEXT:
            text = dict(_get(item, f.path) or {})
            text[column.locale] = value
            _set(item, f.path, {k: v for k, v in text.items() if v} or None)
        elif f.kind == PHRASES:
            phrases = dict(_get(item, f.path) or {})
            phrases[column.locale] = value or []
            _set(item, f.path, phrases)
        elif f.kind == TEXT_LIST:
            items = [dict(t) for t in _get(item, f.path) or []]
            lines = value or []
            items += [{} for _ in range(len(lines) - len(items))]
            for index, entry in enumerate(items):
                entry[column.locale] = lines[index] if index < len(lines) else None
            _set(item, f.path, items)
        elif f.kind == PASS:
            if item.get("kind") == "quiz":
                _set(item, ("pass_mark",), value)
            elif value is None:
                item["overall"] = {"all_criteria": True}
            else:
                item["overall"] = {
                    "min_total": value,
                    **{k: v for k, v in (item.get("overall") or {}).items() if k != "all_criteria"},
                }
        else:
            _set(item, f.path, value)
    _texts_complete(reading, sheet, row, item, file, prefix)


def _texts_complete(
    reading: _Reading, sheet: _Sheet, row: int, item: dict, file: str, prefix: str
) -> None:
    """Required texts present in Vietnamese; English filled from Vietnamese with a warning."""
    w = reading.w
    default, *others = reading.base.locales
    by_field: dict[Field, list[Column]] = {}
    for column in sheet.columns:
        if column.field.kind in (TEXT, TEXT_LIST) and column.field.path:
            by_field.setdefault(column.field, []).append(column)
    for f, columns in by_field.items():
        headers = {c.locale: c.header for c in columns}
        value = _get(item, f.path)
        if f.kind == TEXT_LIST:
            entries = value or []
            if f.required and not entries:
                reading.problem(sheet.name, row, headers[default], w("problem.empty"))
            for entry in entries:
                if not entry.get(default):
                    reading.problem(sheet.name, row, headers[default], w("problem.empty"))
                    break
                for locale in others:
                    if not entry.get(locale):
                        entry[locale] = entry[default]
                        reading.warn(
                            sheet.name, row, headers[locale], w("problem.english_fallback")
                        )
            continue
        if not value:
            if f.required:
                reading.problem(sheet.name, row, headers[default], w("problem.empty"))
            continue
        if not value.get(default):
            reading.problem(sheet.name, row, headers[default], w("problem.empty"))
            continue
        for locale in others:
            if not value.get(locale):
                value[locale] = value[default]
                reading.warn(sheet.name, row, headers[locale], w("problem.english_fallback"))


def _dotted(prefix: str, path: tuple) -> str:
    out = prefix
    for part in path:
        out += f".{part}" if out else str(part)
    return out


def _row_id(reading: _Reading, sheet: _Sheet, row: int, cells: dict, header: str) -> str | None:
    raw = cells.get(header)
    shown = _cell_text(raw)
    w = reading.w
    if isinstance(raw, str) and raw.startswith("="):
        reading.problem(sheet.name, row, header, w("problem.formula"))
    elif not shown:
        reading.problem(sheet.name, row, header, w("problem.empty"))
    elif not ID_PATTERN.match(shown) or len(shown.encode()) > MAX_ID_BYTES:
        reading.problem(sheet.name, row, header, w("problem.bad_id", value=shown))
    else:
        return shown
    return None


def _read_list(
    reading: _Reading, sheet: _Sheet, base: list[dict], file: str | None, key: str
) -> list[dict]:
    """A sheet of items with ids (FAQ, events, plans): one row each, in row order."""
    by_id = {str(item.get("id")): item for item in base}
    id_header = sheet.columns[0].header
    seen: dict[str, int] = {}
    out = []
    for row, cells in sheet.rows:
        item_id = _row_id(reading, sheet, row, cells, id_header)
        if item_id is None:
            continue
        if item_id in seen:
            reading.problem(
                sheet.name,
                row,
                id_header,
                reading.w("problem.duplicate", value=item_id, row=seen[item_id]),
            )
            continue
        seen[item_id] = row
        original = by_id.get(item_id, {"id": item_id})
        item = copy.deepcopy(original)
        if file is None:  # plans: a file each
            name, prefix = f"plans/{item_id}.yaml", ""
        else:
            name, prefix = file, f"{key}[{len(out)}]"
        reading.origin(name, prefix, sheet, row, None)
        _apply(reading, sheet, row, cells, item, original, name, prefix)
        out.append(item)
    return out


def _read_definitions(reading: _Reading, sheets: dict[str, _Sheet], data: ContentData) -> None:
    """Assessments and quizzes from four sheets: the definitions, then their criteria, questions
    and options, attached to their parents by the parent columns, in row order."""
    w, base = reading.w, reading.base.definitions
    defs_sheet = sheets["definitions"]
    id_header = defs_sheet.columns[0].header
    built: dict[str, dict] = {}
    rows_of: dict[str, int] = {}
    for row, cells in defs_sheet.rows:
        def_id = _row_id(reading, defs_sheet, row, cells, id_header)
        if def_id is None:
            continue
        if def_id in rows_of:
            reading.problem(
                defs_sheet.name,
                row,
                id_header,
                w("problem.duplicate", value=def_id, row=rows_of[def_id]),
            )
            continue
        rows_of[def_id] = row
        if def_id not in base:
            reading.problem(
                defs_sheet.name, row, id_header, w("problem.new_definition", value=def_id)
            )
            continue
        original = base[def_id]
        item = copy.deepcopy(original)
        file = f"{DEFINITION_FOLDERS[original['kind']]}/{def_id}.yaml"
        reading.origin(file, "", defs_sheet, row, None)
        _apply(reading, defs_sheet, row, cells, item, original, file, "")
        item["kind"] = original["kind"]  # the kind is the file's folder, not editable
        # The version is shown, not edited: a changed definition gets the next one when the
        # draft is written (a number typed by hand could reuse one that means something else).
        item["version"] = original.get("version", 1)
        item.pop("criteria" if item["kind"] == "assessment" else "questions", None)
        built[def_id] = item
    for def_id in base.keys() - rows_of.keys():
        reading.problem(defs_sheet.name, None, None, w("problem.removed_definition", value=def_id))

    def children(spec_key: str, parent_headers: int) -> list[tuple[int, tuple, dict, _Sheet]]:
        sheet = sheets[spec_key]
        out = []
        for row, cells in sheet.rows:
            keys = []
            for column in sheet.columns[:parent_headers]:
                raw = _cell_text(cells.get(column.header))
                keys.append(raw)
            def_id = keys[0]
            if def_id not in built:
                header = sheet.columns[0].header
                if not def_id:
                    reading.problem(sheet.name, row, header, w("problem.empty"))
                else:
                    reading.problem(
                        sheet.name,
                        row,
                        header,
                        w("problem.unknown_parent", value=def_id, sheet=defs_sheet.name),
                    )
                continue
            out.append((row, tuple(keys), cells, sheet))
        return out

    criteria: dict[tuple[str, str], dict] = {}
    for row, (def_id,), cells, sheet in children("criteria", 1):
        item_def = built[def_id]
        if item_def["kind"] != "assessment":
            reading.problem(
                sheet.name,
                row,
                sheet.columns[0].header,
                w("problem.unknown_parent", value=def_id, sheet=defs_sheet.name),
            )
            continue
        cid = _row_id(reading, sheet, row, cells, sheet.columns[1].header)
        if cid is None:
            continue
        original = _find(base[def_id].get("criteria"), cid)
        item = copy.deepcopy(original) if original else {"id": cid}
        item.pop("questions", None)
        lst = item_def.setdefault("criteria", [])
        prefix = f"criteria[{len(lst)}]"
        file = f"assessments/{def_id}.yaml"
        reading.origin(file, prefix, sheet, row, None)
        _apply(reading, sheet, row, cells, item, original or {}, file, prefix)
        item["questions"] = []
        lst.append(item)
        criteria[(def_id, cid)] = item

    questions: dict[tuple[str, str], dict] = {}
    for row, (def_id, cid), cells, sheet in children("questions", 2):
        item_def = built[def_id]
        qid = _row_id(reading, sheet, row, cells, sheet.columns[2].header)
        if qid is None:
            continue
        if item_def["kind"] == "quiz":
            owner, lst = None, item_def.setdefault("questions", [])
            old_list = base[def_id].get("questions")
            prefix = f"questions[{len(lst)}]"
        else:
            owner = criteria.get((def_id, cid))
            if owner is None:
                _no_parent(reading, sheet, row, cid, sheets["criteria"].name, w)
                continue
            lst = owner["questions"]
            old_list = [
                q for c in base[def_id].get("criteria") or [] for q in c.get("questions") or []
            ]
            index = item_def["criteria"].index(owner)
            prefix = f"criteria[{index}].questions[{len(lst)}]"
        original = _find(old_list, qid)
        item = copy.deepcopy(original) if original else {"id": qid}
        file = f"{DEFINITION_FOLDERS[item_def['kind']]}/{def_id}.yaml"
        reading.origin(file, prefix, sheet, row, None)
        _apply(reading, sheet, row, cells, item, original or {}, file, prefix)
        item["options"] = []
        item["_prefix"] = prefix
        lst.append(item)
        questions[(def_id, qid)] = item

    for row, (def_id, qid), cells, sheet in children("options", 2):
        item_def = built[def_id]
        owner = questions.get((def_id, qid))
        if owner is None:
            _no_parent(reading, sheet, row, qid, sheets["questions"].name, w)
            continue
        oid = _row_id(reading, sheet, row, cells, sheet.columns[2].header)
        if oid is None:
            continue
        old_q = _find(
            base[def_id].get("questions")
            or [q for c in base[def_id].get("criteria") or [] for q in c.get("questions") or []],
            qid,
        )
        original = _find((old_q or {}).get("options"), oid)
        item = copy.deepcopy(original) if original else {"id": oid}
        prefix = f"{owner['_prefix']}.options[{len(owner['options'])}]"
        file = f"{DEFINITION_FOLDERS[item_def['kind']]}/{def_id}.yaml"
        reading.origin(file, prefix, sheet, row, None)
        _apply(reading, sheet, row, cells, item, original or {}, file, prefix)
        if item_def["kind"] == "quiz":
            item.pop("points", None)
        else:
            item.pop("correct", None)
        owner["options"].append(item)

    for question in questions.values():
        question.pop("_prefix", None)
    for def_id, item in built.items():
        _recount(item, base[def_id])
    data.definitions = built


def _recount(item: dict, original: dict) -> None:
    """Declared sums (a criterion's max_points, total_points) follow the edited points, so
    changing one option's points does not also mean editing two sums by hand."""
    if item.get("kind") != "assessment":
        return
    total = 0.0
    for criterion in item.get("criteria") or []:
        best = sum(
            max((o.get("points") or 0 for o in q.get("options") or []), default=0)
            for q in criterion.get("questions") or []
        )
        total += best
        if "max_points" in criterion:
            criterion["max_points"] = _tidy(best)
    if "total_points" in original:
        item["total_points"] = _tidy(total)


def _tidy(number: float) -> float | int:
    return int(number) if float(number).is_integer() else number


def _no_parent(reading: Any, sheet: Any, row: int, parent: str, parents: str, w: Any) -> None:
    """A row whose parent (its criterion, its question) is empty or named in no row of the
    `parents` sheet: one problem on its parent column."""
    key = "empty" if not parent else "unknown_parent"
    message = w(f"problem.{key}", value=parent, sheet=parents)
    reading.problem(sheet.name, row, sheet.columns[1].header, message)


def _find(items: list | None, item_id: str) -> dict | None:
    return next((i for i in items or [] if isinstance(i, dict) and i.get("id") == item_id), None)


def _read_strings(reading: _Reading, sheet: _Sheet, data: ContentData) -> None:
    """The UI strings: the same keys as before (the code asks for them), texts edited."""
    w = reading.w
    default = data.locales[0]
    key_header = sheet.columns[0].header
    known = {k for k in reading.base.strings[default] if not k.startswith(f"{KEYS}.")}
    seen: dict[str, int] = {}
    for row, cells in sheet.rows:
        key = _cell_text(cells.get(key_header))
        if key not in known:
            reading.problem(sheet.name, row, key_header, w("problem.unknown_key", value=key))
            continue
        if key in seen:
            reading.problem(
                sheet.name, row, key_header, w("problem.duplicate", value=key, row=seen[key])
            )
            continue
        seen[key] = row
        base_item = {"value": {loc: reading.base.strings[loc].get(key) for loc in data.locales}}
        is_list = isinstance(base_item["value"][default], list)
        for column in sheet.columns[1:]:
            locale = column.locale
            reading.origin(f"locales/{locale}.yaml", key, sheet, row, column.header)
            value = reading.value(sheet, row, cells, column, base_item)
            if value is _KEEP or value is _MISSING:
                continue
            if value is None and locale == default:
                reading.problem(sheet.name, row, column.header, w("problem.empty"))
                continue
            if value is None:
                value = data.strings[default][key]
                reading.warn(sheet.name, row, column.header, w("problem.english_fallback"))
            if is_list:
                value = [line.strip() for line in str(value).split("\n") if line.strip()]
            data.strings[locale][key] = value
    for key in sorted(known - seen.keys()):
        reading.problem(sheet.name, None, None, w("problem.missing_key", value=key))
