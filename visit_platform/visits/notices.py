"""What a WeChat notice about a visit shows (a template message's ``data``): the visit's
facts, masked, in the building's time. The SMS sent instead is the notice's own text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone

from kernel.privacy import mask_name
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.visits.models import Visit


def notice_data(
    visit: Visit, *, reason: str = "", building: Building | None = None
) -> dict[str, str]:
    """Who, where, when, whom to see (names masked: the message passes through WeChat's
    servers; a visit without a host, an event's, names the company), and a refusal's
    reason."""
    building = building or Building.objects.get(schema_name=current_schema())
    start, end = local_window(visit, building)
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    host = ""
    if visit.host is not None:
        host = f"{mask_name(visit.host.name)} · {visit.host.company.name}"
    elif visit.company is not None:
        host = visit.company.name
    data = {
        "visitor": mask_name(visit.visitor_name),
        "building": building.name,
        "window": f"{start:%Y-%m-%d %H:%M}–{until}",
        "host": host,
    }
    if reason:
        data["reason"] = reason
    return data


def local_window(visit: Visit, building: Building | None = None) -> tuple[datetime, datetime]:
    """The visit's window in the building's time zone."""
    building = building or Building.objects.get(schema_name=current_schema())
    try:
        zone = ZoneInfo(building.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.TIME_ZONE)
    return timezone.localtime(visit.valid_from, zone), timezone.localtime(visit.valid_until, zone)
