"""Where an announcement's deliveries ended, in the words staff use: the funnel the console shows
(recipients → sent, failed by reason, skipped, pending).

The outbox keeps each delivery's status and last error; this module is the one place that reads a
reason out of them, so the console's counts and its per-recipient lines always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.records import BLOCKED, FAILED, PENDING, SENDING, SENT, SKIPPED

# Why a delivery failed, in the order the console lists them.
REASONS = ("blocked", "not_found", "outside_window", "quota", "error")
STAGES = ("sent", "failed", "skipped", "pending")
OUTSIDE_WINDOW = "outside_window"  # the worker's mark (Zalo: no message after 7 days' silence)


def reason_of(status: str, error: str | None) -> str:
    """ "sent", "pending", "skipped" or one of REASONS for one delivery."""
    text = (error or "").lower()
    if status == SENT:
        return "sent"
    if status in (PENDING, SENDING):
        return "pending"
    if status == BLOCKED:
        return "blocked"
    if status == SKIPPED:
        return OUTSIDE_WINDOW if text.startswith(OUTSIDE_WINDOW) else "skipped"
    if status == FAILED and "chat not found" in text:
        return "not_found"
    if "quota" in text:
        return "quota"
    return "error"


def stage_of(reason: str) -> str:
    return "failed" if reason in REASONS else reason


@dataclass(frozen=True)
class Funnel:
    recipients: int
    by_reason: dict[str, int]  # sent, pending, skipped and each of REASONS

    @property
    def failed(self) -> int:
        return sum(self.by_reason[r] for r in REASONS)

    def stage(self, name: str) -> int:
        return self.failed if name == "failed" else self.by_reason[name]


def funnel(rows: list[tuple[str, str | None, int]], counts: dict[str, int], total: int) -> Funnel:
    """The funnel from (status, last error, n) rows; from the status totals alone when the rows
    were pruned (their reasons are gone: a failure counts as "error")."""
    by_reason = dict.fromkeys(("sent", "pending", "skipped", *REASONS), 0)
    if not rows:
        rows = [(status, None, n) for status, n in counts.items() if n]
    for status, error, n in rows:
        by_reason[reason_of(status, error)] += n
    return Funnel(total or sum(by_reason.values()), by_reason)
