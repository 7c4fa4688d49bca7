"""Employees' pages inside WeChat (员工服务, seed 5.1): binding the WeChat user to their host
record by an SMS code to the mobile their company registered, the list of visits waiting for
their decision, and the approval page the WeChat approval request opens.

OAuth says which WeChat user holds the phone (``wechat_openid``); the binding says which
employee of this building that is. Everything an employee sees or decides here follows from
that binding, in this building only.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from forms.views import invitation_form_page, refuse_large_bodies
from kernel.console import building_zone
from kernel.errors import ConflictError, DomainError
from kernel.mobile_pages import code_page, private
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile, mask_name
from kernel.rate_limits import limit_posts
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import unbind_host_wechat
from visit_platform.directory.models import Host
from visit_platform.directory.queries import host_of_openid
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.invite_tokens import invitation_token
from visit_platform.visits.models import Visit
from visit_platform.wechat.oauth import wechat_openid, wechat_user_required
from workflows.actions.hosts import (
    bind_employee_wechat,
    decide_in_wechat,
    note_approval_viewed,
    note_staff_page_viewed,
    wechat_actor,
)
from workflows.code_pages import text_a_code, typed_code
from workflows.queries import may_see_in_wechat, visits_waiting_for, wechat_decider

MAX_REASON_LENGTH = 1000


def _wechat_user(request: HttpRequest) -> Actor:
    """A WeChat user not (yet) known as an employee: the audit log names them so."""
    return Actor(user=None, ip_address=request.META.get("REMOTE_ADDR"), label="WeChat user")


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _signed_out(request: HttpRequest) -> HttpResponse:
    """A form sent without a WeChat sign-in here (it ended, or was never made): through
    OAuth and back to the staff page; nothing was changed."""
    start = reverse("wechat:start")
    return redirect(f"{start}?{urlencode({'next': reverse('wechat:staff')})}")


def _problem(
    request: HttpRequest, message: str, status: int, *, to_staff: bool = True
) -> HttpResponse:
    return private(
        render(
            request,
            "wechat/staff_problem.html",
            {"problem": message, "to_staff": to_staff},
            status=status,
        )
    )


# --- The staff page and binding -------------------------------------------------------------


@wechat_user_required
def staff_page(request: HttpRequest) -> HttpResponse:
    """Bound: who the employee is here and what waits for them. Not bound: the binding form."""
    host = host_of_openid(wechat_openid(request) or "")
    if host is None:
        return _binding_page(request)
    return _staff_page(request, host)


def _staff_page(request: HttpRequest, host: Host) -> HttpResponse:
    waiting = visits_waiting_for(host)
    note_staff_page_viewed(wechat_actor(host, _ip(request)), [visit.pk for visit in waiting])
    with timezone.override(building_zone(request)):
        context = {
            "host_name": mask_name(host.name),
            "company": host.company.name,
            "mobile": mask_mobile(display_mobile(host.mobile)),
            "waiting": [_waiting_row(visit) for visit in waiting],
            "time_zone": timezone.get_current_timezone_name(),
        }
        response = render(request, "wechat/staff.html", context)
    return private(response)


def _waiting_row(visit: Visit) -> dict[str, Any]:
    company = visit.company or (visit.host.company if visit.host else None)
    return {
        "pk": visit.pk,
        "visitor": mask_name(visit.visitor_name),
        "company": company.name if company else "",
        "valid_from": visit.valid_from,
        "valid_until": visit.valid_until,
        "purpose": visit.purpose,
    }


def _binding_page(request: HttpRequest, **step: Any) -> HttpResponse:
    return code_page(request, "wechat/staff_bind.html", **step)


@require_POST
@limit_posts("sms_code")
def send_code(request: HttpRequest) -> HttpResponse:
    """Step one of binding: a code is texted to the number typed. Anyone may ask for a code
    to their own phone; whether the number is an employee's is told only to whoever can
    read the code."""
    if wechat_openid(request) is None:
        return _signed_out(request)
    return text_a_code(request, _wechat_user(request), functools.partial(_binding_page, request))


@require_POST
def bind(request: HttpRequest) -> HttpResponse:
    """Step two: the code proves the number, and the WeChat user is bound to the employee
    registered with it here."""
    openid = wechat_openid(request)
    if openid is None:
        return _signed_out(request)
    typed = typed_code(request, functools.partial(_binding_page, request))
    if isinstance(typed, HttpResponse):
        return typed
    number, code = typed
    try:
        # Not in a transaction: a wrong guess stays counted (see verify_one_time_code).
        host = bind_employee_wechat(_wechat_user(request), mobile=number, code=code, openid=openid)
    except DomainError as error:
        step = "code" if error.details.get("field") == "code" else "mobile"
        return _binding_page(
            request, step=step, mobile=number, problem=error.message, status=error.status
        )
    messages.success(
        request,
        _("Your WeChat is now bound to %(name)s of %(company)s.")
        % {"name": mask_name(host.name), "company": host.company.name},
    )
    return private(redirect("wechat:staff"))


@require_POST
def unbind(request: HttpRequest) -> HttpResponse:
    """The employee unbinds their WeChat: approvals and arrivals go to them by SMS again."""
    host = host_of_openid(wechat_openid(request) or "")
    if host is None:
        return _signed_out(request)
    unbind_host_wechat(wechat_actor(host, _ip(request)), host)
    messages.success(request, _("Your WeChat is no longer bound. Notices go to you by SMS."))
    return private(redirect("wechat:staff"))


# --- The approval page ----------------------------------------------------------------------


@refuse_large_bodies
@wechat_user_required
def invite(request: HttpRequest) -> HttpResponse:
    """A bound employee invites a visitor from WeChat (5.2.1): the building's invitation form,
    the same as the console's; once sent, the invitation's page, whose card the host forwards
    to the visitor in WeChat (or whose pass goes by SMS)."""
    host = host_of_openid(wechat_openid(request) or "")
    if host is None:
        return redirect("wechat:staff")
    return invitation_form_page(
        request,
        host,
        actor=wechat_actor(host, _ip(request)),
        template="wechat/invite.html",
        sent=lambda visit: reverse("wechat:invitation", args=[invitation_token(visit)]),
    )


@wechat_user_required
def approval(request: HttpRequest, pk: int) -> HttpResponse:
    """A visit waiting for a decision, opened from the WeChat approval request (or the staff
    page): shown to, and decided by, the employee whose turn it is only."""
    host = host_of_openid(wechat_openid(request) or "")
    if host is None:
        return _problem(
            request,
            _(
                "Your WeChat is not bound to an employee of this building. "
                "Bind it on the staff page first."
            ),
            403,
        )
    visit = (
        Visit.objects.select_related("visitor", "company", "host__company").filter(pk=pk).first()
    )
    if visit is None or not may_see_in_wechat(host, visit):
        return _problem(request, _("You may not see this visit."), 403)
    if visit.status != VisitStatus.PENDING_APPROVAL:
        return _decided(request, visit)
    if wechat_decider(host, visit) is None:
        return _problem(request, _("This decision is not, or no longer, yours to make."), 403)
    actor = wechat_actor(host, _ip(request))
    problem = ""
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        reason = request.POST.get("reason", "")[:MAX_REASON_LENGTH]
        try:
            visit = decide_in_wechat(actor, host, visit, approve=approve, reason=reason)
        except ConflictError:
            visit.refresh_from_db()
            return _decided(request, visit)
        except DomainError as error:
            problem = error.message
        else:
            return private(render(request, "wechat/approval_done.html", {"visit": visit}))
    else:
        note_approval_viewed(actor, visit)
    company = visit.company or (visit.host.company if visit.host else None)
    with timezone.override(building_zone(request)):
        context = {
            "visit": visit,
            "visitor_name": mask_name(visit.visitor_name),
            "company": company.name if company else "",
            "is_host": visit.host_id == host.pk,
            "problem": problem,
            "reason": request.POST.get("reason", "")[:200],
        }
        response = render(request, "wechat/approval.html", context, status=400 if problem else 200)
    return private(response)


def _decided(request: HttpRequest, visit: Visit) -> HttpResponse:
    """Someone decided first (here, by the SMS link, in the console) or the request ended:
    said plainly, nothing changed."""
    return _problem(
        request,
        _("This visit is no longer waiting for a decision: %(status)s.")
        % {"status": visit.get_status_display()},
        409,
    )
