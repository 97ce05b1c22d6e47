"""The main menu, help, and the ways back home: what a member sees when they are not in a task.

It is also where features meet without importing each other: an address names a menu section
("settings") or a deep link ("assess-<id>", "plan-<id>"), and `open_address` opens it through the
router. A button that leads into another feature carries `OpenSection(address)`; a /start link
carries the same address.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.context import Context, StaleButton
from bot.core.messages import Button
from bot.core.router import Router

router = Router("menu")
MENU_COLUMNS = 2


@action("home")
@dataclass(frozen=True)
class Home:
    """The "Trang chủ" button."""


@action("go")
@dataclass(frozen=True)
class OpenSection:
    key: str  # an address: a menu section's key or a deep link (see `open_address`)


def home_button(ctx: Context) -> Button:
    return ctx.button("buttons.home", Home())


def menu_buttons(ctx: Context) -> list[list[Button]]:
    buttons = [
        ctx.button(section.label_key, OpenSection(section.key))
        for section in ctx.sections.values()
        if section.key != "help"
    ]
    rows = [buttons[i : i + MENU_COLUMNS] for i in range(0, len(buttons), MENU_COLUMNS)]
    if "help" in ctx.sections:
        rows.append([ctx.button(ctx.sections["help"].label_key, OpenSection("help"))])
    return rows


async def show_menu(ctx: Context, *, intro: str | None = None, edit: bool = False) -> None:
    """The main menu, optionally after a line saying what just happened."""
    text = ctx.t("menu.title")
    if intro:
        text = f"{intro}\n\n{text}"
    ctx.clear_state()
    ctx.reply(text, menu_buttons(ctx), edit=edit)


@router.command("menu")
async def menu_command(ctx: Context) -> None:
    await show_menu(ctx)


@router.action(Home)
async def home(ctx: Context, _: Home) -> None:
    await show_menu(ctx, edit=True)


async def open_address(ctx: Context, address: str, *, intro: str = "") -> bool:
    """Open what `address` names: a section this member may open, or a registered deep link
    (prefix + rest). `intro` leads the first message opened (say, what was just saved). False
    when the address leads nowhere (nothing was shown)."""
    first = len(ctx.replies)
    section = ctx.sections.get(address)
    if section is not None:
        ctx.clear_state()
        await section.open(ctx)
    else:
        for prefix, handler in ctx.router.deep_links.items():
            if address.startswith(prefix) and len(address) > len(prefix):
                ctx.clear_state()
                await handler(ctx, address[len(prefix) :])
                break
    if len(ctx.replies) == first:
        return False
    if intro:
        opened = ctx.replies[first]
        opened.text = f"{intro}\n\n{opened.text}"
    return True


@router.action(OpenSection)
async def open_section(ctx: Context, act: OpenSection) -> None:
    if not await open_address(ctx, act.key):
        raise StaleButton(f"address {act.key!r} leads nowhere")


@router.section("help", "menu.help", order=90)
async def help_section(ctx: Context) -> None:
    commands = ctx.services.catalog.locales.commands(ctx.locale)
    allowed = set(ctx.router.commands_for(ctx.staff_role))  # members never see staff commands
    lines = [f"/{name} — {text}" for name, text in commands.items() if name in allowed]
    ctx.reply(
        ctx.t("help.text", commands="\n".join(lines)),
        [[home_button(ctx)]],
        edit=ctx.pressed,
    )
