"""Exports as Excel workbooks that open right in Vietnamese Excel.

The CSV exports (bot.services.reports) stay for tools; with Vietnamese regional settings Excel
reads a comma CSV as one column, so staff get .xlsx: Vietnamese headers and labels (a role's name,
"Đáp ứng", a criterion's title, not ids), real dates in local time, numbers as numbers, a sheet
per self-check, and a first sheet that explains the columns and the rule that a group of fewer
than 5 answers is shown as "<5". Headers and labels come from content/locales
(content_tools.export).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.text import plain
from bot.services.reports import ACTIVE_DAYS, SMALL, pseudonym, share

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.catalog.i18n import Translator
    from bot.records import CompletedRun
    from bot.services.staff import Scope
    from bot.store import Store

KINDS = ("assessments", "members", "announcements")
DATE_FORMAT = "dd/mm/yyyy hh:mm"
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


class Table:
    """One sheet: a name, headers, rows and the width of each column."""

    def __init__(self, name: str, headers: list[str], widths: list[int] | None = None) -> None:
        self.name = name
        self.headers = headers
        self.rows: list[list[Any]] = []
        self.widths = widths or [18] * len(headers)


class ExportService:
    """The staff's exports as .xlsx: assessments, members by area and role, announcements."""

    def __init__(
        self, store: Store, catalog: Catalog, i18n: Translator, timezone: ZoneInfo
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.i18n = i18n
        self.timezone = timezone

    def _t(self, key: str, **params: Any) -> str:
        """A label: plain text in a cell, not HTML, so nothing is escaped."""
        locale = self.catalog.campaign.default_locale
        text = self.i18n.raw(locale, f"content_tools.export.{key}")
        return text.format(**params) if params else text

    def _label(self, text: Any) -> str:
        return text.get(self.catalog.campaign.default_locale) if text else ""

    async def workbook(
        self,
        what: str,
        now: datetime,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        scope: Scope | None = None,
    ) -> bytes:
        """The export `what`; with a branch's `scope`, of its areas (and announcements) only."""
        areas = sorted(scope.areas) if scope is not None and scope.areas is not None else None
        if what == "assessments":
            tables = await self._assessments(start, end, areas)
        elif what == "members":
            tables = await self._members(now, areas)
        elif what == "announcements":
            tables = await self._announcements(scope)
        else:
            raise ValueError(f"unknown export {what!r}")
        guide = [self._t(f"guide_{what}"), *self._t_list("guide_common", small=SMALL)]
        return _write(self._t("guide_sheet"), guide, tables)

    def _t_list(self, key: str, **params: Any) -> list[str]:
        locale = self.catalog.campaign.default_locale
        lines = self.i18n.raw(locale, f"content_tools.export.{key}")
        return [line.format(**params) for line in lines]

    # -- assessments ------------------------------------------------------------------------------
    async def _assessments(
        self, start: datetime | None, end: datetime | None, areas: list[str] | None
    ) -> list[Table]:
        salt = await self.store.reports.salt()
        runs: dict[str, list[CompletedRun]] = defaultdict(list)
        async for batch in self.store.reports.completed_runs(start, end, areas=areas):
            for run in batch:
                runs[run.definition_id].append(run)
        t = self._t
        tables = []
        summary = Table(
            t("summary_sheet"),
            [
                t("col_definition"),
                t("col_version"),
                t("col_area"),
                t("col_results"),
                t("col_met_count"),
                t("col_met_share"),
            ],
            [36, 10, 26, 12, 12, 14],
        )
        names: set[str] = {summary.name}
        for definition in self.catalog.definitions:
            found = runs.get(definition.id)
            if not found:
                continue
            criteria = [(c.id, self._label(c.title)) for c in definition.criteria]
            if definition.kind == "quiz":
                criteria = []  # a quiz is one criterion: its total says it all
            headers = [t("col_respondent"), t("col_version"), t("col_area"), t("col_role")]
            for _, title in criteria:
                headers += [
                    t("col_criterion_points", criterion=title),
                    t("col_criterion_result", criterion=title),
                ]
            headers += [
                t("col_total"),
                t("col_max_total"),
                t("col_verdict"),
                t("col_started"),
                t("col_finished"),
                t("col_entered"),
            ]
            widths = [14, 10, 26, 18] + [16, 14] * len(criteria) + [10, 10, 14, 17, 17, 12]
            table = Table(_sheet_name(self._label(definition.button), names), headers, widths)
            groups: dict[tuple[int, str], list[bool]] = defaultdict(list)
            for run in found:
                by_id = {c["id"]: c for c in run.criteria}
                row: list[Any] = [
                    pseudonym(salt, run.user_id),
                    run.version,
                    self._area(run.area_code),
                    self._role(run.role),
                ]
                for criterion_id, _ in criteria:
                    got = by_id.get(criterion_id)
                    row += [_number(got["points"]), self._met(got["met"])] if got else [None, None]
                row += [
                    _number(run.total),
                    _number(run.max_total),
                    self._met(run.passed),
                    self._local(run.started_at),
                    self._local(run.finished_at),
                    self._t("entered_mark") if run.entered_by else None,  # helper mode
                ]
                table.rows.append(row)
                groups[(run.version, self._area(run.area_code))].append(bool(run.passed))
            tables.append(table)
            # Figures by area and version: results of different versions are never added up.
            for (version, area), results in sorted(groups.items()):
                n, met = len(results), sum(results)
                shown = share(met, n)
                summary.rows.append(
                    [
                        self._label(definition.title),
                        version,
                        area,
                        n if n >= SMALL else "<5",
                        met if n >= SMALL else None,
                        round(shown, 1) if shown is not None else None,
                    ]
                )
        return [summary, *tables]

    # -- members ----------------------------------------------------------------------------------
    async def _members(self, now: datetime, areas: list[str] | None) -> list[Table]:
        from datetime import timedelta

        t = self._t
        table = Table(
            t("members_sheet"),
            [t("col_area"), t("col_role"), t("col_members"), t("col_active", days=ACTIVE_DAYS)],
            [30, 22, 14, 22],
        )
        since = now - timedelta(days=ACTIVE_DAYS)
        for group in await self.store.reports.members_by_area(since, areas):
            small = group.members < SMALL
            table.rows.append(
                [
                    self._area(group.area_code),
                    self._role(group.role),
                    "<5" if small else group.members,
                    "<5" if small or group.active < SMALL else group.active,
                ]
            )
        return [table]

    # -- announcements ----------------------------------------------------------------------------
    async def _announcements(self, scope: Scope | None) -> list[Table]:
        t = self._t
        table = Table(
            t("announcements_sheet"),
            [
                t("col_number"),
                t("col_created"),
                t("col_due"),
                t("col_status"),
                t("col_text"),
                t("col_recipients"),
                t("col_sent"),
                t("col_failed"),
                t("col_blocked"),
                t("col_skipped"),
            ],
            [8, 17, 17, 14, 60, 12, 10, 12, 12, 10],
        )
        statuses = ("draft", "scheduled", "sending", "done", "cancelled")
        for a in await self.store.announcements.listing(statuses, limit=100_000):
            if scope is not None and not scope.covers_audience(a.audience.areas):
                continue  # a branch sees the announcements to its own areas only
            counts = await self.store.announcements.counts(a.id)
            table.rows.append(
                [
                    a.id,
                    self._local(a.created_at),
                    self._local(a.scheduled_at),
                    t(f"status_{a.status}"),
                    plain(a.text),
                    a.total,
                    counts.get("sent", 0),
                    counts.get("failed", 0),
                    counts.get("blocked", 0),
                    counts.get("skipped", 0),
                ]
            )
        return [table]

    # -- labels -----------------------------------------------------------------------------------
    def _area(self, code: str | None) -> str:
        area = self.catalog.areas.get(code)
        if area is None:
            return self._t("unknown") if not code else code
        kind = self._t("area_phuong") if area.type == "phuong" else self._t("area_xa")
        return f"{kind} {area.name}"

    def _role(self, role_id: str | None) -> str:
        role = self.catalog.campaign.role(role_id)
        return self._label(role.label) if role else (role_id or self._t("unknown"))

    def _met(self, met: Any) -> str:
        return self._t("met") if met else self._t("not_yet")

    def _local(self, moment: datetime | None) -> datetime | None:
        """Local time without a zone: Excel has no time zones, and staff read local time."""
        return moment.astimezone(self.timezone).replace(tzinfo=None) if moment else None


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 2)


def _sheet_name(title: str, taken: set[str]) -> str:
    """A sheet name Excel accepts (31 characters, none of []:*?/\\), unique in the workbook."""
    base = _SHEET_NAME.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _write(guide_name: str, guide: list[str], tables: list[Table]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = guide_name
    for line in guide:
        sheet.append([line])
    sheet.column_dimensions["A"].width = 120
    for cell in sheet["A"]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(table.name)
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
        for row in table.rows:
            sheet.append(row)
        for index, width in enumerate(table.widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, datetime):
                    cell.number_format = DATE_FORMAT
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
