"""UI strings by locale, and numbers and dates written the way each language writes them.

Vietnamese is the default: a string missing in English falls back to Vietnamese (the content check
reports it as a missing translation). Values put into a string are HTML-escaped unless they are
`Markup` (text the bot itself already rendered), so a member's name can never inject markup.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Any

from bot.catalog import Catalog
from bot.catalog.reader import Text


class Markup(str):
    """Text that is already safe HTML and must not be escaped again."""

    __slots__ = ()


def escape(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=False))


class Translator:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog  # read at each use: published content replaces it while running
        self.default = catalog.campaign.default_locale
        self.available = catalog.campaign.locales

    def locale_for(self, language_code: str | None) -> str:
        """The locale to greet a new member in, from their app's language."""
        if language_code:
            short = language_code.split("-")[0].lower()
            if short in self.available:
                return short
        return self.default

    def raw(self, locale: str, key: str) -> Any:
        return self._catalog.locales.get(locale, key)

    def t(self, locale: str, key: str, **params: Any) -> Markup:
        template = self._catalog.locales.get(locale, key)
        if not params:
            return Markup(template)
        return Markup(template.format_map({k: escape(v) for k, v in params.items()}))

    def text(self, locale: str, value: Text) -> Markup:
        """A content text (plans, titles, ...) in `locale`, escaped for display."""
        return escape(value.get(locale, self.default))

    # Forms (VOICE.md): 1.234 and 68,5 in Vietnamese; 1,234 and 68.5 in English.
    def number(self, locale: str, value: float, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        if locale == "vi":
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return text

    def percent(self, locale: str, value: float) -> str:
        decimals = 0 if float(value).is_integer() else 1
        return f"{self.number(locale, value, decimals)}%"

    def date(self, locale: str, day: date | datetime) -> str:
        """ "Thứ Năm, 01/10/2026" (the weekday names come from the locale file)."""
        weekdays = self._catalog.locales.get(locale, "format.weekdays")
        return f"{weekdays[day.weekday()]}, {day:%d/%m/%Y}"

    def time(self, moment: datetime) -> str:
        return f"{moment:%H:%M}"
