"""The visitor's own pages ("My visits", 我的访问): sign in with a one-time SMS code, see this
building's visits of that mobile, cancel a request still waiting, open an approved visit's pass.

No account: the code proves the number, and a short sign-in in the session (``visitor_session``)
remembers it for this building only. Inside WeChat, a visitor whose WeChat is linked to their
mobile (``WeChatLink``, made with such a code) is signed in from the link without a code.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kernel.console import building_zone
from kernel.errors import DomainError
from kernel.mobile_pages import code_page, private
from kernel.privacy import mask_name
from kernel.rate_limits import limit_posts
from visit_platform.access.actions import renew_pass_link
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.notifications.wechat_session import wechat_openid
from visit_platform.visits.actions import note_own_visits_viewed, note_visitor_signed_in
from visit_platform.visits.choices import ADMITTING_STATUSES, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import visits_of_mobile, wechat_link_of
from visit_platform.visits.visitor_session import (
    sign_in,
    sign_in_mobile_index,
    sign_out,
    signed_in_mobile,
)
from workflows.actions import cancel_request, rights, verify_one_time_code
from workflows.actions.rights import note_personal_data_downloaded
from workflows.choices import PrivacyRequestStatus
from workflows.code_pages import text_a_code, typed_code
from workflows.models import PrivacyRequest
from workflows.personal_data import counts as personal_data_counts
from workflows.personal_data import personal_data

RECENT_DAYS = 90
LIST_LIMIT = 20


class VisitState(models.TextChoices):
    """How the visitor's page names a visit's state (with the window taken into account)."""

    WAITING = "waiting", gettext_lazy("Waiting for approval")
    APPROVED = "approved", gettext_lazy("Approved")
    INSIDE = "inside", gettext_lazy("Inside")
    LEFT = "left", gettext_lazy("Left")
    REFUSED = "refused", gettext_lazy("Refused")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")
    EXPIRED = "expired", gettext_lazy("Expired")


UPCOMING_STATES = frozenset({VisitState.WAITING, VisitState.APPROVED, VisitState.INSIDE})


def visit_state(visit: Visit, now: datetime) -> VisitState:
    status = visit.status
    if status == VisitStatus.CHECKED_IN:
        return VisitState.INSIDE
    if status == VisitStatus.CHECKED_OUT:
        return VisitState.LEFT
    if status == VisitStatus.REJECTED:
        return VisitState.REFUSED
    if status == VisitStatus.CANCELLED:
        return VisitState.CANCELLED
    if status == VisitStatus.EXPIRED or visit.valid_until <= now:
        return VisitState.EXPIRED
    if status == VisitStatus.APPROVED:
        return VisitState.APPROVED
    return VisitState.WAITING


@dataclass(frozen=True)
class OwnVisit:
    """One row of the visitor's list, masked as the page shows it."""

    pk: int
    state: VisitState
    company: str
    host: str
    valid_from: datetime
    valid_until: datetime
    reason: str
    can_cancel: bool
    has_pass: bool

    @property
    def state_label(self) -> str:
        return str(self.state.label)


def _visitor(request: HttpRequest) -> Actor:
    return Actor(user=None, ip_address=request.META.get("REMOTE_ADDR"), label="visitor")


def _sign_in_page(request: HttpRequest, **step: Any) -> HttpResponse:
    return code_page(request, "visits/my_sign_in.html", **step)


def signed_in_visitor(request: HttpRequest) -> str | None:
    """The keyed hash of the signed-in visitor's mobile: from their sign-in by code, or,
    inside WeChat, from the link of the WeChat user holding the phone (who is signed in by it
    then, and audited as a sign-in)."""
    mobile_index = signed_in_mobile(request)
    if mobile_index is not None:
        return mobile_index
    link = wechat_link_of(wechat_openid(request))
    if link is None:
        return None
    sign_in_mobile_index(request, link.mobile_index)
    note_visitor_signed_in(_visitor(request))
    return link.mobile_index


def _by_wechat(request: HttpRequest, mobile_index: str) -> bool:
    """Whether the visitor signed in to this mobile is the WeChat user linked to it."""
    link = wechat_link_of(wechat_openid(request))
    return link is not None and link.mobile_index == mobile_index


def my_visits(request: HttpRequest) -> HttpResponse:
    mobile_index = signed_in_visitor(request)
    if mobile_index is None and wechat_openid(request) is not None:
        # Inside WeChat the code also links the WeChat, so that it is asked for once.
        link_page = reverse("wechat:link")
        return private(redirect(f"{link_page}?{urlencode({'next': request.path})}"))
    if mobile_index is None:
        return _sign_in_page(request)
    return _list_page(request, mobile_index)


def _list_page(
    request: HttpRequest, mobile_index: str, problem: str = "", status: int = 200
) -> HttpResponse:
    now = timezone.now()
    visits = visits_of_mobile(mobile_index)
    upcoming = list(
        visits.filter(
            status__in=[
                VisitStatus.PENDING_APPROVAL,
                VisitStatus.APPROVED,
                VisitStatus.CHECKED_IN,
            ],
            valid_until__gt=now,
        ).order_by("valid_from", "pk")[:LIST_LIMIT]
    )
    shown = {visit.pk for visit in upcoming}
    recent = [
        visit
        for visit in visits.filter(valid_until__gt=now - timedelta(days=RECENT_DAYS)).order_by(
            "-valid_from", "-pk"
        )[: LIST_LIMIT + len(shown)]
        if visit.pk not in shown
    ][:LIST_LIMIT]
    live_passes = set(
        Pass.objects.filter(
            visit__in=[visit.pk for visit in upcoming],
            revoked_at__isnull=True,
            valid_until__gt=now,
        ).values_list("visit_id", flat=True)
    )
    note_own_visits_viewed(_visitor(request), [visit.pk for visit in upcoming + recent])
    with timezone.override(building_zone(request)):
        context = {
            "upcoming": [_row(visit, now, live_passes) for visit in upcoming],
            "recent": [_row(visit, now, live_passes) for visit in recent],
            "problem": problem,
            "time_zone": timezone.get_current_timezone_name(),
            "by_wechat": _by_wechat(request, mobile_index),
            "deletion": _latest_deletion_request(mobile_index),
            "open_status": PrivacyRequestStatus.OPEN,
        }
        response = render(request, "visits/my_visits.html", context, status=status)
    return private(response)


def _latest_deletion_request(mobile_index: str) -> PrivacyRequest | None:
    return PrivacyRequest.objects.filter(mobile_index=mobile_index).order_by("-created_at").first()


def _row(visit: Visit, now: datetime, live_passes: set[int]) -> OwnVisit:
    state = visit_state(visit, now)
    company = visit.company or (visit.host.company if visit.host else None)
    return OwnVisit(
        pk=visit.pk,
        state=state,
        company=company.name if company else "",
        host=mask_name(visit.host.name) if visit.host else "",
        valid_from=visit.valid_from,
        valid_until=visit.valid_until,
        reason=visit.decision_reason if state == VisitState.REFUSED else "",
        can_cancel=state == VisitState.WAITING,
        has_pass=state in (VisitState.APPROVED, VisitState.INSIDE) and visit.pk in live_passes,
    )


@require_POST
@limit_posts("sms_code")
def send_code(request: HttpRequest) -> HttpResponse:
    """Step one: text a code to the number given."""
    return text_a_code(request, _visitor(request), functools.partial(_sign_in_page, request))


@require_POST
def check_code(request: HttpRequest) -> HttpResponse:
    """Step two: the code proves the number; the visitor is signed in for a short while."""
    typed = typed_code(request, functools.partial(_sign_in_page, request))
    if isinstance(typed, HttpResponse):
        return typed
    number, code = typed
    try:
        verified = verify_one_time_code(number, code)
    except DomainError as error:
        return _sign_in_page(
            request, step="code", mobile=number, problem=error.message, status=error.status
        )
    sign_in(request, verified)
    note_visitor_signed_in(_visitor(request))
    return private(redirect("visits:my_visits"))


@require_POST
def sign_out_view(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    return private(redirect("visits:my_visits"))


def _signed_in_or_refused(request: HttpRequest) -> str | HttpResponse:
    mobile_index = signed_in_visitor(request)
    if mobile_index is None:
        return _sign_in_page(
            request,
            problem=_("Your sign-in has ended; sign in again. Nothing was changed."),
            status=403,
        )
    return mobile_index


def _own_visit(mobile_index: str, pk: int) -> Visit:
    visit = visits_of_mobile(mobile_index).filter(pk=pk).first()
    if visit is None:
        raise Http404
    return visit


@require_POST
def cancel_visit(request: HttpRequest, pk: int) -> HttpResponse:
    mobile_index = _signed_in_or_refused(request)
    if isinstance(mobile_index, HttpResponse):
        return mobile_index
    visit = _own_visit(mobile_index, pk)
    try:
        cancel_request(_visitor(request), visit)
    except DomainError as error:
        return _list_page(request, mobile_index, problem=error.message, status=error.status)
    messages.success(request, _("Your request was cancelled."))
    return private(redirect("visits:my_visits"))


@require_POST
def open_pass(request: HttpRequest, pk: int) -> HttpResponse:
    """A fresh link to the pass of an approved visit (the one texted earlier stops working:
    only hashes of links are kept, so a link can be replaced but not shown again)."""
    mobile_index = _signed_in_or_refused(request)
    if isinstance(mobile_index, HttpResponse):
        return mobile_index
    visit = _own_visit(mobile_index, pk)
    pass_record = (
        Pass.objects.filter(visit=visit, revoked_at__isnull=True, valid_until__gt=timezone.now())
        .order_by("-created_at", "-pk")
        .first()
    )
    if visit.status not in ADMITTING_STATUSES or pass_record is None:
        return _list_page(
            request,
            mobile_index,
            problem=_("This visit has no pass that can be used."),
            status=409,
        )
    code = renew_pass_link(_visitor(request), pass_record)
    return private(redirect("pass_page", code=code))


@require_POST
@limit_posts("visitor_rights")
def download_my_data(request: HttpRequest) -> HttpResponse:
    """Everything the building holds about the signed-in mobile, as a JSON file (ADR 0037).
    A POST, so that a link on another site cannot make the browser fetch it, and counted
    against the visitor pages' limit: the file is built from every table."""
    mobile_index = _signed_in_or_refused(request)
    if isinstance(mobile_index, HttpResponse):
        return mobile_index
    with timezone.override(building_zone(request)):
        data = personal_data(mobile_index)
    note_personal_data_downloaded(_visitor(request), personal_data_counts(data))
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    day = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="my-data-{day}.json"'
    return private(response)


@require_POST
@limit_posts("visitor_rights")
def ask_for_deletion(request: HttpRequest) -> HttpResponse:
    """The visitor, having confirmed, asks the building to delete their data. The property
    office answers within 15 days; asking again while a request waits changes nothing."""
    mobile_index = _signed_in_or_refused(request)
    if isinstance(mobile_index, HttpResponse):
        return mobile_index
    if request.POST.get("confirm") != "yes":
        return _list_page(
            request,
            mobile_index,
            problem=_("Tick the box to confirm that you want your data deleted."),
            status=400,
        )
    _request, created = rights.ask_for_deletion(_visitor(request), mobile_index)
    if created:
        messages.success(
            request, _("Your request was received. The property office answers it here.")
        )
    else:
        messages.info(request, _("Your request is already waiting; nothing was added."))
    return private(redirect("visits:my_visits"))
