"""Free text from members: an answer from the campaign's content when one fits, "Có phải…?"
choices when a few might, and a question to the association's staff when none does."""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog.i18n import Markup
from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.router import Router
from bot.services.ask import Match, Ranking
from bot.services.inbox import OPEN_PER_MEMBER
from handlers.consent import needs_consent
from handlers.menu import OpenSection, home_button, show_menu

router = Router("ask")

QUESTION_MAX = 1000


@action("qa")
@dataclass(frozen=True)
class ShowAnswer:
    kind: str  # faq | plan | assess | event
    item: str


@action("qn")
@dataclass(frozen=True)
class NotWhatIAsked:
    pass


@action("qs")
@dataclass(frozen=True)
class AskStaff:
    pass


def _title(ctx: Context, match: Match) -> str:
    catalog, i18n = ctx.services.catalog, ctx.services.i18n
    if match.kind == "faq":
        entry = next((e for e in catalog.faq if e.id == match.id), None)
        return i18n.text(ctx.locale, entry.question) if entry else match.id
    if match.kind == "plan":
        plan = catalog.plan(match.id)
        return i18n.text(ctx.locale, plan.button) if plan else match.id
    if match.kind == "assess":
        definition = catalog.definition(match.id)
        return i18n.text(ctx.locale, definition.button) if definition else match.id
    event = ctx.services.reminders.event(match.id)
    return i18n.text(ctx.locale, event.title) if event else match.id


def _for_member(ctx: Context, ranking: Ranking) -> Ranking:
    """The ranking without the events not meant for this member (a staff deadline)."""
    reminders, user = ctx.services.reminders, ctx.user

    def shown(match: Match) -> bool:
        if match.kind != "event":
            return True
        event = reminders.event(match.id)
        return event is not None and event.shown_to(user.role, user.area_code, ctx.is_staff)

    return Ranking(tuple(m for m in ranking.matches if shown(m)))


@router.fallback("text")
async def free_text(ctx: Context) -> None:
    question = " ".join(ctx.inbound.text.split())[:QUESTION_MAX]
    ranking = _for_member(ctx, ctx.services.answerer.rank(question))
    # "ok", "hi", emoji: nothing to look up; a bare small number is a choice typed where no
    # numbered choices were shown (a slip), never a question for staff.
    if not ranking.matches or (question.isascii() and question.isdigit() and len(question) <= 3):
        await show_menu(ctx, intro=ctx.t("fallback.text"))
        return
    ctx.set_state("", question=question)  # kept, in case it goes to staff
    confident = ranking.confident
    if confident is not None:
        await show_answer(ctx, confident, direct=True)
        return
    suggestions = ranking.suggestions()
    rows = [
        [Button(_title(ctx, m)[:60], action=ShowAnswer(m.kind, m.id).pack())] for m in suggestions
    ]
    rows.append([ctx.button("ask.buttons.ask_staff", AskStaff()), home_button(ctx)])
    ctx.reply(ctx.t("ask.did_you_mean" if suggestions else "ask.no_answer"), rows)


@router.action(ShowAnswer)
async def answer_pressed(ctx: Context, act: ShowAnswer) -> None:
    await show_answer(ctx, Match(act.kind, act.item, 0.0), direct=False)


async def show_answer(ctx: Context, match: Match, *, direct: bool) -> None:
    catalog = ctx.services.catalog
    if match.kind == "faq":
        entry = next((e for e in catalog.faq if e.id == match.id), None)
        if entry is None:
            raise StaleButton(f"no faq {match.id}")
        i18n = ctx.services.i18n
        text = Markup(
            f"<b>{i18n.text(ctx.locale, entry.question)}</b>\n{i18n.text(ctx.locale, entry.answer)}"
        )
        rows: list[list[Button]] = []
        if entry.section and entry.section in ctx.sections:
            section = ctx.sections[entry.section]
            rows.append([ctx.button(section.label_key, OpenSection(section.key))])
        controls = [ctx.button("ask.buttons.ask_staff", AskStaff())]
        if direct:
            controls.insert(0, ctx.button("ask.buttons.not_it", NotWhatIAsked()))
        rows += [controls, [home_button(ctx)]]
        ctx.reply(text, rows, edit=ctx.pressed)
        return
    if match.kind == "plan":
        from handlers.plans import ShowPlan, show_plan

        await show_plan(ctx, ShowPlan(match.id))
    elif match.kind == "assess":
        from handlers.assessment import OpenDefinition, open_definition

        await open_definition(ctx, OpenDefinition(match.id))
    elif match.kind == "event":
        from handlers.events import ShowEvent, show_event

        upcoming = [o for o in ctx.services.reminders.upcoming(400) if o.event.id == match.id]
        if not upcoming:
            raise StaleButton(f"no upcoming {match.id}")
        await show_event(ctx, ShowEvent(match.id, upcoming[0].key))
    else:
        raise StaleButton(f"unknown answer kind {match.kind!r}")
    if direct and ctx.replies:  # a content item answered directly: say so, offer the way out
        ctx.replies[-1].buttons.insert(
            0,
            [
                ctx.button("ask.buttons.not_it", NotWhatIAsked()),
                ctx.button("ask.buttons.ask_staff", AskStaff()),
            ],
        )


@router.action(NotWhatIAsked)
async def not_what_i_asked(ctx: Context, _: NotWhatIAsked) -> None:
    question = ctx.session.data.get("question", "")
    ranking = _for_member(ctx, ctx.services.answerer.rank(question)) if question else None
    others = ranking.suggestions(4)[1:] if ranking else ()
    rows = [[Button(_title(ctx, m)[:60], action=ShowAnswer(m.kind, m.id).pack())] for m in others]
    rows.append([ctx.button("ask.buttons.ask_staff", AskStaff()), home_button(ctx)])
    ctx.reply(ctx.t("ask.other_choices" if others else "ask.no_answer"), rows)


@router.action(AskStaff)
async def ask_staff(ctx: Context, _: AskStaff) -> None:
    question = ctx.session.data.get("question", "")
    if not question:
        ctx.reply(ctx.t("ask.type_question"), [[home_button(ctx)]])
        return
    if await needs_consent(ctx):  # a question is personal data
        return
    ticket = await ctx.services.inbox.ask(ctx.user, question)
    if ticket is None:  # too many of theirs still waiting
        ctx.reply(
            ctx.t("ask.too_many", limit=OPEN_PER_MEMBER),
            [[ctx.button("ask.buttons.my_questions", MyQuestions())]],
        )
        return
    ctx.clear_state()
    ctx.reply(ctx.t("ask.received", id=ticket.id, question=question), [[home_button(ctx)]])


@action("qm")
@dataclass(frozen=True)
class MyQuestions:
    pass


@router.action(MyQuestions, personal=True)
async def my_questions_pressed(ctx: Context, _: MyQuestions) -> None:
    await my_questions(ctx)


@router.command("myquestions", personal=True)
async def my_questions(ctx: Context) -> None:
    tickets = await ctx.services.inbox.of_member(ctx.user.id)
    if not tickets:
        ctx.reply(ctx.t("ask.mine_none"), [[home_button(ctx)]], edit=ctx.pressed)
        return
    lines = [ctx.t("ask.mine_title")]
    for ticket in tickets:
        lines.append(
            ctx.t(
                "ask.mine_line",
                id=ticket.id,
                status=ctx.t(f"ask.status.{ticket.status}"),
                question=ticket.question[:200],
            )
        )
        if ticket.answer:
            lines.append(ctx.t("ask.mine_answer", answer=ticket.answer[:500]))
    ctx.reply("\n".join(str(line) for line in lines), [[home_button(ctx)]], edit=ctx.pressed)
