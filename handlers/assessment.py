"""Self-assessments and knowledge checks, one question per message.

A member picks an assessment (their role's first), reads what it checks, answers with buttons
(back and cancel always at hand), and gets criteria met / not yet met with advice. A run is kept in
the database after every answer, so leaving, or a restart of the bot, loses nothing: the next
visit offers to continue. Knowledge checks on the plans run through the same conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog.assessments import QUIZ, Definition, Question
from bot.catalog.i18n import Markup
from bot.catalog.links import DEFINITION_PREFIX
from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.router import Router
from bot.records import COMPLETED, IN_PROGRESS, Run
from bot.services.assessment import Result
from handlers.consent import needs_consent
from handlers.menu import OpenSection, home_button

router = Router("assessment")

REMIND_DAYS = (30, 90)
ANSWERING = "assess.answering"  # the session state while a question waits for its answer
MET, NOT_YET = "✅", "⬜"  # the one mark for a criterion met / not yet met, everywhere
HISTORY_BUTTONS = 6  # past results a page lists, each with its button (two rows of three)
HISTORY_KEPT = 120  # past results one can page back through (ten years of monthly checks)
DEEP_LINK = DEFINITION_PREFIX
PLAN_LINK = "plan-"  # the plans feature's address: a quiz leads back to its plan through it


@action("al")
@dataclass(frozen=True)
class ListAssessments:
    pass


@action("ad")
@dataclass(frozen=True)
class OpenDefinition:
    definition_id: str


@action("as")
@dataclass(frozen=True)
class StartRun:
    definition_id: str


@action("ar")
@dataclass(frozen=True)
class ResumeRun:
    run: int


@action("aa")
@dataclass(frozen=True)
class Answer:
    run: int
    question: int  # index in the run's definition (pinned to its version)
    option: int


@action("ab")
@dataclass(frozen=True)
class PreviousQuestion:
    run: int


@action("ac")
@dataclass(frozen=True)
class CancelRun:
    run: int


@action("am")
@dataclass(frozen=True)
class RemindRecheck:
    run: int
    days: int


@action("ah")
@dataclass(frozen=True)
class ShowHistory:
    page: int = 0  # 0: the latest results; each page holds HISTORY_BUTTONS


@action("an")
@dataclass(frozen=True)
class ShowNotes:
    """An assessment's sources and notes: what is unconfirmed, in full."""

    definition_id: str


@action("ap")
@dataclass(frozen=True)
class ShowPastResult:
    """A finished run's result, with its advice, reopened from the history."""

    run: int


# -- helpers --------------------------------------------------------------------------------
def _text(ctx: Context, value: object) -> Markup:
    return ctx.services.i18n.text(ctx.locale, value)  # type: ignore[arg-type]


def _number(ctx: Context, value: float) -> str:
    return ctx.services.i18n.number(ctx.locale, value, 0 if float(value).is_integer() else 1)


async def _own_run(ctx: Context, run_id: int) -> tuple[Run, Definition]:
    """The member's own run and its definition; anything else is a stale or forged button."""
    found = await ctx.services.assessments.run_of(ctx.user.id, run_id)
    if found is None:
        raise StaleButton(f"run {run_id} is not this member's, or its definition is gone")
    return found


async def _running(ctx: Context, run_id: int) -> tuple[Run, Definition] | None:
    """The member's run when it is still in progress; otherwise say what became of it."""
    run, definition = await _own_run(ctx, run_id)
    if run.status != IN_PROGRESS:
        await _not_in_progress(ctx, run, definition)
        return None
    return run, definition


def _ordered(ctx: Context) -> list[Definition]:
    """Assessments offered to the member's role first, then the rest (content order)."""
    definitions = ctx.services.catalog.assessments()
    role = ctx.user.role
    return sorted(definitions, key=lambda d: role not in d.roles)


# -- listing and intro ----------------------------------------------------------------------
@router.section("assess", "menu.assess", order=20)
async def assess_section(ctx: Context) -> None:
    await list_assessments(ctx)


@router.action(ListAssessments)
async def list_pressed(ctx: Context, _: ListAssessments) -> None:
    await list_assessments(ctx)


async def list_assessments(ctx: Context) -> None:
    await ctx.services.assessments.expire_stale(ctx.services.clock())
    lines = [ctx.t("assess.list_intro")]
    rows: list[list[Button]] = []
    for run, definition in await ctx.services.assessments.unfinished(ctx.user.id):
        lines.append(_resume_line(ctx, run, definition))
        rows.append(
            [
                ctx.button(
                    "buttons.assess_resume_named",
                    ResumeRun(run.id),
                    title=_text(ctx, definition.button),
                )
            ]
        )
    rows += [
        [Button(_text(ctx, d.button), action=OpenDefinition(d.id).pack())] for d in _ordered(ctx)
    ]
    rows.append([ctx.button("buttons.assess_history", ShowHistory()), home_button(ctx)])
    ctx.reply("\n\n".join(lines), rows, edit=ctx.pressed)


def _resume_line(ctx: Context, run: Run, definition: Definition) -> Markup:
    return ctx.t(
        "assess.resume_notice",
        title=_text(ctx, definition.title),
        n=run.position + 1,
        total=len(definition.questions),
    )


@router.resume_offer
async def offer_to_resume(ctx: Context) -> None:
    """On return: offer to continue the most recent unfinished run."""
    await ctx.services.assessments.expire_stale(ctx.services.clock())
    for run, definition in (await ctx.services.assessments.unfinished(ctx.user.id))[:1]:
        ctx.reply(
            _resume_line(ctx, run, definition),
            [
                [
                    ctx.button("buttons.assess_resume", ResumeRun(run.id)),
                    ctx.button("buttons.assess_cancel", CancelRun(run.id)),
                ]
            ],
        )


@router.action(OpenDefinition)
async def open_definition(ctx: Context, act: OpenDefinition) -> None:
    definition = ctx.services.catalog.definition(act.definition_id)
    if definition is None:
        raise StaleButton(f"no definition {act.definition_id!r}")
    await show_intro(ctx, definition)


@router.deep_link(DEEP_LINK)
async def deep_link(ctx: Context, definition_id: str) -> None:
    definition = ctx.services.catalog.definition(definition_id)
    if definition is not None:
        await show_intro(ctx, definition)


async def show_intro(ctx: Context, definition: Definition) -> None:
    parts = [
        ctx.t(
            "assess.intro",
            title=_text(ctx, definition.title),
            intro=_text(ctx, definition.intro),
            count=len(definition.questions),
            minutes=definition.minutes,
        )
    ]
    # What is unsure is said once and briefly; the detail waits behind "Nguồn và lưu ý".
    if definition.kind != QUIZ and definition.status == "draft":
        parts.append(f"<i>{ctx.t('assess.draft_note')}</i>")
    elif definition.disclaimer:
        parts.append(f"<i>{_text(ctx, definition.disclaimer)}</i>")
    unfinished = [
        (run, pinned)
        for run, pinned in await ctx.services.assessments.unfinished(ctx.user.id)
        if run.definition_id == definition.id
    ]
    if unfinished:
        run, pinned = unfinished[0]
        parts.append(_resume_line(ctx, run, pinned))
        first = [
            ctx.button("buttons.assess_resume", ResumeRun(run.id)),
            ctx.button("buttons.assess_restart", StartRun(definition.id)),
        ]
    else:
        first = [ctx.button("buttons.assess_start", StartRun(definition.id))]
    rows = [first]
    if _has_notes(definition):
        rows.append([ctx.button("clarity.buttons.notes", ShowNotes(definition.id))])
    rows.append([ctx.button("buttons.back", _way_back(definition)), home_button(ctx)])
    ctx.reply("\n\n".join(parts), rows, edit=ctx.pressed)


def _way_back(definition: Definition) -> object:
    """A quiz belongs to a plan: back leads there, through the plans feature's address."""
    if definition.kind == QUIZ and definition.plan_id:
        return OpenSection(f"{PLAN_LINK}{definition.plan_id}")
    return ListAssessments()


def _has_notes(definition: Definition) -> bool:
    return bool(definition.source or definition.unconfirmed_rule) or (
        definition.kind != QUIZ and definition.status == "draft"
    )


@router.action(ShowNotes)
async def show_notes(ctx: Context, act: ShowNotes) -> None:
    definition = ctx.services.catalog.definition(act.definition_id)
    if definition is None:
        raise StaleButton(f"no definition {act.definition_id!r}")
    lines = [ctx.t("clarity.notes_title", title=_text(ctx, definition.title))]
    if definition.unconfirmed_rule:
        lines += ["", _text(ctx, definition.unconfirmed_rule)]
    if definition.source:
        lines += ["", ctx.t("assess.source", source=_text(ctx, definition.source))]
    rows = [
        [ctx.button("buttons.assess_start", StartRun(definition.id))],
        [ctx.button("buttons.back", OpenDefinition(definition.id)), home_button(ctx)],
    ]
    ctx.reply("\n".join(str(line) for line in lines), rows, edit=ctx.pressed)


# -- answering ------------------------------------------------------------------------------
@router.action(StartRun)
async def start_run(ctx: Context, act: StartRun) -> None:
    definition = ctx.services.catalog.definition(act.definition_id)
    if definition is None:
        raise StaleButton(f"no definition {act.definition_id!r}")
    # Answers are personal data: consent first, then back to this self-assessment.
    if await needs_consent(ctx, then=f"{DEEP_LINK}{definition.id}"):
        return
    run = await ctx.services.assessments.start(ctx.user, definition)
    await ask(ctx, run, definition)


@router.action(ResumeRun, personal=True)
async def resume_run(ctx: Context, act: ResumeRun) -> None:
    found = await _running(ctx, act.run)
    if found is None:
        return
    run, definition = found
    await ask(ctx, run, definition)


async def ask(ctx: Context, run: Run, definition: Definition, *, intro: str = "") -> None:
    index = run.position
    question = definition.questions[index]
    criterion = ""
    if definition.kind != QUIZ:
        criterion = ctx.t(
            "assess.criterion_suffix", criterion=_text(ctx, definition.criterion_of(index).title)
        )
    text = ctx.t(
        "assess.question",
        title=_text(ctx, definition.title),
        n=index + 1,
        total=len(definition.questions),
        criterion=criterion,
        question=_text(ctx, question.text),
    )
    chosen = run.answers.get(question.id)
    rows = [
        [
            Button(
                ("✓ " if option.id == chosen else "") + _text(ctx, option.text),
                action=Answer(run.id, index, number).pack(),
            )
        ]
        for number, option in enumerate(question.options)
    ]
    controls = [ctx.button("buttons.assess_cancel", CancelRun(run.id))]
    if index > 0:
        controls.insert(0, ctx.button("buttons.assess_previous", PreviousQuestion(run.id)))
    rows.append(controls)
    # Typed text now means this question: a number picks an option, anything else gets a hint.
    ctx.set_state(ANSWERING, run=run.id)
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows, edit=ctx.pressed)


@router.state(ANSWERING)
async def typed_answer(ctx: Context, text: str) -> None:
    """Free text in the middle of an assessment: a number picks that option; anything else
    repeats the current question with a short hint, instead of leaving for the main menu."""
    run_id = ctx.session.data.get("run")
    found = await ctx.services.assessments.run_of(ctx.user.id, run_id) if run_id else None
    if found is None or found[0].status != IN_PROGRESS:
        ctx.clear_state()
        await ctx.router.fallbacks["text"](ctx)
        return
    run, definition = found
    options = definition.questions[run.position].options
    typed = text.strip()
    if typed.isascii() and typed.isdigit() and len(typed) <= 3:
        number = int(typed)
        if 1 <= number <= len(options):
            await answer(ctx, Answer(run.id, run.position, number - 1))
            return
        hint = ctx.t("clarity.out_of_range", last=len(options))
    else:
        hint = ctx.t("clarity.assess_hint")
    await ask(ctx, run, definition, intro=hint)


@router.action(Answer)
async def answer(ctx: Context, act: Answer) -> None:
    found = await _running(ctx, act.run)
    if found is None:
        return
    run, definition = found
    if act.question != run.position:
        # An older message's button: say so, and ask the question that is current now.
        await ask(
            ctx,
            run,
            definition,
            intro=ctx.t("assess.not_current", n=run.position + 1, total=len(definition.questions)),
        )
        return
    question = definition.questions[act.question]
    if not 0 <= act.option < len(question.options):
        await ask(ctx, run, definition, intro=ctx.t("assess.bad_option"))
        return
    feedback = _quiz_feedback(ctx, question, act.option) if definition.kind == QUIZ else ""
    run, result = await ctx.services.assessments.answer(run, definition, act.question, act.option)
    if result is None:
        await ask(ctx, run, definition, intro=feedback)
    else:
        await show_result(ctx, run, definition, result, intro=feedback)


def _quiz_feedback(ctx: Context, question: Question, option: int) -> str:
    chosen = question.options[option]
    if chosen.correct:
        head = ctx.t("quiz.correct")
    else:
        right = next(o for o in question.options if o.correct)
        head = ctx.t("quiz.wrong", answer=_text(ctx, right.text))
    explanation = f"<i>{_text(ctx, question.explanation)}</i>" if question.explanation else ""
    return f"{head}\n{explanation}".strip()


@router.action(PreviousQuestion)
async def previous_question(ctx: Context, act: PreviousQuestion) -> None:
    found = await _running(ctx, act.run)
    if found is None:
        return
    run, definition = found
    await ask(ctx, await ctx.services.assessments.go_back(run), definition)


@router.action(CancelRun)
async def cancel_run(ctx: Context, act: CancelRun) -> None:
    found = await _running(ctx, act.run)
    if found is None:
        return
    run, definition = found
    await ctx.services.assessments.abandon(run)
    ctx.clear_state()
    rows = [[ctx.button("buttons.assess_list", ListAssessments()), home_button(ctx)]]
    ctx.reply(ctx.t("assess.cancelled", title=_text(ctx, definition.title)), rows, edit=True)


async def _not_in_progress(ctx: Context, run: Run, definition: Definition) -> None:
    ctx.clear_state()
    key = "assess.already_done" if run.status == COMPLETED else "assess.already_cancelled"
    rows = [
        [
            ctx.button("buttons.assess_retake", StartRun(definition.id)),
            ctx.button("buttons.assess_history", ShowHistory()),
        ],
        [home_button(ctx)],
    ]
    if ctx.services.catalog.definition(definition.id) is None:
        rows = [[home_button(ctx)]]
    ctx.reply(ctx.t(key, title=_text(ctx, definition.title)), rows, edit=ctx.pressed)


# -- results and history --------------------------------------------------------------------
def verdict_line(ctx: Context, definition: Definition, result: Result) -> Markup:
    if definition.kind == QUIZ:
        key = "quiz.result_pass" if result.passed else "quiz.result_retry"
        return ctx.t(
            key,
            correct=_number(ctx, result.total),
            total=len(definition.questions),
            pass_mark=_number(ctx, definition.overall.min_total or 0),
        )
    rule = definition.overall
    if rule.all_criteria:
        key = "assess.verdict.met" if result.passed else "assess.verdict.not_yet"
        return ctx.t(key, met=result.met_count, total=len(result.criteria))
    needed = ctx.t("assess.rule_total", min_total=_number(ctx, rule.min_total or 0))
    if rule.min_each_question is not None:
        needed = Markup(
            needed + ctx.t("assess.rule_each", min_each=_number(ctx, rule.min_each_question))
        )
    key = "assess.verdict.total_met" if result.passed else "assess.verdict.total_not_yet"
    return ctx.t(
        key, total=_number(ctx, result.total), max=_number(ctx, result.max_total), needed=needed
    )


async def show_result(
    ctx: Context,
    run: Run,
    definition: Definition,
    result: Result,
    *,
    intro: str = "",
    past: bool = False,
) -> None:
    """The result: the verdict, then each criterion with its points, its maximum, what it takes
    to meet it and, when not yet met, its advice right under it. `past`: reopened from history."""
    ctx.clear_state()
    title = ctx.t("assess.result_title", title=_text(ctx, definition.title))
    if past and run.finished_at is not None:  # which day's result this is, in its title
        local = run.finished_at.astimezone(ctx.services.settings.timezone)
        title = ctx.t(
            "clarity.past_result",
            title=_text(ctx, definition.title),
            date=ctx.services.i18n.date(ctx.locale, local),
        )
    lines = [intro, title, verdict_line(ctx, definition, result)]
    if definition.kind != QUIZ:
        lines.append("")
        for criterion, outcome in zip(definition.criteria, result.criteria, strict=True):
            lines.append(
                ctx.t(
                    "assess.criterion_line",
                    mark=MET if outcome.met else NOT_YET,
                    title=_text(ctx, criterion.title),
                    points=_number(ctx, outcome.points),
                    max=_number(ctx, outcome.max_points),
                    needed=_number(ctx, criterion.min_points),
                )
            )
            if not outcome.met:
                lines.append(ctx.t("clarity.advice_line", advice=_text(ctx, criterion.advice)))
        # When criteria are still open, their advice is the next step; registering for the
        # title (next_steps) comes once they are met.
        if definition.next_steps and result.passed:
            lines += ["", ctx.t("assess.next_heading"), _text(ctx, definition.next_steps)]
        # What is unsure, once and briefly; the rule itself and the sources are in the notes.
        if definition.unconfirmed_rule:
            lines += ["", f"<i>{ctx.t('clarity.needed_unconfirmed')}</i>"]
        elif definition.disclaimer:
            lines += ["", f"<i>{_text(ctx, definition.disclaimer)}</i>"]
    rows: list[list[Button]] = []
    if definition.kind != QUIZ and not past:  # the buttons say it: "Nhắc sau 30 ngày"
        rows.append(
            [
                ctx.button(f"buttons.remind_{days}", RemindRecheck(run.id, days))
                for days in REMIND_DAYS
            ]
        )
    rows += [[Button(_text(ctx, link.text), url=link.url)] for link in definition.links]
    if definition.kind != QUIZ and _has_notes(definition):
        rows.append([ctx.button("clarity.buttons.notes", ShowNotes(definition.id))])
    again = [ctx.button("buttons.assess_history", ShowHistory())]
    if ctx.services.catalog.definition(definition.id) is not None:
        again.insert(0, ctx.button("buttons.assess_retake", StartRun(definition.id)))
    rows.append(again)
    rows.append([home_button(ctx)])
    ctx.reply("\n".join(line for line in lines if line is not None).strip(), rows, edit=ctx.pressed)


@router.action(ShowPastResult, personal=True)
async def show_past_result(ctx: Context, act: ShowPastResult) -> None:
    run, definition = await _own_run(ctx, act.run)
    if run.status != COMPLETED:
        raise StaleButton(f"run {run.id} is {run.status}, not finished")
    result = ctx.services.assessments.result_of(run, definition)
    await show_result(ctx, run, definition, result, past=True)


@router.action(RemindRecheck, personal=True)
async def remind_recheck(ctx: Context, act: RemindRecheck) -> None:
    run, definition = await _own_run(ctx, act.run)
    if act.days not in REMIND_DAYS or run.status != COMPLETED:
        raise StaleButton(f"cannot remind {act.days} days for run {run.id} ({run.status})")
    due = await ctx.services.assessments.remind_recheck(run, act.days)
    local = due.astimezone(ctx.services.settings.timezone)
    ctx.reply(
        ctx.t(
            "assess.reminder_saved",
            date=ctx.services.i18n.date(ctx.locale, local),
            title=_text(ctx, definition.title),
        ),
        [[ctx.button("buttons.assess_history", ShowHistory()), home_button(ctx)]],
    )


@router.action(ShowHistory, personal=True)
async def show_history(ctx: Context, act: ShowHistory) -> None:
    runs = await ctx.services.assessments.history(ctx.user.id, HISTORY_KEPT)
    if not runs:
        ctx.reply(
            ctx.t("assess.history_empty"),
            [[ctx.button("buttons.assess_list", ListAssessments()), home_button(ctx)]],
            edit=ctx.pressed,
        )
        return
    first = act.page * HISTORY_BUTTONS
    if not 0 <= first < len(runs):
        raise StaleButton(f"no history page {act.page}")
    lines = [ctx.t("assess.history_title")]
    retake: dict[str, Definition] = {}
    reopen: list[Button] = []
    # A page at a time, so the list stays short on a phone; numbered across pages.
    for index, run in enumerate(runs[first : first + HISTORY_BUTTONS], start=first):
        definition = await ctx.services.assessments.definition_for(run)
        if definition is None:
            continue
        previous = next(
            (r for r in runs[index + 1 :] if r.definition_id == run.definition_id), None
        )
        local = (run.finished_at or run.started_at).astimezone(ctx.services.settings.timezone)
        number = index + 1
        lines.append(
            ctx.t(
                "assess.history_line",
                n=number,
                date=ctx.services.i18n.date(ctx.locale, local),
                title=_text(ctx, definition.button),  # the short name: one line a result
                summary=_summary(ctx, definition, run),
                change=_change(ctx, definition, run, previous),
            )
        )
        see = ShowPastResult(run.id)
        reopen.append(ctx.button("clarity.buttons.open_result", see, n=number))
        current = ctx.services.catalog.definition(run.definition_id)
        if current is not None and len(retake) < 3:
            retake.setdefault(current.id, current)
    if reopen:
        lines.append(ctx.t("clarity.history_reopen"))
    rows = [reopen[i : i + 3] for i in range(0, len(reopen), 3)]
    pages = []
    if act.page > 0:
        pages.append(ctx.button("clarity.buttons.newer", ShowHistory(act.page - 1)))
    if first + HISTORY_BUTTONS < len(runs):
        pages.append(ctx.button("clarity.buttons.older", ShowHistory(act.page + 1)))
    if pages:
        rows.append(pages)
    rows += [
        [ctx.button("buttons.assess_retake_named", StartRun(d.id), title=_text(ctx, d.button))]
        for d in retake.values()
    ]
    rows.append([ctx.button("buttons.assess_list", ListAssessments()), home_button(ctx)])
    ctx.reply("\n".join(str(line) for line in lines), rows, edit=ctx.pressed)


def _measure(definition: Definition, run: Run) -> float:
    """What "better" means for this kind of result: criteria met, or points."""
    if definition.overall.all_criteria and definition.kind != QUIZ:
        return float(sum(1 for c in run.criteria or [] if c["met"]))
    return float(run.total or 0)


def _summary(ctx: Context, definition: Definition, run: Run) -> Markup:
    if definition.kind == QUIZ:
        return ctx.t(
            "assess.summary_quiz",
            correct=_number(ctx, run.total or 0),
            total=len(definition.questions),
        )
    if definition.overall.all_criteria:
        return ctx.t(
            "assess.summary_criteria",
            met=int(_measure(definition, run)),
            total=len(run.criteria or []),
        )
    return ctx.t(
        "assess.summary_points",
        total=_number(ctx, run.total or 0),
        max=_number(ctx, run.max_total or 0),
    )


def _change(ctx: Context, definition: Definition, run: Run, previous: Run | None) -> Markup:
    if previous is None:
        return Markup("")
    delta = _measure(definition, run) - _measure(definition, previous)
    if delta > 0:
        return ctx.t("assess.change_up", delta=_number(ctx, delta))
    if delta < 0:
        return ctx.t("assess.change_down", delta=_number(ctx, -delta))
    return ctx.t("assess.change_same")
