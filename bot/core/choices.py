"""Numbered choices: buttons for channels that cannot show them (the terminal, Zalo with buttons
off) or not enough of them (Zalo shows at most five). Built once here, used by every such channel.

The channel turns a reply's buttons into numbered lines (or into its first few buttons plus
"more"), and records [label, action] pairs in the member's session; the dispatcher turns a typed
number, or a press of "more", back into those actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import action
from bot.core.messages import Button, Reply


@action("more")
@dataclass(frozen=True)
class MoreChoices:
    """Show the choices that did not fit."""


def flat(replies: list[Reply]) -> list[Button]:
    return [b for reply in replies for row in reply.buttons for b in row]


def numbered(replies: list[Reply]) -> tuple[list[Reply], list[list[str]]]:
    """Replies whose buttons became "1. Label" lines; returns them and the [label, action] list.

    Link buttons become "Label: url" lines (a number cannot open a link).
    """
    choices: list[list[str]] = []
    out = []
    for reply in replies:
        lines = []
        for button in (b for row in reply.buttons for b in row):
            if button.url:
                lines.append(f"{button.text}: {button.url}")
            elif button.action:
                choices.append([button.text, button.action])
                lines.append(f"{len(choices)}. {button.text}")
        text = reply.text + ("\n\n" + "\n".join(lines) if lines else "")
        out.append(
            Reply(
                text=text,
                edit=reply.edit,
                image=reply.image,
                image_name=reply.image_name,
                photo_id=reply.photo_id,
                document=reply.document,
                document_name=reply.document_name,
                notice=reply.notice,
            )
        )
    return out, choices


def page(buttons: list[Button], limit: int, more_label: str) -> tuple[list[Button], list[Button]]:
    """The buttons to show (at most `limit`, the last one "more" when they do not fit) and the
    ones kept for later."""
    if len(buttons) <= limit:
        return buttons, []
    shown = buttons[: limit - 1]
    return [*shown, Button(more_label, action=MoreChoices().pack())], buttons[limit - 1 :]
