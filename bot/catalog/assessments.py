"""Self-assessment and knowledge-check definitions: their models, parsing and validation.

A self-assessment checks a household, clan, community, unit or citizen against a title's criteria;
a knowledge check ("quiz") checks that a member has understood a plan. Both become the same
`Definition` (a quiz is one criterion whose questions score 1 for the right answer), so one
scoring engine and one conversation serve both.

`parse_definition` works on plain data, so a definition can be rebuilt from the snapshot stored
when a member started it: a run always finishes on the version it began with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.catalog.reader import ID_PATTERN, MAX_ID_BYTES, Reader, Text

ASSESSMENT, QUIZ = "assessment", "quiz"
OPTION_LABEL_MAX = 32


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    text: Text
    points: float
    correct: bool = False


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: Text
    options: tuple[Option, ...]
    explanation: Text | None = None

    @property
    def max_points(self) -> float:
        return max(o.points for o in self.options)


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    title: Text
    min_points: float
    advice: Text
    questions: tuple[Question, ...]

    @property
    def max_points(self) -> float:
        return sum(q.max_points for q in self.questions)


@dataclass(frozen=True, slots=True)
class Overall:
    """The verdict rule: every criterion met, or a minimum total (and a floor per question)."""

    all_criteria: bool = False
    min_total: float | None = None
    min_each_question: float | None = None


@dataclass(frozen=True, slots=True)
class Link:
    text: Text
    url: str


@dataclass(frozen=True)
class Definition:
    id: str
    version: int
    kind: str  # ASSESSMENT | QUIZ
    title: Text
    button: Text
    minutes: int
    intro: Text
    criteria: tuple[Criterion, ...]
    overall: Overall
    title_id: str | None = None  # assessments: the campaign title measured
    plan_id: str | None = None  # quizzes: the plan checked
    status: str = "draft"
    roles: tuple[str, ...] = ()
    disclaimer: Text | None = None
    source: Text | None = None
    unconfirmed_rule: Text | None = None
    next_steps: Text | None = None
    links: tuple[Link, ...] = ()
    raw: Any = None  # the data it was parsed from (stored as the version's snapshot)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for c in self.criteria for q in c.questions)

    @property
    def max_total(self) -> float:
        return sum(c.max_points for c in self.criteria)

    def criterion_of(self, index: int) -> Criterion:
        """The criterion the question at `index` (in `questions` order) belongs to."""
        for criterion in self.criteria:
            if index < len(criterion.questions):
                return criterion
            index -= len(criterion.questions)
        raise IndexError(index)


def _check_id(r: Reader, path: tuple, value: str, seen: set[str]) -> None:
    if value and (not ID_PATTERN.match(value) or len(value.encode()) > MAX_ID_BYTES):
        r.problem(path, f"id {value!r}: lower-case a-z, 0-9, '-', at most {MAX_ID_BYTES} chars")
    if value in seen:
        r.problem(path, f"id {value!r} is used twice in this file")
    seen.add(value)


def _label(r: Reader, path: tuple, limit: int) -> Text:
    text = r.text(path)
    for locale, value in text.values.items():
        if len(value) > limit:
            r.problem((*path, locale), f"longer than {limit} characters (it is a button)")
    return text


def _options(r: Reader, path: tuple, quiz: bool, seen: set[str]) -> tuple[Option, ...]:
    options = []
    for opath in r.items((*path, "options")):
        option_id = r.string((*opath, "id"))
        _check_id(r, (*opath, "id"), option_id, seen)
        text = _label(r, (*opath, "text"), OPTION_LABEL_MAX)
        if quiz:
            correct = r.raw((*opath, "correct"), required=False) is True
            options.append(Option(option_id, text, 1.0 if correct else 0.0, correct))
        else:
            points = r.number((*opath, "points"))
            if points is not None and points < 0:
                r.problem((*opath, "points"), "points cannot be negative")
            options.append(Option(option_id, text, float(points or 0)))
    if not 2 <= len(options) <= 4:
        r.problem((*path, "options"), "a question needs 2 to 4 options")
    if quiz and sum(o.correct for o in options) != 1:
        r.problem((*path, "options"), "exactly one option must have correct: true")
    return tuple(options)


def _optional_text(r: Reader, path: tuple) -> Text | None:
    return r.text(path, required=False) or None


def parse_definition(r: Reader, kind: str) -> Definition:
    """Build a definition from `r`'s data, recording every problem on `r`."""
    quiz = kind == QUIZ
    definition_id = r.string(("id",))
    version = r.number(("version",))
    if version is not None and (not float(version).is_integer() or version < 1):
        r.problem(("version",), "must be a whole number from 1")
    minutes = r.number(("minutes",))
    option_ids: set[str] = set()
    question_ids: set[str] = set()

    def question(path: tuple) -> Question:
        qid = r.string((*path, "id"))
        _check_id(r, (*path, "id"), qid, question_ids)
        return Question(
            qid,
            r.text((*path, "text")),
            _options(r, path, quiz, option_ids.copy()),
            r.text((*path, "explanation")) if quiz else None,
        )

    if quiz:
        questions = tuple(question(p) for p in r.items(("questions",)))
        if not 3 <= len(questions) <= 5:
            r.problem(("questions",), "a knowledge check has 3 to 5 questions")
        pass_mark = r.number(("pass_mark",)) or 0
        if not 1 <= pass_mark <= len(questions):
            r.problem(("pass_mark",), f"must be between 1 and the {len(questions)} questions")
        title = r.text(("title",))
        criteria: tuple[Criterion, ...] = (
            Criterion("knowledge", title, float(pass_mark), Text({}), questions),
        )
        overall = Overall(min_total=float(pass_mark))
    else:
        criterion_ids: set[str] = set()
        built = []
        for cpath in r.items(("criteria",)):
            cid = r.string((*cpath, "id"))
            _check_id(r, (*cpath, "id"), cid, criterion_ids)
            qs = tuple(question(p) for p in r.items((*cpath, "questions")))
            if not qs:
                r.problem((*cpath, "questions"), "a criterion needs at least one question")
            crit = Criterion(
                cid,
                r.text((*cpath, "title")),
                float(r.number((*cpath, "min_points")) or 0),
                r.text((*cpath, "advice")),
                qs,
            )
            declared = r.number((*cpath, "max_points"), required=False)
            if qs and declared is not None and declared != crit.max_points:
                r.problem(
                    (*cpath, "max_points"),
                    f"is {declared:g} but the best options add up to {crit.max_points:g}",
                )
            if qs and crit.min_points > crit.max_points:
                r.problem(
                    (*cpath, "min_points"),
                    f"{crit.min_points:g} can never be met: at most {crit.max_points:g} points",
                )
            built.append(crit)
        criteria = tuple(built)
        if not criteria:
            r.problem(("criteria",), "at least one criterion is needed")
        overall = _overall(r, criteria)
        declared_total = r.number(("total_points",), required=False)
        total = sum(c.max_points for c in criteria)
        if declared_total is not None and declared_total != total:
            r.problem(
                ("total_points",), f"is {declared_total:g} but the criteria add up to {total:g}"
            )

    status = r.string(("status",), required=not quiz, default="draft")
    if status not in ("draft", "confirmed"):
        r.problem(("status",), "must be draft or confirmed")
    links = []
    for lpath in r.items(("links",), required=False):
        url = r.string((*lpath, "url"))
        if not url.startswith("https://"):
            r.problem((*lpath, "url"), "must be an https:// address")
        links.append(Link(_label(r, (*lpath, "text"), 24), url))
    roles = r.raw(("roles",), required=not quiz) or []
    if not isinstance(roles, list) or not all(isinstance(x, str) for x in roles):
        r.problem(("roles",), "must be a list of role ids")
        roles = []
    return Definition(
        id=definition_id,
        version=int(version or 1),
        kind=kind,
        title=r.text(("title",)),
        button=_label(r, ("button",), 24),
        minutes=int(minutes or 1),
        intro=r.text(("intro",)),
        criteria=criteria,
        overall=overall,
        title_id=None if quiz else r.string(("title_id",)),
        plan_id=r.string(("plan_id",)) if quiz else None,
        status=status,
        roles=tuple(roles),
        disclaimer=None if quiz else r.text(("disclaimer",)),
        source=None if quiz else r.text(("source",)),
        unconfirmed_rule=_optional_text(r, ("unconfirmed_rule",)),
        next_steps=None if quiz else r.text(("next_steps",)),
        links=tuple(links),
        raw=r.data,
    )


def _overall(r: Reader, criteria: tuple[Criterion, ...]) -> Overall:
    data = r.raw(("overall",))
    if not isinstance(data, dict):
        return Overall(all_criteria=True)
    all_criteria = data.get("all_criteria") is True
    min_total = r.number(("overall", "min_total"), required=False)
    min_each = r.number(("overall", "min_each_question"), required=False)
    if all_criteria == (min_total is not None):
        r.problem(("overall",), "give either all_criteria: true or min_total")
    total = sum(c.max_points for c in criteria)
    if min_total is not None and min_total > total:
        r.problem(("overall", "min_total"), f"{min_total:g} can never be met: at most {total:g}")
    if min_each is not None:
        for c in criteria:
            for q in c.questions:
                if q.max_points < min_each:
                    r.problem(
                        ("overall", "min_each_question"),
                        f"question {q.id!r} gives at most {q.max_points:g} < {min_each:g}",
                    )
    return Overall(all_criteria, min_total, min_each)
