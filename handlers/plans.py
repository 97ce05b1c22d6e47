"""Plan directives: what each plan asks, its targets, its key tasks and what a family can do.

A plan is shown in parts (summary, targets, tasks, what you can do, sources and notes), one part
at a time, so each message stays short on a phone; the buttons move between parts in place. What
the association is unsure of is said once, briefly, where it matters; the detail (sources, notes on
each target, what is unconfirmed) waits behind the "Nguồn và lưu ý" part.

`plan-<id>` is a plan's address: a t.me link (?start=plan-<id>) or another feature's button
opens it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import Plan
from bot.catalog.i18n import Markup
from bot.catalog.links import PLAN_PREFIX
from bot.catalog.models import Target
from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.router import Router
from handlers.menu import OpenSection, home_button

router = Router("plans")

PARTS = ("main", "targets", "tasks", "do", "src")
PART_COLUMNS = 2  # four part buttons: two rows of two fit a phone
DEEP_LINK = PLAN_PREFIX
QUIZ_LINK = "assess-"  # the assessment feature's address: a plan's quiz opens through it


@action("plans")
@dataclass(frozen=True)
class ListPlans:
    pass


@action("plan")
@dataclass(frozen=True)
class ShowPlan:
    plan_id: str
    part: str = "main"


@router.section("plans", "menu.plans", order=10)
async def plans_section(ctx: Context) -> None:
    await list_plans(ctx)


@router.action(ListPlans)
async def list_plans_pressed(ctx: Context, _: ListPlans) -> None:
    await list_plans(ctx)


async def list_plans(ctx: Context) -> None:
    i18n = ctx.services.i18n
    plans = ctx.services.catalog.plans
    lines = [ctx.t("plans.intro")]
    for scope in ("city", "national"):
        chosen = [p for p in plans if p.scope == scope]
        if chosen:
            lines.append("")
            lines.append(ctx.t(f"plans.scope.{scope}"))
            lines += [f"• {i18n.text(ctx.locale, p.title)}" for p in chosen]
    rows = [[Button(i18n.text(ctx.locale, p.button), action=ShowPlan(p.id).pack())] for p in plans]
    rows.append([home_button(ctx)])
    ctx.reply("\n".join(lines), rows, edit=ctx.pressed)


@router.deep_link(DEEP_LINK)
async def deep_link(ctx: Context, plan_id: str) -> None:
    if ctx.services.catalog.plan(plan_id) is not None:
        await show_plan(ctx, ShowPlan(plan_id))


@router.action(ShowPlan)
async def show_plan(ctx: Context, act: ShowPlan) -> None:
    plan = ctx.services.catalog.plan(act.plan_id)
    if plan is None or act.part not in PARTS:
        raise StaleButton(f"no plan part {act.plan_id}/{act.part}")
    text = render_part(ctx, plan, act.part)
    parts = [
        ctx.button(f"plans.part.{part}", ShowPlan(plan.id, part))
        for part in PARTS
        if part != act.part and (part != "targets" or plan.targets)
    ]
    rows = [parts[i : i + PART_COLUMNS] for i in range(0, len(parts), PART_COLUMNS)]
    quiz = ctx.services.catalog.quiz_for(plan.id)
    if quiz is not None:
        rows.append([ctx.button("buttons.quiz", OpenSection(f"{QUIZ_LINK}{quiz.id}"))])
    rows.append([ctx.button("buttons.back", ListPlans()), home_button(ctx)])
    ctx.reply(text, rows, edit=ctx.pressed)


def render_part(ctx: Context, plan: Plan, part: str) -> Markup:
    i18n = ctx.services.i18n
    loc = ctx.locale
    if part == "main":
        title = f"<b>{i18n.text(loc, plan.title)}</b>"
        lines = [title, f"<i>{i18n.text(loc, plan.issuer)}</i>", "", i18n.text(loc, plan.summary)]
        return Markup("\n".join(lines))
    # The other parts go under the plan's short name: the full title was read on the first part.
    title = f"<b>{i18n.text(loc, plan.button)}</b>"
    if part == "targets":
        lines = [title, "", ctx.t("plans.targets_heading")]
        lines += [_target_line(ctx, target) for target in plan.targets]
        lines += _missing_years(ctx, plan)
        return Markup("\n".join(lines))
    if part == "tasks":
        items = plan.tasks
        heading = ctx.t("plans.tasks_heading")
    elif part == "do":
        items = plan.what_you_can_do
        heading = ctx.t("plans.do_heading")
    else:
        return _notes(ctx, plan, title)
    body = [f"{n}. {i18n.text(loc, item)}" for n, item in enumerate(items, start=1)]
    return Markup("\n".join([title, "", heading, *body]))


def _missing_years(ctx: Context, plan: Plan) -> list[str]:
    """The years without a figure, said once for the whole list, not after each target."""
    years = sorted({y for t in plan.targets for y in t.by_year})
    lines = []
    for year in years:
        known = [t for t in plan.targets if t.by_year.get(year) is not None]
        if len(known) == len(plan.targets):
            continue
        key = "clarity.targets_missing_some" if known else "clarity.targets_missing"
        lines.append(str(ctx.t(key, year=year)))
    return ["", *lines] if lines else []


def _notes(ctx: Context, plan: Plan, title: str) -> Markup:
    """Sources and notes: where the figures come from, and each thing not yet confirmed, once."""
    i18n = ctx.services.i18n
    loc = ctx.locale
    lines = [title, "", ctx.t("plans.source_heading"), i18n.text(loc, plan.source)]
    notes: list[str] = []
    for target in plan.targets:
        if target.note is not None:
            note = str(i18n.text(loc, target.note))
            if note not in notes:
                notes.append(note)
    if plan.unconfirmed:
        notes.append(str(i18n.text(loc, plan.unconfirmed)))
    if notes:
        lines += ["", ctx.t("plans.unconfirmed_heading"), *(f"• {note}" for note in notes)]
    return Markup("\n".join(lines))


def _target_line(ctx: Context, target: Target) -> str:
    i18n = ctx.services.i18n
    values = [
        str(ctx.t("plans.target_year", year=year, value=i18n.percent(ctx.locale, value)))
        for year, value in target.by_year.items()
        if value is not None
    ]
    return f"• {i18n.text(ctx.locale, target.label)} — {' · '.join(values)}"
