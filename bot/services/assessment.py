"""Self-assessments and knowledge checks: the scoring engine and the service around it.

`score` is pure: answers in (question id -> option id), per-criterion results, total and verdict
out. Every rule is monotone: choosing an option worth more never makes a criterion or the verdict
worse. `AssessmentService` keeps runs in the store, pinned to the definition version they began on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.catalog.assessments import Criterion, Definition, parse_definition
from bot.catalog.reader import Problem, Reader
from bot.records import COMPLETED, IN_PROGRESS, Run
from bot.store.assessments import ABANDON_AFTER

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.records import User
    from bot.store import Store

log = logging.getLogger(__name__)


class IncompleteAnswers(ValueError):
    """Not every question has a valid answer yet."""


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion_id: str
    points: float
    max_points: float
    met: bool


@dataclass(frozen=True)
class Result:
    definition_id: str
    version: int
    criteria: tuple[CriterionResult, ...]
    total: float
    max_total: float
    passed: bool
    weakest_question_points: float  # for "no indicator under N" rules

    @property
    def met_count(self) -> int:
        return sum(c.met for c in self.criteria)

    def unmet(self) -> tuple[str, ...]:
        return tuple(c.criterion_id for c in self.criteria if not c.met)


def option_points(definition: Definition, answers: Mapping[str, str]) -> dict[str, float]:
    """Points of each answered question; raises IncompleteAnswers for a missing or unknown one."""
    points = {}
    for question in definition.questions:
        chosen = answers.get(question.id)
        option = next((o for o in question.options if o.id == chosen), None)
        if option is None:
            raise IncompleteAnswers(f"{definition.id}: no valid answer to {question.id!r}")
        points[question.id] = option.points
    return points


def _criterion_result(criterion: Criterion, points: Mapping[str, float]) -> CriterionResult:
    got = sum(points[q.id] for q in criterion.questions)
    return CriterionResult(criterion.id, got, criterion.max_points, got >= criterion.min_points)


def score(definition: Definition, answers: Mapping[str, str]) -> Result:
    points = option_points(definition, answers)
    criteria = tuple(_criterion_result(c, points) for c in definition.criteria)
    total = sum(points.values())
    weakest = min(points.values()) if points else 0.0
    rule = definition.overall
    if rule.all_criteria:
        passed = all(c.met for c in criteria)
    else:
        passed = total >= (rule.min_total or 0) and (
            rule.min_each_question is None or weakest >= rule.min_each_question
        )
    return Result(
        definition.id,
        definition.version,
        criteria,
        total,
        definition.max_total,
        passed,
        weakest,
    )


class AssessmentService:
    """Runs of self-assessments and knowledge checks: start, answer, finish, on a pinned version."""

    def __init__(self, store: Store, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog
        self._snapshots: dict[tuple[str, int], Definition] = {}

    async def definition_for(self, run: Run) -> Definition | None:
        """The definition exactly as it was when the run started (content may have moved on)."""
        current = self.catalog.definition(run.definition_id)
        if current is not None and current.version == run.version:
            return current
        key = (run.definition_id, run.version)
        if key not in self._snapshots:
            body = await self.store.assessments.snapshot_body(*key)
            if body is None:
                return None
            problems: list[Problem] = []
            reader = Reader("snapshot", body, {}, self.catalog.campaign.locales, problems)
            definition = parse_definition(reader, run.kind)
            if problems:  # a snapshot is content that once passed the check; log, still use
                log.warning("snapshot %s v%s: %s", *key, "; ".join(map(str, problems)))
            self._snapshots[key] = definition
        return self._snapshots[key]

    async def run_of(self, user_id: int, run_id: int) -> tuple[Run, Definition] | None:
        """The member's own run with the definition it is pinned to, fetched once; None when the
        run is not theirs (a forged or foreign button) or its definition is gone."""
        run = await self.store.assessments.get(run_id)
        if run is None or run.user_id != user_id:
            return None
        definition = await self.definition_for(run)
        if definition is None:
            return None
        return run, definition

    async def entered_run(self, run_id: int, by: str) -> tuple[Run, Definition] | None:
        """A run in progress that the officer `by` is filling in for a member (helper mode);
        None for anyone else's run."""
        run = await self.store.assessments.get(run_id)
        if run is None or run.entered_by != by or run.status != IN_PROGRESS:
            return None
        definition = await self.definition_for(run)
        return (run, definition) if definition is not None else None

    async def unfinished(self, user_id: int) -> list[tuple[Run, Definition]]:
        """The member's runs in progress, most recently touched first, with their definitions;
        a run whose definition can no longer be found cannot be continued and is left out."""
        found = []
        for run in await self.store.assessments.in_progress(user_id):
            definition = await self.definition_for(run)
            if definition is not None:
                found.append((run, definition))
        return found

    async def history(self, user_id: int, limit: int = 20) -> list[Run]:
        """The member's completed runs, latest first."""
        return await self.store.assessments.history(user_id, limit)

    def result_of(self, run: Run, definition: Definition) -> Result:
        """A finished run's result again, scored on the definition it is pinned to (so a past
        result reads as it did, advice included, whatever the content says today)."""
        return score(definition, run.answers)

    async def start(
        self, user: User, definition: Definition, *, entered_by: str | None = None
    ) -> Run:
        """A run for `user`; `entered_by` when an officer fills it in for them (helper mode)."""
        await self.store.assessments.snapshot(
            definition.id, definition.version, definition.kind, definition.raw
        )
        return await self.store.assessments.start(
            user.id,
            definition.id,
            definition.version,
            definition.kind,
            user.role,
            user.area_code,
            entered_by,
        )

    async def answer(
        self, run: Run, definition: Definition, question_index: int, option_index: int
    ) -> tuple[Run, Result | None]:
        """Record an answer; returns the updated run and, after the last question, the result."""
        question = definition.questions[question_index]
        answers = {**run.answers, question.id: question.options[option_index].id}
        position = question_index + 1
        if position < len(definition.questions):
            return await self.store.assessments.save_progress(run.id, answers, position), None
        result = score(definition, answers)
        criteria = [
            {"id": c.criterion_id, "points": c.points, "max": c.max_points, "met": c.met}
            for c in result.criteria
        ]
        run = await self.store.assessments.complete(
            run.id, answers, criteria, result.total, result.max_total, result.passed
        )
        return run, result

    async def go_back(self, run: Run) -> Run:
        return await self.store.assessments.save_progress(
            run.id, run.answers, max(0, run.position - 1)
        )

    async def abandon(self, run: Run) -> None:
        """The member cancelled: the partial answers are deleted, not kept."""
        await self.store.assessments.abandon(run.id)

    async def remind_recheck(self, run: Run, days: int) -> datetime:
        """Remind the member to take the assessment again `days` after this result; returns
        when. A later request for the same assessment replaces the earlier one."""
        if run.status != COMPLETED:
            raise ValueError(f"run {run.id} is {run.status}: only a result can be re-checked")
        due = (run.finished_at or run.updated_at) + timedelta(days=days)
        await self.store.assessments.remind_recheck(run.user_id, run.definition_id, due)
        return due

    async def expire_stale(self, now: datetime) -> int:
        return await self.store.assessments.expire(now - ABANDON_AFTER)
