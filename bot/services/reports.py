"""Campaign progress: figures against the association's targets, and CSV exports.

Every figure about fewer than `SMALL` people is suppressed ("<5" in text, left out of charts and
of exports by area), so no household can be picked out of a small group.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.catalog.reader import Text

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.catalog.i18n import Translator
    from bot.services.charts import Chart
    from bot.store import Store

SMALL = 5  # smallest group whose figures are shown
TOP_AREAS = 10  # the most active areas /stats and the console name
ACTIVE_DAYS = 30
TALLY_TTL = timedelta(minutes=1)  # how stale the member counts of large figures may be
TALLY_KEPT_FROM = 100_000  # members: below this, the figures count them every time
EXPORT_CRITERIA = 6  # criterion/points column pairs in the assessments export


def share(part: int, whole: int) -> float | None:
    """Percentage, or None when the group is too small to show."""
    if whole < SMALL:
        return None
    return 100.0 * part / whole


@dataclass(frozen=True)
class TitleFigure:
    title_id: str
    name: Text
    taken: int  # assessments completed (retakes included)
    respondents: int  # members with at least one result
    met: int  # respondents whose latest result met the criteria
    targets: dict[int, float]
    # The assessment versions those latest results were scored on: more than one, and the
    # figure adds up answers to different questions (said with the figure, never silently).
    versions: tuple[int, ...] = ()

    @property
    def share(self) -> float | None:
        return share(self.met, self.respondents)


@dataclass(frozen=True)
class BriefedFigure:
    plan_id: str
    name: Text
    passed: int
    members: int

    @property
    def share(self) -> float | None:
        return share(self.passed, self.members)


@dataclass(frozen=True)
class Figures:
    members: int
    active: int
    by_role: dict[str | None, int]
    top_areas: list[tuple[str, int, int]]
    titles: list[TitleFigure]
    briefed: list[BriefedFigure]
    briefed_target: float | None = None
    notes: list[str] = field(default_factory=list)


class ReportService:
    def __init__(self, store: Store, catalog: Catalog, timezone: ZoneInfo) -> None:
        self.store = store
        self.catalog = catalog
        self.timezone = timezone
        # Member tallies by scope: (counted at, per area, by role). Counting a million members
        # takes two passes over their indexes (~0.2 s, bench_console): past TALLY_KEPT_FROM
        # members the figures recount them at most once a TALLY_TTL (a count a minute old is
        # as good); below it, every time.
        self._tallies: dict[tuple[str, ...] | None, tuple[datetime, list, dict]] = {}
        self.tally_kept_from = TALLY_KEPT_FROM

    async def _member_tallies(
        self, now: datetime, scope: list[str] | None
    ) -> tuple[list[tuple[str | None, int, int]], dict[str | None, int]]:
        """(members per area with the active ones, members by role), counted again when the
        last count is older than TALLY_TTL. One pass gives the totals and the most active
        areas, one more the roles."""
        key = tuple(scope) if scope is not None else None
        kept = self._tallies.get(key)
        if kept is not None and timedelta(0) <= now - kept[0] < TALLY_TTL:
            return kept[1], kept[2]
        since = now - timedelta(days=ACTIVE_DAYS)
        per_area = await self.store.reports.members_per_area(since, scope)
        by_role = await self.store.reports.members_by_role(scope)
        if sum(n for _, _, n in per_area) >= self.tally_kept_from:
            if len(self._tallies) > 200:  # branches' scopes: a bounded handful
                self._tallies.clear()
            self._tallies[key] = (now, per_area, by_role)
        return per_area, by_role

    def definitions_of(self, title_id: str) -> list[str]:
        return [d.id for d in self.catalog.assessments() if d.title_id == title_id]

    async def figures(self, now: datetime, areas: Collection[str] | None = None) -> Figures:
        """The campaign's figures; with `areas` (a branch's scope), of those areas only."""
        reports = self.store.reports
        scope = sorted(areas) if areas is not None else None
        per_area, by_role = await self._member_tallies(now, scope)
        members = sum(n for _, _, n in per_area)
        active = sum(a for _, a, _ in per_area)
        assessments = [d.id for d in self.catalog.assessments()]
        per_definition = await reports.results(assessments, scope)
        versions = await reports.latest_versions(assessments, scope)
        titles = []
        for title in self.catalog.campaign.titles:
            figures = [per_definition[d] for d in self.definitions_of(title.id)]
            titles.append(
                TitleFigure(
                    title.id,
                    title.name,
                    sum(f[0] for f in figures),
                    sum(f[1] for f in figures),
                    sum(f[2] for f in figures),
                    title.targets,
                    tuple(v for d in self.definitions_of(title.id) for v in versions.get(d, ())),
                )
            )
        briefed = []
        for plan in self.catalog.plans:
            quiz = self.catalog.quiz_for(plan.id)
            if quiz is not None:
                passed = await reports.passed_quiz(quiz.id, scope)
                briefed.append(BriefedFigure(plan.id, plan.button, passed, members))
        target = next(
            (
                t.by_year.get(2025)
                for p in self.catalog.plans
                for t in p.targets
                if t.title_id == "briefed" and t.by_year.get(2025)
            ),
            None,
        )
        return Figures(
            members=members,
            active=active,
            by_role=by_role,
            top_areas=sorted(
                ((code, a, n) for code, a, n in per_area if code is not None),
                key=lambda row: (-row[1], -row[2], row[0]),
            )[:TOP_AREAS],
            titles=titles,
            briefed=briefed,
            briefed_target=target,
        )

    async def by_area(
        self, title_id: str, areas: Collection[str] | None = None
    ) -> list[tuple[str, int, int, float | None]]:
        scope = sorted(areas) if areas is not None else None
        rows = await self.store.reports.results_by_area(self.definitions_of(title_id), scope)
        return [(code, n, met, share(met, n)) for code, n, met in rows]

    async def area_figure(self, title_id: str, area: str) -> tuple[int, float | None]:
        n, met = await self.store.reports.area_result(self.definitions_of(title_id), area)
        return n, share(met, n)

    async def weekly(
        self,
        title_id: str | None,
        now: datetime,
        weeks: int = 12,
        areas: Collection[str] | None = None,
    ) -> list:
        ids = (
            self.definitions_of(title_id)
            if title_id
            else [d.id for d in self.catalog.assessments()]
        )
        scope = sorted(areas) if areas is not None else None
        return await self.store.reports.weekly(ids, now - timedelta(weeks=weeks), scope)

    async def pseudonyms(self) -> Callable[[int], str]:
        """Each member's stable pseudonym, as in the exports (for staff who may not see names)."""
        salt = await self.store.reports.salt()
        return lambda user_id: pseudonym(salt, user_id)

    # -- exports ----------------------------------------------------------------------------------
    async def export_assessments(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        areas: Collection[str] | None = None,
    ) -> bytes:
        """One row per completed assessment; a pseudonymous respondent id, no names or chat ids;
        results an officer entered for a member are marked ("nhập hộ").

        UTF-8 with a BOM, so Excel shows Vietnamese correctly.
        """
        out = io.StringIO()
        async for chunk in self.export_assessment_lines(start, end, areas):
            out.write(chunk)
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    async def export_assessment_lines(
        self, start: datetime | None, end: datetime | None, areas: Collection[str] | None = None
    ) -> AsyncIterator[str]:
        salt = await self.store.reports.salt()
        scope = sorted(areas) if areas is not None else None
        locales, locale = self.catalog.locales, self.catalog.campaign.default_locale
        mark = str(locales.get(locale, "branches.entered_mark"))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = [
            "respondent",
            "definition_id",
            "version",
            "kind",
            "area_code",
            "area_name",
            "role",
        ]
        for n in range(1, EXPORT_CRITERIA + 1):
            header += [f"criterion_{n}", f"points_{n}", f"max_{n}", f"met_{n}"]
        header += ["total", "max_total", "verdict", "started_local", "finished_local", "entered"]
        writer.writerow(header)
        async for runs in self.store.reports.completed_runs(start, end, areas=scope):
            for run in runs:
                area = self.catalog.areas.get(run.area_code)
                cells = [
                    pseudonym(salt, run.user_id),
                    run.definition_id,
                    run.version,
                    run.kind,
                    run.area_code or "",
                    area.name if area else "",
                    run.role or "",
                ]
                criteria = run.criteria[:EXPORT_CRITERIA]
                for criterion in criteria:
                    cells += [
                        criterion["id"],
                        _num(criterion["points"]),
                        _num(criterion["max"]),
                        int(bool(criterion["met"])),
                    ]
                cells += [""] * 4 * (EXPORT_CRITERIA - len(criteria))
                cells += [
                    _num(run.total),
                    _num(run.max_total),
                    "met" if run.passed else "not_yet",
                    self._local(run.started_at),
                    self._local(run.finished_at),
                    mark if run.entered_by else "",
                ]
                writer.writerow(cells)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    async def export_members(self, now: datetime, areas: Collection[str] | None = None) -> bytes:
        """Members by area and role, with groups under 5 shown as "<5"."""
        since = now - timedelta(days=ACTIVE_DAYS)
        scope = sorted(areas) if areas is not None else None
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["area_code", "area_name", "role", "members", "active_30_days"])
        for group in await self.store.reports.members_by_area(since, scope):
            area = self.catalog.areas.get(group.area_code)
            writer.writerow(
                [
                    group.area_code or "",
                    area.name if area else "",
                    group.role or "",
                    suppressed(group.members),
                    suppressed(group.active) if group.members >= SMALL else "<5",
                ]
            )
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    def _local(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return f"{moment.astimezone(self.timezone):%Y-%m-%d %H:%M}"


def suppressed(n: int) -> str:
    return "<5" if n < SMALL else str(n)


def pseudonym(salt: str, user_id: int) -> str:
    """A stable id for one member that cannot be turned back into who they are."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:12]


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


# -- words and pictures (the same for /stats in chat and `khuyenhoc stats`) ----------------------
def count_text(i18n: Translator, locale: str, value: int) -> str:
    return "<5" if 0 < value < SMALL else i18n.number(locale, value)


def percent_text(i18n: Translator, locale: str, value: float | None) -> str:
    if value is None:
        return i18n.t(locale, "stats.too_few")
    return i18n.percent(locale, round(value, 1))


def targets_text(i18n: Translator, locale: str, targets: dict[int, float]) -> str:
    return ", ".join(
        i18n.t(locale, "stats.target", year=year, value=i18n.percent(locale, value))
        for year, value in sorted(targets.items())
    )


def figures_text(
    i18n: Translator, locale: str, figures: Figures, catalog: Catalog, local_now: datetime
) -> str:
    def n(value: int) -> str:
        return count_text(i18n, locale, value)

    def area(code: str) -> str:
        found = catalog.areas.get(code)
        if found is None:
            return code
        kind = i18n.t(locale, f"area.type.{found.type}")
        return str(i18n.t(locale, "clarity.area_label", type=kind, name=found.name))

    def role(role_id: str | None) -> str:
        found = catalog.campaign.role(role_id)
        return i18n.text(locale, found.label) if found else i18n.t(locale, "stats.no_role")

    lines = [
        i18n.t(locale, "stats.title", date=i18n.date(locale, local_now)),
        i18n.t(locale, "stats.members", members=n(figures.members), active=n(figures.active)),
    ]
    roles = [
        f"{role(r)} {n(count)}"
        for r, count in sorted(figures.by_role.items(), key=lambda kv: -kv[1])
    ]
    if roles:
        lines.append(i18n.t(locale, "stats.by_role", roles=" · ".join(roles)))
    areas = [f"{area(code)} {n(active)}/{n(total)}" for code, active, total in figures.top_areas]
    if areas:
        lines.append(i18n.t(locale, "stats.top_areas", areas=", ".join(areas)))
    lines += ["", i18n.t(locale, "stats.assessments_heading")]
    for title in figures.titles:
        lines.append(
            i18n.t(
                locale,
                "stats.title_line",
                name=i18n.text(locale, title.name),
                taken=n(title.taken),
                respondents=n(title.respondents),
                share=percent_text(i18n, locale, title.share),
                targets=targets_text(i18n, locale, title.targets),
            )
        )
        if len(title.versions) > 1:
            versions = ", ".join(str(v) for v in title.versions)
            lines.append(i18n.t(locale, "content_tools.export.mixed_versions", versions=versions))
    if figures.briefed:
        target = i18n.percent(locale, figures.briefed_target) if figures.briefed_target else ""
        lines += ["", i18n.t(locale, "stats.briefed_heading", target=target)]
        for plan in figures.briefed:
            lines.append(
                i18n.t(
                    locale,
                    "stats.briefed_line",
                    name=i18n.text(locale, plan.name),
                    passed=n(plan.passed),
                    share=percent_text(i18n, locale, plan.share),
                )
            )
    lines += ["", i18n.t(locale, "stats.privacy_note", small=SMALL)]
    return "\n".join(lines)


def progress_chart(
    i18n: Translator, locale: str, figures: Figures, local_now: datetime
) -> Chart | None:
    """What the progress chart shows: one panel of titles (the share of respondents whose latest
    self-assessment met the criteria) and one of plans (the share of members who passed the
    plan's quiz), each bar with the people behind it and its targets; the date of the figures;
    and, in the footnote, what is left out for having fewer than `SMALL` answers. None when
    nothing can be shown."""
    from bot.services.charts import Bar, Chart, Group

    def marks(targets: dict[int, float]) -> tuple[tuple[str, float], ...]:
        return tuple(
            (str(i18n.t(locale, "stats.chart_target", year=year)), value)
            for year, value in sorted(targets.items())
        )

    def people(part: int, whole: int) -> str:
        return str(
            i18n.t(
                locale,
                "chart.people",
                part=i18n.number(locale, part),
                whole=i18n.number(locale, whole),
            )
        )

    titles = tuple(
        Bar(str(i18n.text(locale, t.name)), t.share, marks(t.targets), people(t.met, t.respondents))
        for t in figures.titles
        if t.share is not None
    )
    briefed_targets = {2025: figures.briefed_target} if figures.briefed_target else {}
    briefed = tuple(
        Bar(
            str(i18n.text(locale, p.name)),
            p.share,
            marks(briefed_targets),
            people(p.passed, p.members),
        )
        for p in figures.briefed
        if p.share is not None
    )
    if not titles and not briefed:
        return None
    left_out = [str(i18n.text(locale, t.name)) for t in figures.titles if t.share is None]
    left_out += [str(i18n.text(locale, p.name)) for p in figures.briefed if p.share is None]
    note = str(i18n.t(locale, "chart.note"))
    if left_out:
        names = ", ".join(left_out)
        note = str(i18n.t(locale, "chart.left_out", small=SMALL, names=names)) + " " + note
    return Chart(
        title=str(i18n.t(locale, "chart.title")),
        subtitle=str(i18n.t(locale, "chart.subtitle", date=i18n.date(locale, local_now))),
        groups=(
            Group(str(i18n.t(locale, "chart.titles_heading")), titles),
            Group(str(i18n.t(locale, "chart.briefed_heading")), briefed),
        ),
        note=note,
        axis=str(i18n.t(locale, "chart.axis")),
    )


def titles_chart(
    i18n: Translator, locale: str, figures: Figures, local_now: datetime
) -> bytes | None:
    """The progress chart (`progress_chart`) as a PNG; None when nothing can be shown."""
    from bot.services.charts import percent_chart

    chart = progress_chart(i18n, locale, figures, local_now)
    return percent_chart(chart) if chart is not None else None
