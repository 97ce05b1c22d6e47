"""Announcements to members: the service that records them (`service`), the delivery worker that
sends them through each channel's `Sender` (`worker`) and the rate limits it keeps (`pacing`)."""

from bot.records import AudienceFilter
from bot.services.outreach.service import OutreachService, parse_when

__all__ = ["AudienceFilter", "OutreachService", "parse_when"]
