"""What flows through the conversation kernel: `Inbound` from a member, `Reply` back to them.

Both are plain data and know no messenger. Channels translate platform updates into `Inbound` and
`Reply` objects into platform calls; handlers only ever see these types.

Reply text is a small, safe subset of HTML (<b>, <i>, <a href>, <code>): `bot.catalog.i18n`
escapes every value it interpolates, so user-supplied text can never inject markup. Channels that
cannot show markup strip the tags (`bot.core.text.plain`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    COMMAND = "command"  # "/start plans" -> command="start", args="plans"
    TEXT = "text"  # free text
    ACTION = "action"  # a button press carrying packed action data
    MEDIA = "media"  # photo, sticker, voice, location, ...: something we cannot read
    BLOCKED = "blocked"  # the member blocked the bot / unfollowed
    UNBLOCKED = "unblocked"  # the member came back


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a member did, in channel-neutral terms."""

    channel: str  # "telegram", "console", "zalo"
    user_id: str  # the member's id on that channel (as text: Zalo ids are not numbers)
    kind: Kind
    chat_id: str = ""  # where to answer; equals user_id in a private chat
    # Whether the chat is the member's own with the bot (not a group): only a private chat is
    # kept as where to reach them, and only there does the bot show what it keeps of them.
    private: bool = True
    text: str = ""  # TEXT: the text; COMMAND: the arguments after the command; ACTION: the data
    command: str = ""  # COMMAND: lower-case name without "/" and without "@bot"
    media: str = ""  # MEDIA: "photo", "sticker", ...
    media_id: str = ""  # MEDIA: the platform's id of the photo (to send it on)
    html: str = ""  # TEXT/MEDIA: the text or caption with its formatting, as safe HTML
    display_name: str = ""
    language_code: str | None = None  # the app's language, a hint for new members
    message_id: str | None = None  # ACTION: the message whose button was pressed (for edits)
    update_id: str = ""  # for logs: which platform update this was
    # MEDIA "document": the file's name and size, and how to fetch its bytes (the channel knows
    # how; a handler decides whether to): a staffer's edited content workbook.
    file_name: str = ""
    file_size: int = 0
    download: Callable[[], Awaitable[bytes]] | None = field(default=None, compare=False, repr=False)

    @property
    def args(self) -> str:
        return self.text if self.kind is Kind.COMMAND else ""


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a message: either packed action data or a URL to open."""

    text: str
    action: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Reply:
    """One message to show the member.

    `edit=True` asks the channel to replace the message whose button was pressed instead of sending
    a new one (a channel that cannot edit just sends). `notice` is a short toast for the button
    press itself (Telegram's answerCallbackQuery text); channels without toasts ignore it.
    """

    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    edit: bool = False
    image: bytes | None = None
    image_name: str = "chart.png"
    photo_id: str | None = None  # a photo the platform already has (an announcement's)
    document: bytes | None = None
    document_name: str = "export.csv"
    notice: str | None = None
