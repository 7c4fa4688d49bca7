"""Console pages of visitors' privacy requests (PIPL): the open ones by their deadline, overdue
ones marked, and one request with what the building holds for it, carried out or refused
with a reason. Property admins only: a building's privacy requests are the property's to
answer (ADR 0037)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile, mask_name
from visit_platform.audit.actions import Actor
from visit_platform.directory.roles import HANDLE_PRIVACY_REQUESTS
from visit_platform.visits.models import Visitor
from visit_platform.visits.queries import is_watchlisted, visits_of_mobile
from workflows.actions import rights
from workflows.choices import PrivacyRequestStatus
from workflows.models import PrivacyRequest

ANSWERED_SHOWN = 20


def _request_or_404(pk: int) -> PrivacyRequest:
    request = PrivacyRequest.objects.select_related("handled_by").filter(pk=pk).first()
    if request is None:
        raise Http404
    return request


@console_view(HANDLE_PRIVACY_REQUESTS)
def request_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    waiting = list(
        PrivacyRequest.objects.filter(status=PrivacyRequestStatus.OPEN).order_by("due_at", "pk")
    )
    answered = list(
        PrivacyRequest.objects.exclude(status=PrivacyRequestStatus.OPEN)
        .select_related("handled_by")
        .order_by("-handled_at", "-pk")[:ANSWERED_SHOWN]
    )
    with timezone.override(building_zone(request)):
        return render(
            request,
            "workflows/privacy_requests.html",
            {
                "section": "privacy_requests",
                "waiting": [
                    {"request": row, "overdue": row.due_at <= now, "days_left": _days(row, now)}
                    for row in waiting
                ],
                "answered": answered,
            },
        )


def _days(row: PrivacyRequest, now: Any) -> int:
    """Days left to answer, a part of a day counting as one (a request received now has 15)."""
    return -(-int((row.due_at - now).total_seconds()) // 86400)


def _held(privacy_request: PrivacyRequest) -> dict[str, Any]:
    """What the building holds for the request's mobile, masked: enough to know what the
    deletion touches and whether an enforced watchlist entry will be kept."""
    visitors = list(Visitor.objects.filter(mobile_index=privacy_request.mobile_index))
    return {
        "visitors": [
            {
                "name": mask_name(visitor.name),
                "mobile": mask_mobile(display_mobile(visitor.mobile)) if visitor.mobile else "",
                "document": visitor.masked_id_number,
                "watchlisted": is_watchlisted(visitor),
            }
            for visitor in visitors
        ],
        "visits": visits_of_mobile(privacy_request.mobile_index).count(),
    }


def _detail(
    request: HttpRequest,
    privacy_request: PrivacyRequest,
    *,
    problem: str = "",
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    is_open = privacy_request.status == PrivacyRequestStatus.OPEN
    held = _held(privacy_request) if is_open else None
    if held is not None:
        rights.note_privacy_request_viewed(
            Actor.from_request(request), privacy_request, visitors=len(held["visitors"])
        )
    with timezone.override(building_zone(request)):
        return render(
            request,
            "workflows/privacy_request.html",
            {
                "section": "privacy_requests",
                "privacy_request": privacy_request,
                "is_open": is_open,
                "overdue": is_open and privacy_request.due_at <= now,
                "held": held,
                "problem": problem,
                "reason": reason,
                "max_reason": rights.MAX_REFUSAL_REASON,
            },
            status=status,
        )


@console_view(HANDLE_PRIVACY_REQUESTS)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _request_or_404(pk))


@require_POST
@console_view(HANDLE_PRIVACY_REQUESTS)
def carry_out(request: HttpRequest, pk: int) -> HttpResponse:
    privacy_request = _request_or_404(pk)
    try:
        rights.carry_out_deletion(Actor.from_request(request), privacy_request)
    except DomainError as error:
        privacy_request.refresh_from_db()
        return _detail(request, privacy_request, problem=error.message, status=error.status)
    messages.success(request, _("Carried out. The visitor was sent the answer."))
    return redirect("workflows:privacy_request", pk=pk)


@require_POST
@console_view(HANDLE_PRIVACY_REQUESTS)
def refuse(request: HttpRequest, pk: int) -> HttpResponse:
    privacy_request = _request_or_404(pk)
    reason = request.POST.get("reason", "")
    if not isinstance(reason, str):
        reason = ""
    try:
        rights.refuse_request(Actor.from_request(request), privacy_request, reason=reason)
    except DomainError as error:
        privacy_request.refresh_from_db()
        return _detail(
            request,
            privacy_request,
            problem=error.message,
            reason=reason[: rights.MAX_REFUSAL_REASON],
            status=error.status,
        )
    messages.success(request, _("Refused. The visitor was sent the reason."))
    return redirect("workflows:privacy_request", pk=pk)
