"""The audit log page: property admins search who did what."""

from __future__ import annotations

from datetime import datetime, time

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from kernel.console import console_view
from visit_platform.audit.details import describe
from visit_platform.audit.models import AuditEntry
from visit_platform.audit.verbs import actor_label, verb_label
from visit_platform.directory.roles import VIEW_AUDIT

PAGE_SIZE = 50


@console_view(VIEW_AUDIT)
def entry_list(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.all()
    query = request.GET.get("q", "").strip()[:100]
    verb = request.GET.get("verb", "").strip()[:64]
    since = (
        parse_date(request.GET.get("since", "") or "")
        if _is_date(request.GET.get("since"))
        else None
    )
    until = (
        parse_date(request.GET.get("until", "") or "")
        if _is_date(request.GET.get("until"))
        else None
    )
    if query:
        entries = entries.filter(
            Q(actor_label__icontains=query) | Q(object_repr__icontains=query) | Q(object_id=query)
        )
    if verb:
        entries = entries.filter(verb__startswith=verb)
    zone = timezone.get_current_timezone()
    if since:
        entries = entries.filter(created_at__gte=datetime.combine(since, time.min, zone))
    if until:
        entries = entries.filter(created_at__lte=datetime.combine(until, time.max, zone))
    verbs = AuditEntry.objects.order_by("verb").values_list("verb", flat=True).distinct()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page:
        entry.verb_label = verb_label(entry.verb)  # type: ignore[attr-defined]
        entry.actor_name = actor_label(entry.actor_label)  # type: ignore[attr-defined]
        entry.details = describe(entry.detail, entry.object_type)  # type: ignore[attr-defined]
    return render(
        request,
        "audit/entry_list.html",
        {
            "section": "audit",
            "page": page,
            "query": query,
            "verb": verb,
            "verbs": [(code, verb_label(code)) for code in verbs],
            "since": since,
            "until": until,
        },
    )


def _is_date(text: str | None) -> bool:
    try:
        return bool(text) and parse_date(text or "") is not None
    except ValueError:
        return False
