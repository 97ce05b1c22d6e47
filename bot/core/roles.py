"""Staff roles, defined once: officers < editors < admins < super admins. A member has no role
(None).

Super admins come from the settings (`ADMIN_IDS`); admins, editors and officers are granted in the
chat or with `khuyenhoc admins grant`, for the whole city or for some wards/communes, and kept by
the staff service. Every command, button and state registered on a router names the least role
that may use it (`bot.core.router`); what a role may do *for an area* is decided by the staff
service's `Scope` (bot/services/staff.py), in one place.

An officer helps members in their area (answers their questions, registers and assesses members
who do not chat) but never broadcasts.
"""

from __future__ import annotations

OFFICER, EDITOR, ADMIN, SUPER = "officer", "editor", "admin", "super"
GRANTABLE = (ADMIN, EDITOR, OFFICER)  # what a super admin may give in /admins
RANK: dict[str | None, int] = {None: 0, OFFICER: 1, EDITOR: 2, ADMIN: 3, SUPER: 4}


def allowed(staff_role: str | None, needed: str | None) -> bool:
    """Whether someone with `staff_role` reaches what needs `needed` (None: everyone)."""
    return RANK.get(staff_role, 0) >= RANK[needed]


def check(role: str | None) -> None:
    """A developer error for a registration naming a role that does not exist."""
    if role not in RANK:
        raise ValueError(f"unknown staff role {role!r}")
