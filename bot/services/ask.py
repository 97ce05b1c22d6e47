"""Answers from the campaign's own content for questions members type.

Everything a member might ask about is indexed: the FAQ (its question and every other phrasing),
the plans, the self-assessments (with their criteria and questions) and the events. Text is folded
(no accents, no case, both tone-mark spellings alike) and split into syllables; Vietnamese words are
mostly two syllables ("gia đình", "học tập"), so syllable pairs are indexed too. BM25 (rank-bm25)
ranks the documents; an FAQ entry is scored by its best phrasing.

Folding makes different words alike ("căn" and "cần", "gạo" and "gao"), and a score can be high on
two shared words while the question is about something else. So an answer is given directly only
when the item covers most of the question's words, compared with their marks when the member typed
them ("căn cước" is not "cần"); and typo-mending leaves a word typed with its marks alone: a
syllable typed with marks is a real word, not a slip of the keys ("gạo" must not become "giáo").
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rank_bm25 import BM25Okapi

from bot.core.text import fold

if TYPE_CHECKING:
    from bot.catalog import Catalog

# Words that say nothing about the topic ("how", "is", "please"...), folded.
STOPWORDS = frozenset(
    """
    la gi the nao lam sao nhu co khong ko k thi va voi cua cho em anh chi toi minh ban hoi oi ad
    a ah a. ạ nhe nha vay duoc bao nhieu o dau khi nao ai ve tu den nay do nhung cac mot nhieu it
    xin vui long giup can muon biet hay la ra vao len di de se da dang bi tai sao vi
    chao alo hello hi
    what is the how does can my of for are when where who which about
    """.split()
)
_SPLIT = re.compile(r"[^0-9a-z]+")
# Short forms people type on phones, folded -> their words.
ABBREVIATIONS = {
    "gd": "gia dinh",
    "gdht": "gia dinh hoc tap",
    "dh": "dong ho",
    "dhht": "dong ho hoc tap",
    "cd": "cong dong",
    "cdht": "cong dan hoc tap",
    "dvht": "don vi hoc tap",
    "ht": "hoc tap",
    "dk": "dang ki",
    "sdt": "so dien thoai",
    "dt": "dien thoai",
    "tp": "thanh pho",
    "hkh": "hoi khuyen hoc",
    "kh": "khuyen hoc",
    "hs": "hoc sinh",
    "tt": "thong tin",
}
_VOWELS = set("aeiou")


def _syllable(word: str) -> str:
    """One spelling for interchangeable forms: final "y" after a consonant is "i" (kỹ/kĩ, lý/lí)."""
    if len(word) >= 2 and word.endswith("y") and word[-2] not in _VOWELS:
        return word[:-1] + "i"
    return word


CONFIDENT_SCORE = 6.0  # top score at least this and clearly ahead: answer directly
CONFIDENT_MARGIN = 1.15
SUGGEST_SCORE = 2.5  # below this, nothing is close enough to offer
# A direct answer also needs most of the question's words in the answer's own text: "thủ tục làm
# căn cước" shares "thủ tục, làm" with how to register a learning family, and nothing else.
CONFIDENT_COVERAGE = 0.6
SUGGEST_COVERAGE = 0.25  # an item sharing less than a quarter of the question is not offered


# The tone marks (huyền, sắc, ngã, hỏi, nặng); the other marks (ă, â, ơ...) make other letters.
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
_RAW_SPLIT = re.compile(r"[\W_]+")
# The Vietnamese stopwords with their marks: folded, "căn" (as in "căn cước") would be "can",
# taken for "cần" and dropped; a word typed with marks is a stopword only if these name it.
MARKED_STOPWORDS_TEXT = """
    là gì thế nào làm sao như có không thì và với của cho em anh chị tôi mình bạn hỏi ơi à ạ nhé
    nha vậy được bao nhiêu ở đâu khi ai về từ đến này đó những các một nhiều ít xin vui lòng giúp
    cần muốn biết hay ra vào lên đi để sẽ đã đang bị tại vì chào
"""


def _marked(raw: str) -> str:
    """A syllable as typed with its marks, spelt one way whichever vowel carries the tone
    ("hoà"/"hòa") and with "y" for "i" alike ("kỹ"/"kĩ"); "" when it was typed without marks."""
    decomposed = unicodedata.normalize("NFD", raw.casefold())
    tone = "".join(_TONES.get(c, "") for c in decomposed)
    letters = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    if letters.isascii() and not tone:
        return ""
    if len(letters) >= 2 and letters.endswith("y") and fold(letters[-2]) not in _VOWELS:
        letters = letters[:-1] + "i"
    return letters + tone


MARKED_STOPWORDS = frozenset(_marked(word) for word in MARKED_STOPWORDS_TEXT.split())


def typed_words(text: str) -> list[tuple[str, str]]:
    """Every word of `text` as (folded syllable, the syllable with its marks or "")."""
    found: list[tuple[str, str]] = []
    for raw in _RAW_SPLIT.split(text):
        pieces = [p for p in _SPLIT.split(fold(raw)) if p]
        for piece in pieces:
            expansion = ABBREVIATIONS.get(piece, _syllable(piece)).split()
            mark = _marked(raw) if len(pieces) == 1 and len(expansion) == 1 else ""
            found += [(word, mark) for word in expansion]
    return found


def _says_something(word: str, mark: str) -> bool:
    """Not a stopword, judged by its marks when it has them ("căn" is not "cần")."""
    return mark not in MARKED_STOPWORDS if mark else word not in STOPWORDS


def words_of(text: str) -> list[str]:
    """The folded syllables that say something about the topic (the ranking's words)."""
    return [word for word, _ in typed_words(text) if word not in STOPWORDS]


def tokens(text: str, fix: dict[str, str] | None = None) -> list[str]:
    """Syllables and syllable pairs; `fix` maps misspelt syllables to known ones."""
    words = words_of(text)
    if fix:
        words = [fix.get(w, w) for w in words]
    return words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]


def _near(word: str, vocabulary: dict[str, int]) -> str | None:
    """The most common known syllable one edit away (a typo: "hocc", "xuot")."""
    if len(word) < 3:
        return None
    letters = "abcdefghijklmnopqrstuvwxyz"
    candidates = set()
    for i in range(len(word) + 1):
        candidates.update(word[:i] + c + word[i:] for c in letters)  # a letter missing
        if i < len(word):
            candidates.add(word[:i] + word[i + 1 :])  # a letter too many
            candidates.update(word[:i] + c + word[i + 1 :] for c in letters)  # a wrong letter
    known = [c for c in candidates if c in vocabulary]
    return max(known, key=lambda c: (vocabulary[c], c)) if known else None


@dataclass(frozen=True, slots=True)
class Match:
    kind: str  # faq | plan | assess | event
    id: str
    score: float
    coverage: float = 1.0  # the share of the question's words its best text contains

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Ranking:
    matches: tuple[Match, ...]

    @property
    def confident(self) -> Match | None:
        """The top match when it is strong and clearly ahead of the next one."""
        if not self.matches or self.matches[0].score < CONFIDENT_SCORE:
            return None
        if self.matches[0].coverage < CONFIDENT_COVERAGE:
            # A strong score on a few shared words ("nhà", "thủ tục") while the rest of the
            # question is about something else: it may be a question the content does not cover.
            return None
        if (
            len(self.matches) > 1
            and self.matches[0].score < CONFIDENT_MARGIN * self.matches[1].score
        ):
            return None
        return self.matches[0]

    def suggestions(self, limit: int = 3) -> tuple[Match, ...]:
        return tuple(
            m
            for m in self.matches[:limit]
            if m.score >= SUGGEST_SCORE and m.coverage >= SUGGEST_COVERAGE
        )


class Answerer:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._built_for = catalog.current
        self._build(self._built_for)

    def _build(self, catalog: Catalog) -> None:
        """The index of `catalog`'s texts (built again when published content replaces it)."""
        documents: list[list[str]] = []
        owners: list[tuple[str, str]] = []
        # Every word an item's texts use (all its phrasings, an FAQ's answer too): how much of a
        # question an item covers, to tell an answer from a chance meeting of a few words.
        covered: dict[tuple[str, str], set[str]] = {}

        def cover(owner: tuple[str, str], text: str) -> None:
            words = {w for pair in typed_words(text) for w in pair}
            covered.setdefault(owner, set()).update(words)

        def add(kind: str, item_id: str, *texts: str) -> None:
            words = tokens(" ".join(texts))
            if words:
                documents.append(words)
                owners.append((kind, item_id))
                cover((kind, item_id), " ".join(texts))

        def phrasings(key: str, **names: str) -> list[str]:
            """Ways people ask for a content item, from content (ask.phrasings.*)."""
            found = []
            for locale in catalog.campaign.locales:
                for template in catalog.locales.get(locale, f"ask.phrasings.{key}"):
                    found.append(template.format(**{k: v[locale] for k, v in names.items()}))
            return found

        for entry in catalog.faq:
            # Each phrasing is its own document, so a short exact phrasing is not drowned by others.
            for text in (
                *entry.question.all(),
                *(p for ps in entry.alternates.values() for p in ps),
            ):
                add("faq", entry.id, text)
            cover(("faq", entry.id), " ".join(entry.answer.all()))
        for plan in catalog.plans:
            add("plan", plan.id, *plan.title.all(), *plan.summary.all())
            for text in phrasings("plan", name=dict(plan.button.values)):
                add("plan", plan.id, text)
        for definition in catalog.definitions:
            if definition.kind != "assessment":
                continue
            texts = [*definition.title.all(), *definition.intro.all()]
            for criterion in definition.criteria:
                texts += criterion.title.all()
            add("assess", definition.id, *texts)
            title = catalog.campaign.title(definition.title_id)
            names = dict((title.name if title else definition.button).values)
            for text in phrasings("assess", name=names):
                add("assess", definition.id, text)
        for event in catalog.events:
            add("event", event.id, *event.title.all(), *event.description.all())
            for text in phrasings("event", name=dict(event.title.values)):
                add("event", event.id, text)
        self._owners = owners
        self._covered = covered
        self._vocabulary: dict[str, int] = {}
        for document in documents:
            for word in document:
                if "_" not in word:
                    self._vocabulary[word] = self._vocabulary.get(word, 0) + 1
        self._bm25 = BM25Okapi(documents) if documents else None

    def rank(self, question: str, limit: int = 5) -> Ranking:
        if self._catalog.current is not self._built_for:
            self._built_for = self._catalog.current
            self._build(self._built_for)
        typed = typed_words(question)
        fix = {}
        for word, mark in typed:
            # Only a word typed without marks may be a slip of the keys: one typed with its
            # marks is the word meant, and mending it would make it another ("gạo", "giáo").
            if not mark and word not in STOPWORDS and word not in self._vocabulary:
                near = _near(word, self._vocabulary)
                if near is not None:
                    fix[word] = near
        words = [fix.get(word, word) for word, _ in typed if word not in STOPWORDS]
        words += [f"{a}_{b}" for a, b in itertools.pairwise(words)]
        if not words or self._bm25 is None:
            return Ranking(())
        scores = self._bm25.get_scores(words)
        best: dict[tuple[str, str], float] = {}
        for owner, score in zip(self._owners, scores, strict=True):
            if score > best.get(owner, 0.0):
                best[owner] = float(score)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:limit]
        # Each word asked, as typed: with its marks when it had them, else folded (and mended).
        asked = {mark or fix.get(word, word) for word, mark in typed if _says_something(word, mark)}
        if not asked:
            return Ranking(())
        return Ranking(
            tuple(
                Match(kind, item_id, score, len(asked & self._covered[kind, item_id]) / len(asked))
                for (kind, item_id), score in ranked
            )
        )
