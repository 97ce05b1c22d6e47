"""What staff read at the terminal, in their language.

Every sentence a `khuyenhoc` command prints lives under the `cli:` section of
content/locales/vi.yaml and en.yaml (the content shipped with the code: the words of the tool, not
of the campaign a home may have edited). A command prints one with `say`:

    say("announce.recorded", id=12, count=number(14))     # a line on stdout
    say("usage.no_database", err=True, path=db)            # a mistake: one line on stderr
    line = text("status.scheduled")                        # the words, to put in a table

Keys are given without the `cli.` prefix; values fill `{name}` placeholders. The language is
Vietnamese unless `choose()` picks English: `--lang en`, or a staffer's locale (LC_ALL,
LC_MESSAGES or LANG) starting with "en". A key missing in English falls back to Vietnamese
(`khuyenhoc content check` reports it), one missing in both prints the key itself rather than
a traceback. Log lines are not said: they go to stderr through `logging`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

DEFAULT = "vi"
LANGUAGES = ("vi", "en")

_language = DEFAULT
_strings: dict[str, dict[str, str]] = {}  # language -> dotted key (below cli.) -> text


def choose(given: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language of this process's output: `given` (--lang), else the staffer's locale."""
    global _language
    environ = os.environ if environ is None else environ
    if given in LANGUAGES:
        _language = given
    else:
        # The first of these set decides, as for any program (LC_ALL overrides the others).
        chosen = next(
            (environ[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(name)),
            "",
        )
        _language = "en" if chosen.lower().startswith("en") else DEFAULT
    return _language


def language() -> str:
    return _language


def text(key: str, **values: Any) -> str:
    """The `cli.<key>` sentence in the chosen language, its placeholders filled."""
    template = _lookup(_language, key) or _lookup(DEFAULT, key) or key
    return template.format_map(values) if values else template


def say(key: str, *, err: bool = False, end: str = "\n", **values: Any) -> None:
    """Print the `cli.<key>` sentence: on stdout, or stderr with `err=True` (a mistake)."""
    stream: TextIO = sys.stderr if err else sys.stdout
    print(text(key, **values), end=end, file=stream, flush=True)


def number(value: float, decimals: int = 0) -> str:
    """1.234 and 68,5 in Vietnamese; 1,234 and 68.5 in English (VOICE.md)."""
    written = f"{value:,.{decimals}f}"
    if _language == "vi":
        written = written.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return written


def _lookup(language: str, key: str) -> str | None:
    if language not in _strings:
        _strings[language] = _load(language)
    return _strings[language].get(key)


def _load(language: str) -> dict[str, str]:
    import yaml

    from bot.home import bundled_content

    folder = bundled_content()
    file = folder / "locales" / f"{language}.yaml" if folder else None
    if file is None or not file.is_file():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(file.read_text(encoding="utf-8"), Loader=loader) or {}
    flat: dict[str, str] = {}
    _flatten(data.get("cli") or {}, "", flat)
    return flat


def _flatten(data: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(data, str):
        out[prefix] = data
