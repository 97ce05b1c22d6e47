"""Reading content files with enough bookkeeping to name the file, field and line of a problem.

`Reader` walks one parsed YAML document. Each accessor takes a field path, checks the value's
type (and, for texts, NFC and a translation for every locale), records a `Problem` when something
is wrong and returns a safe fallback, so one run of the content check lists every problem at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Content ids travel inside button data (64 bytes at most). Every action packs one content id plus
# at most 40 bytes of prefix and small fields, so ids are held to 24 ASCII bytes.
MAX_ID_BYTES = 24
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")

PathPart = str | int
FieldPath = tuple[PathPart, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"


def format_path(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True, slots=True)
class Text:
    """A text in every locale, e.g. Text({"vi": "Kế hoạch", "en": "Plans"})."""

    values: Mapping[str, str]

    def __bool__(self) -> bool:
        return bool(self.values)

    def get(self, locale: str, default_locale: str = "vi") -> str:
        return self.values.get(locale) or self.values.get(default_locale) or ""

    def all(self) -> Iterator[str]:
        return iter(self.values.values())


def _line_map(node: yaml.Node, path: FieldPath, out: dict[FieldPath, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _line_map(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), out)


def load_yaml(file: Path, root: Path) -> tuple[Any, dict[FieldPath, int], list[Problem]]:
    """Parse one YAML file; returns (data, line numbers by path, problems)."""
    name = _display_name(file, root)
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [Problem(name, "", f"cannot read: {exc}")]
    try:
        node, data = _parse(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, {}, [Problem(name, "", f"not valid YAML: {exc}", line)]
    if node is None:
        return None, {}, [Problem(name, "", "file is empty")]
    lines: dict[FieldPath, int] = {}
    _line_map(node, (), lines)
    return data, lines, []


# libyaml (ten times faster) when PyYAML was built with it; same documents, same line numbers.
_FAST_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(source: str, loader_class: type = _FAST_LOADER) -> tuple[yaml.Node | None, Any]:
    """(root node, data); on an error from libyaml, the pure-Python parser's error instead: it
    quotes the line and points at the column."""
    loader = loader_class(source)
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    except yaml.YAMLError:
        if loader_class is yaml.SafeLoader:
            raise
        return _parse(source, yaml.SafeLoader)
    finally:
        loader.dispose()


def _display_name(file: Path, root: Path) -> str:
    try:
        return str(file.relative_to(root.parent))
    except ValueError:
        return str(file)


class Reader:
    """Typed, problem-collecting access to one parsed content document."""

    def __init__(
        self,
        file: str,
        data: Any,
        lines: dict[FieldPath, int],
        locales: tuple[str, ...],
        problems: list[Problem],
    ) -> None:
        self.file = file
        self.data = data
        self.lines = lines
        self.locales = locales
        self.problems = problems

    def with_locales(self, locales: tuple[str, ...]) -> Reader:
        """The same document read for these languages (campaign.yaml names them itself)."""
        return Reader(self.file, self.data, self.lines, locales, self.problems)

    def problem(self, path: FieldPath, message: str) -> None:
        line = None
        for depth in range(len(path), -1, -1):
            line = self.lines.get(path[:depth])
            if line:
                break
        self.problems.append(Problem(self.file, format_path(path), message, line))

    def raw(self, path: FieldPath, *, required: bool = True) -> Any:
        node = self.data
        for part in path:
            if isinstance(node, list) and isinstance(part, int):
                node = node[part] if part < len(node) else None
            elif isinstance(node, dict):
                node = node.get(part)
            else:
                node = None
            if node is None:
                if required:
                    self.problem(path, "missing")
                return None
        return node

    def string(self, path: FieldPath, *, required: bool = True, default: str = "") -> str:
        value = self.raw(path, required=required)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.problem(path, "must be non-empty text")
            return default
        self._check_nfc(path, value)
        return value.strip()

    def number(self, path: FieldPath, *, required: bool = True) -> float | None:
        value = self.raw(path, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(path, f"must be a number, not {value!r}")
            return None
        return value

    def text(self, path: FieldPath, *, required: bool = True) -> Text:
        value = self.raw(path, required=required)
        if value is None:
            return Text({})
        if not isinstance(value, dict):
            self.problem(path, "must map each language to a text, e.g. {vi: ..., en: ...}")
            return Text({})
        out = {}
        for locale in self.locales:
            item = value.get(locale)
            if item is None or (isinstance(item, str) and not item.strip()):
                self.problem((*path, locale), "missing translation")
            elif not isinstance(item, str):
                self.problem((*path, locale), "must be text")
            else:
                self._check_nfc((*path, locale), item)
                out[locale] = item.strip()
        for extra in set(value) - set(self.locales):
            self.problem((*path, extra), f"unknown language (known: {', '.join(self.locales)})")
        return Text(out)

    def items(self, path: FieldPath, *, required: bool = True) -> list[FieldPath]:
        """Paths of the entries of a list field."""
        value = self.raw(path, required=required)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, "must be a list")
            return []
        return [(*path, index) for index in range(len(value))]

    def _check_nfc(self, path: FieldPath, value: str) -> None:
        if not unicodedata.is_normalized("NFC", value):
            self.problem(path, "text is not Unicode NFC (re-save it NFC-normalised)")
