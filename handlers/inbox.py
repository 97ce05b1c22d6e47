"""The question inbox for staff: open questions oldest first, answer by replying in chat (the
member gets the answer with their question quoted), close, assign, or draft an FAQ entry.

The tickets are the inbox service's: it records each step, tells the member or the assignee, and
audits; this module shows the questions and asks it.

Officers and staff of a branch see and work only the questions asked from their own areas (a
ticket outside them is refused, whatever the path); city staff see all and hand a question to a
branch (to a staff member whose scope covers the question's area).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context, OutOfScope, StaleButton
from bot.core.roles import EDITOR, OFFICER
from bot.core.router import Router
from bot.records import OPEN, Ticket
from bot.services.staff import held_scope
from handlers.menu import home_button
from handlers.profile import area_label, role_label

router = Router("inbox")

ANSWER_STATE = "inbox.answer"
ANSWER_MAX = 3000


@action("ia")
@dataclass(frozen=True)
class AnswerTicket:
    ticket: int


@action("ic")
@dataclass(frozen=True)
class CloseTicket:
    ticket: int


@action("ig")
@dataclass(frozen=True)
class AssignTicket:
    ticket: int
    to: int  # a staff member's user id; 0 = show the choice


@action("if")
@dataclass(frozen=True)
class DraftFaq:
    ticket: int


async def _ticket(ctx: Context, ticket_id: int, *, open_only: bool = True) -> Ticket:
    ticket = await ctx.services.inbox.get(ticket_id)
    if ticket is None or (open_only and ticket.status != OPEN):
        raise StaleButton(f"ticket {ticket_id} is not open")
    if not ctx.scope.covers(ticket.area_code):
        raise OutOfScope(f"ticket {ticket_id} is from area {ticket.area_code}")
    return ticket


def _where(ctx: Context, ticket: Ticket) -> str:
    parts = [area_label(ctx, ticket.area_code), role_label(ctx, ticket.role)]
    return " · ".join(p for p in parts if p) or ctx.t("inbox.unknown_area")


@router.command("inbox", role=OFFICER)
async def inbox(ctx: Context, *, intro: str = "") -> None:
    query = ctx.inbound.args.strip()
    areas = None
    if query:  # "/inbox ninh kieu": one area's questions
        areas = {a.code for a in ctx.services.catalog.areas.search(query, limit=3)}
    if ctx.scope.branch:  # a branch sees its own areas' questions
        areas = set(ctx.scope.cut(sorted(areas or ())))
    tickets = await ctx.services.inbox.open(areas)
    if not tickets:
        ctx.reply(f"{intro}\n\n{ctx.t('inbox.empty')}".strip(), [[home_button(ctx)]])
        return
    tz = ctx.services.settings.timezone
    lines = [ctx.t("inbox.title", count=len(tickets))]
    rows = []
    for ticket in tickets[:10]:
        local = ticket.created_at.astimezone(tz)
        lines.append(
            ctx.t(
                "inbox.line",
                id=ticket.id,
                when=f"{local:%d/%m %H:%M}",
                where=_where(ctx, ticket),
                question=ticket.question[:300],
            )
        )
        row = [ctx.button("inbox.buttons.answer", AnswerTicket(ticket.id), id=ticket.id)]
        if ctx.scope.may_assign():
            row.append(ctx.button("inbox.buttons.assign", AssignTicket(ticket.id, 0), id=ticket.id))
        row.append(ctx.button("inbox.buttons.close", CloseTicket(ticket.id), id=ticket.id))
        rows.append(row)
    rows.append([home_button(ctx)])
    text = "\n".join(str(line) for line in lines)
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows)


@router.action(AnswerTicket, role=OFFICER)
async def answer_pressed(ctx: Context, act: AnswerTicket) -> None:
    ticket = await _ticket(ctx, act.ticket)
    ctx.set_state(ANSWER_STATE, ticket=ticket.id)
    ctx.reply(ctx.t("inbox.type_answer", id=ticket.id, question=ticket.question[:500]))


@router.state(ANSWER_STATE, role=OFFICER)
async def answer_typed(ctx: Context, text: str) -> None:
    ticket = await _ticket(ctx, int(ctx.session.data.get("ticket", 0)))
    answer = text.strip()[:ANSWER_MAX]
    if await ctx.services.inbox.answer(ticket, answer, ctx.actor) is None:
        raise StaleButton(f"ticket {ticket.id} was answered meanwhile")
    ctx.clear_state()
    ctx.reply(
        ctx.t("inbox.answered", id=ticket.id),
        [[ctx.button("inbox.buttons.faq", DraftFaq(ticket.id))], [home_button(ctx)]],
    )


@router.action(CloseTicket, role=OFFICER)
async def close_ticket(ctx: Context, act: CloseTicket) -> None:
    ticket = await _ticket(ctx, act.ticket)
    await ctx.services.inbox.close(ticket, ctx.actor)
    await inbox(ctx, intro=ctx.t("inbox.closed", id=ticket.id))


@router.action(AssignTicket, role=EDITOR)
async def assign_ticket(ctx: Context, act: AssignTicket) -> None:
    if not ctx.scope.may_assign():
        raise OutOfScope("only city staff hand questions to a branch")
    ticket = await _ticket(ctx, act.ticket)
    # Whoever may take it: city staff, and the branch staff of the question's area.
    staff = [
        m for m in await ctx.services.staff.members() if held_scope(m).covers(ticket.area_code)
    ]
    if act.to == 0:
        rows = [
            [ctx.button("inbox.buttons.assign_to", AssignTicket(ticket.id, m.user_id), name=m.name)]
            for m in staff
        ]
        rows.append([home_button(ctx)])
        ctx.reply(ctx.t("inbox.assign_who" if staff else "inbox.no_staff", id=ticket.id), rows)
        return
    target = next((m for m in staff if m.user_id == act.to), None)
    if target is None:
        raise StaleButton(f"{act.to} is not staff")
    if not await ctx.services.inbox.assign(ticket, target, ctx.actor):
        raise StaleButton(f"ticket {ticket.id} closed meanwhile")
    await inbox(ctx, intro=ctx.t("inbox.assigned", id=ticket.id, name=target.name))


@router.action(DraftFaq, role=EDITOR)
async def draft_faq(ctx: Context, act: DraftFaq) -> None:
    ticket = await _ticket(ctx, act.ticket, open_only=False)
    if not ticket.answer:
        raise StaleButton(f"ticket {ticket.id} has no answer yet")
    draft = await ctx.services.inbox.draft_faq(ticket, ctx.actor)
    ctx.reply(ctx.t("inbox.faq_drafted", id=draft), [[home_button(ctx)]], edit=True)
