"""Typed content: what the association publishes, as the bot uses it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.catalog.reader import Text
from bot.core.text import fold


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    label: Text


@dataclass(frozen=True, slots=True)
class Title:
    """A learning-model title ("Gia đình học tập", ...) and the association's targets for it."""

    id: str
    name: Text
    targets: dict[int, float]  # year -> percentage


@dataclass(frozen=True, slots=True)
class Campaign:
    association: Text
    city: Text
    timezone: str
    default_locale: str
    locales: tuple[str, ...]
    locale_names: dict[str, str]
    roles: tuple[Role, ...]
    titles: tuple[Title, ...]

    def role(self, role_id: str | None) -> Role | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def title(self, title_id: str | None) -> Title | None:
        return next((t for t in self.titles if t.id == title_id), None)

    def find_role(self, value: str) -> Role | None:
        """The role `value` names: its id ("ho-gia-dinh") or its label in any language, typed
        without accents or capitals ("ho gia dinh", "Household")."""
        wanted = fold(value)
        for role in self.roles:
            if role.id == value or any(fold(label) == wanted for label in role.label.all()):
                return role
        return None


@dataclass(frozen=True, slots=True)
class Target:
    label: Text
    title_id: str | None
    by_year: dict[int, float | None]
    note: Text | None


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    order: int
    scope: str  # "city" | "national"
    implements: str | None
    title: Text
    button: Text
    issuer: Text
    summary: Text
    targets: tuple[Target, ...]
    tasks: tuple[Text, ...]
    what_you_can_do: tuple[Text, ...]
    source: Text
    unconfirmed: Text | None


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    name: str
    type: str  # "phuong" | "xa"
    folded: str = field(compare=False, default="")


_TYPE_WORDS = ("phuong", "p", "p.", "xa", "x", "x.")  # a leading "phường"/"xã" as people type it


class Areas:
    """Cần Thơ's wards and communes, in the official order, searchable the way people type."""

    def __init__(self, areas: list[Area]) -> None:
        self.all = tuple(areas)
        self._by_code = {a.code: a for a in areas}

    def __len__(self) -> int:
        return len(self.all)

    def get(self, code: str | None) -> Area | None:
        return self._by_code.get(code or "")

    def resolve(self, value: str) -> Area | list[Area]:
        """The one area `value` names, or the candidates when it names several or none.

        `value` is a code ("31393") or a name typed the way people type it ("Hòa An", "hoa an",
        "xã Hòa An"). A name that is exactly one area's, or matches only one, is that area;
        otherwise the list holds every area it could mean (empty: nothing like it), for the
        person to choose from. Used wherever staff name an area (the CLI's --area, branches).
        """
        found = self.get(value.strip())
        if found is not None:
            return found
        candidates = self.search(value, limit=len(self.all))
        words = fold(value).replace("-", " ").split()
        if words and words[0] in _TYPE_WORDS:
            words = words[1:]
        exact = [area for area in candidates if area.folded == " ".join(words)]
        if len(exact) == 1:
            return exact[0]
        if len(candidates) == 1:
            return candidates[0]
        return exact or candidates

    def search(self, query: str, limit: int = 8) -> list[Area]:
        """Areas whose name matches `query`, accent- and case-insensitive, best first.

        "ninh kieu" finds Ninh Kiều; "hoa" finds both "Hòa" and "Hoà" spellings; a leading
        "phường"/"xã" narrows to that type.
        """
        words = fold(query).replace("-", " ").split()
        wanted_type = None
        if words and words[0] in _TYPE_WORDS:
            wanted_type = "phuong" if words[0].startswith("p") else "xa"
            words = words[1:]
        needle = " ".join(words)
        if not needle:
            return []
        ranked: list[tuple[int, int, Area]] = []
        for index, area in enumerate(self.all):
            if wanted_type and area.type != wanted_type:
                continue
            name = area.folded
            if name == needle:
                rank = 0
            elif name.startswith(needle):
                rank = 1
            elif f" {needle}" in f" {name}":
                rank = 2  # a later word starts with the query
            elif needle in name:
                rank = 3
            elif all(any(w.startswith(q) for w in name.split()) for q in words):
                rank = 4  # every typed word starts some word of the name, in any order
            else:
                continue
            ranked.append((rank, index, area))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [area for _, _, area in ranked[:limit]]


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    question: Text
    answer: Text
    alternates: dict[str, tuple[str, ...]]  # locale -> other phrasings
    section: str | None = None
