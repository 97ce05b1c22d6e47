"""Staff roles, defined once: editors < admins < super admins. A member has no role (None).

Super admins come from the settings (`ADMIN_IDS`); admins and editors are granted in the chat and
kept by the staff service. Every command, button and state registered on a router names the least
role that may use it (`bot.core.router`).
"""

from __future__ import annotations

EDITOR, ADMIN, SUPER = "editor", "admin", "super"
GRANTABLE = (ADMIN, EDITOR)  # what a super admin may give in /admins
RANK: dict[str | None, int] = {None: 0, EDITOR: 1, ADMIN: 2, SUPER: 3}


def allowed(staff_role: str | None, needed: str | None) -> bool:
    """Whether someone with `staff_role` reaches what needs `needed` (None: everyone)."""
    return RANK.get(staff_role, 0) >= RANK[needed]


def check(role: str | None) -> None:
    """A developer error for a registration naming a role that does not exist."""
    if role not in RANK:
        raise ValueError(f"unknown staff role {role!r}")
