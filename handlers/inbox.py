"""The question inbox for staff: open questions oldest first, answer by replying in chat (the
member gets the answer with their question quoted), close, assign, or draft an FAQ entry."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.router import Router
from bot.records import OPEN, AudienceFilter, Ticket
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
    ticket = await ctx.services.store.tickets.get(ticket_id)
    if ticket is None or (open_only and ticket.status != OPEN):
        raise StaleButton(f"ticket {ticket_id} is not open")
    return ticket


def _where(ctx: Context, ticket: Ticket) -> str:
    parts = [area_label(ctx, ticket.area_code), role_label(ctx, ticket.role)]
    return " · ".join(p for p in parts if p) or ctx.t("inbox.unknown_area")


@router.command("inbox", role="editor")
async def inbox(ctx: Context, *, intro: str = "") -> None:
    query = ctx.inbound.args.strip()
    tickets = await ctx.services.store.tickets.open(limit=200)
    if query:  # "/inbox ninh kieu": one area's questions
        codes = {a.code for a in ctx.services.catalog.areas.search(query, limit=3)}
        tickets = [t for t in tickets if t.area_code in codes]
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
        rows.append(
            [
                ctx.button("inbox.buttons.answer", AnswerTicket(ticket.id), id=ticket.id),
                ctx.button("inbox.buttons.assign", AssignTicket(ticket.id, 0), id=ticket.id),
                ctx.button("inbox.buttons.close", CloseTicket(ticket.id), id=ticket.id),
            ]
        )
    rows.append([home_button(ctx)])
    text = "\n".join(str(line) for line in lines)
    ctx.reply(f"{intro}\n\n{text}" if intro else text, rows)


@router.action(AnswerTicket, role="editor")
async def answer_pressed(ctx: Context, act: AnswerTicket) -> None:
    ticket = await _ticket(ctx, act.ticket)
    ctx.set_state(ANSWER_STATE, ticket=ticket.id)
    ctx.reply(ctx.t("inbox.type_answer", id=ticket.id, question=ticket.question[:500]))


@router.state(ANSWER_STATE, role="editor")
async def answer_typed(ctx: Context, text: str) -> None:
    ticket = await _ticket(ctx, int(ctx.session.data.get("ticket", 0)))
    answer = text.strip()[:ANSWER_MAX]
    answered = await ctx.services.store.tickets.answer(ticket.id, answer, ctx.actor)
    if answered is None:
        raise StaleButton(f"ticket {ticket.id} was answered meanwhile")
    member = await ctx.services.store.users.get(ticket.user_id)
    if member is not None:
        i18n = ctx.services.i18n
        # The member's own question is quoted as text (escaped), never as markup.
        message = i18n.t(
            member.locale,
            "inbox.answer_to_member",
            id=ticket.id,
            question=ticket.question,
            answer=answer,
        )
        await ctx.services.outreach.announce(
            ctx.actor, message, AudienceFilter(user_ids=(member.id,))
        )
    await ctx.services.store.staff.audit(ctx.actor, "ticket_answer", ticket=ticket.id)
    ctx.clear_state()
    ctx.reply(
        ctx.t("inbox.answered", id=ticket.id),
        [[ctx.button("inbox.buttons.faq", DraftFaq(ticket.id))], [home_button(ctx)]],
    )


@router.action(CloseTicket, role="editor")
async def close_ticket(ctx: Context, act: CloseTicket) -> None:
    ticket = await _ticket(ctx, act.ticket)
    await ctx.services.store.tickets.close(ticket.id)
    await ctx.services.store.staff.audit(ctx.actor, "ticket_close", ticket=ticket.id)
    await inbox(ctx, intro=ctx.t("inbox.closed", id=ticket.id))


@router.action(AssignTicket, role="editor")
async def assign_ticket(ctx: Context, act: AssignTicket) -> None:
    ticket = await _ticket(ctx, act.ticket)
    staff = await ctx.services.store.staff.members()
    if act.to == 0:
        rows = [
            [
                ctx.button(
                    "inbox.buttons.assign_to",
                    AssignTicket(ticket.id, row.user_id),
                    name=row.display_name or row.external_id,
                )
            ]
            for row in staff
        ]
        rows.append([home_button(ctx)])
        ctx.reply(ctx.t("inbox.assign_who" if staff else "inbox.no_staff", id=ticket.id), rows)
        return
    target = next((row for row in staff if row.user_id == act.to), None)
    if target is None:
        raise StaleButton(f"{act.to} is not staff")
    await ctx.services.store.tickets.assign(ticket.id, f"{target.channel}:{target.external_id}")
    await ctx.services.outreach.announce(
        ctx.actor,
        ctx.services.i18n.t(
            target.locale, "inbox.assigned_to_you", id=ticket.id, question=ticket.question[:500]
        ),
        AudienceFilter(user_ids=(target.user_id,)),
    )
    await ctx.services.store.staff.audit(
        ctx.actor,
        "ticket_assign",
        ticket=ticket.id,
        to=f"{target.channel}:{target.external_id}",
    )
    await inbox(
        ctx,
        intro=ctx.t("inbox.assigned", id=ticket.id, name=target.display_name or target.external_id),
    )


@router.action(DraftFaq, role="editor")
async def draft_faq(ctx: Context, act: DraftFaq) -> None:
    ticket = await _ticket(ctx, act.ticket, open_only=False)
    if not ticket.answer:
        raise StaleButton(f"ticket {ticket.id} has no answer yet")
    draft = await ctx.services.store.tickets.draft_faq(ticket, ctx.actor)
    ctx.reply(ctx.t("inbox.faq_drafted", id=draft), [[home_button(ctx)]], edit=True)
