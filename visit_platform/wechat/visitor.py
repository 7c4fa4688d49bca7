"""A visitor's pages inside WeChat (issue 13, 4 and 7): linking their WeChat to their mobile
with one SMS code, My visits without asking again, a host's invitation and an event's code,
each leading to the pass.

A WeChat user is linked to a mobile (``WeChatLink``) by proving it once with a code; from then
on, in this building, their pages open signed in from the link and their notices come by
WeChat. A host's invitation is the authority for its own visit's mobile, as a pass link is
(docs/adr/0017): it links a WeChat that nobody has linked yet, and anything else takes a code.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kernel.console import building_zone
from kernel.errors import DomainError
from kernel.mobile_pages import code_page, local_path, posted, private
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile, mask_name
from kernel.rate_limits import limit_posts
from tenants.actions import building_url
from tenants.db import current_schema
from visit_platform.audit.actions import Actor
from visit_platform.notifications.wechat_js import JS_SDK_SCRIPT, in_wechat, js_sdk_config
from visit_platform.notifications.wechat_session import wechat_openid
from visit_platform.visits.actions import (
    link_visitor_wechat,
    note_visitor_signed_in,
    unlink_visitor_wechat,
)
from visit_platform.visits.choices import EventStatus
from visit_platform.visits.invite_tokens import event_by_invite_token, visit_by_invitation_token
from visit_platform.visits.models import Event, Visit
from visit_platform.visits.queries import wechat_link_of
from visit_platform.visits.visitor_session import sign_in, sign_in_mobile_index, sign_out
from visit_platform.wechat.oauth import wechat_user_required
from workflows.actions import (
    attendance_of,
    open_event_pass,
    open_invitation,
    resend_pass_by_sms,
    usable_pass,
    verify_one_time_code,
)
from workflows.code_pages import text_a_code, typed_code


def _visitor(request: HttpRequest) -> Actor:
    return Actor(user=None, ip_address=request.META.get("REMOTE_ADDR"), label="visitor")


def _problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return private(render(request, "wechat/problem.html", {"problem": message}, status=status))


def _openid(request: HttpRequest) -> str:
    """The WeChat user of a view behind ``wechat_user_required``."""
    return wechat_openid(request) or ""


def _next_path(value: str) -> str:
    """Where linking leads afterwards: a page of this site only, My visits by default."""
    return local_path(value, reverse("visits:my_visits"))


def _link_page_url(next_path: str) -> str:
    return f"{reverse('wechat:link')}?{urlencode({'next': next_path})}"


# --- Linking a WeChat to a mobile -------------------------------------------------------------


def _link_page(request: HttpRequest, *, next_path: str, **step: Any) -> HttpResponse:
    linked = wechat_link_of(_openid(request)) is not None
    return code_page(request, "wechat/link.html", next=next_path, linked=linked, **step)


@wechat_user_required
def link_start(request: HttpRequest) -> HttpResponse:
    """Step one's page: the mobile to link this WeChat to."""
    return _link_page(request, next_path=_next_path(request.GET.get("next", "")))


@require_POST
@limit_posts("sms_code")
@wechat_user_required
def link_send_code(request: HttpRequest) -> HttpResponse:
    """Text a code to the number given (the codes of My visits, with their limits)."""
    next_path = _next_path(posted(request, "next") if "next" in request.POST else "")
    show = functools.partial(_link_page, request, next_path=next_path)
    return text_a_code(request, _visitor(request), show)


@require_POST
@wechat_user_required
def link_check_code(request: HttpRequest) -> HttpResponse:
    """The code proves the number: this WeChat is linked to it (moved from another number it
    was linked to), the visitor is signed in, and goes where they were going."""
    next_path = _next_path(posted(request, "next") if "next" in request.POST else "")
    typed = typed_code(request, functools.partial(_link_page, request, next_path=next_path))
    if isinstance(typed, HttpResponse):
        return typed
    number, code = typed
    try:
        verified = verify_one_time_code(number, code)
    except DomainError as error:
        return _link_page(
            request,
            next_path=next_path,
            step="code",
            mobile=number,
            problem=error.message,
            status=error.status,
        )
    link_visitor_wechat(_visitor(request), _openid(request), verified)
    sign_in(request, verified)
    note_visitor_signed_in(_visitor(request))
    return private(redirect(next_path))


# --- My visits --------------------------------------------------------------------------------


@wechat_user_required
def my_visits(request: HttpRequest) -> HttpResponse:
    """My visits from the account's menu: signed in from the link, or linked first."""
    link = wechat_link_of(_openid(request))
    if link is None:
        return private(redirect(_link_page_url(reverse("visits:my_visits"))))
    sign_in_mobile_index(request, link.mobile_index)
    note_visitor_signed_in(_visitor(request))
    return private(redirect("visits:my_visits"))


@require_POST
def unlink(request: HttpRequest) -> HttpResponse:
    """ "Stop using this WeChat": the link goes, and the sign-in it gave."""
    openid = wechat_openid(request)
    if openid is None:
        return _problem(
            request,
            _("Your WeChat sign-in has ended. Open My visits again from the menu."),
            403,
        )
    unlink_visitor_wechat(_visitor(request), openid)
    sign_out(request)
    return private(render(request, "wechat/unlinked.html"))


# --- A host's invitation ----------------------------------------------------------------------


def _is_inviting_host(request: HttpRequest, visit: Visit, openid: str) -> bool:
    """The host who invited: signed in to the console, or by the WeChat bound to them."""
    host = visit.host
    if host is None:
        return False
    user = request.user
    if user.is_authenticated and user.pk in (host.user_id, visit.invited_by_id):
        return True
    return bool(host.wechat_openid) and host.wechat_openid == openid


def _share(request: HttpRequest, title: str, description: str, link: str) -> dict[str, Any]:
    """What the share card needs: the link and its texts, and, inside WeChat, the JS-SDK's
    script and ``wx.config`` (the page works without them: a link to copy)."""
    inside = in_wechat(request.META.get("HTTP_USER_AGENT", ""))
    config = None
    if inside:
        found = js_sdk_config(building_url(current_schema(), request.get_full_path()))
        config = found.as_dict() if found is not None else None
    return {
        "share": {"title": title, "desc": description, "link": link},
        "wx_config": config,
        "js_sdk_script": JS_SDK_SCRIPT if config is not None else "",
    }


def _invitation_page(
    request: HttpRequest,
    token: str,
    visit: Visit,
    *,
    problem: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    openid = _openid(request)
    is_host = _is_inviting_host(request, visit, openid)
    company = visit.company or (visit.host.company if visit.host else None)
    company_name = company.name if company else ""
    building = getattr(request, "tenant", None)
    link = building_url(current_schema(), reverse("wechat:invitation", args=[token]))
    with timezone.override(building_zone(request)):
        start = timezone.localtime(visit.valid_from)
        host_name = visit.host.name if visit.host else ""
        context = {
            "token": token,
            "visit": visit,
            "is_host": is_host,
            "usable": usable_pass(visit) is not None,
            "visitor_name": mask_name(visit.visitor_name),
            "visitor_mobile": mask_mobile(display_mobile(visit.visitor_mobile)),
            "host_name": host_name,
            "company": company_name,
            "problem": problem,
            "notice": notice,
            "prove_url": _link_page_url(reverse("wechat:invitation", args=[token])),
        }
        if is_host:
            context.update(
                _share(
                    request,
                    _("Invitation to %(building)s") % {"building": getattr(building, "name", "")},
                    _("%(host)s invites you on %(day)s. Open it to get your pass.")
                    % {
                        "host": mask_name(host_name) or company_name,
                        "day": f"{start:%Y-%m-%d %H:%M}",
                    },
                    link,
                )
            )
        response = render(request, "wechat/invitation.html", context, status=status)
    return private(response)


def _invitation_or_problem(request: HttpRequest, token: str) -> Visit | HttpResponse:
    visit = visit_by_invitation_token(token)
    if visit is None:
        return _problem(request, _("This invitation is not valid."), 404)
    return visit


@wechat_user_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation: for the host who invited, a card to forward in WeChat (or a link to
    copy) and "send by SMS"; for the visitor, the way to their pass."""
    found = _invitation_or_problem(request, token)
    if isinstance(found, HttpResponse):
        return found
    return _invitation_page(request, token, found)


@require_POST
@wechat_user_required
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """The visitor takes the invitation: their WeChat is linked to it and the pass opens."""
    found = _invitation_or_problem(request, token)
    if isinstance(found, HttpResponse):
        return found
    if _is_inviting_host(request, found, _openid(request)):
        return _invitation_page(
            request,
            token,
            found,
            problem=_("This is your own invitation: forward it to your visitor."),
            status=403,
        )
    try:
        code = open_invitation(_visitor(request), _openid(request), found)
    except DomainError as error:
        return _invitation_page(request, token, found, problem=error.message, status=error.status)
    return private(redirect("pass_page", code=code))


@require_POST
@wechat_user_required
def invitation_sms(request: HttpRequest, token: str) -> HttpResponse:
    """The host sends the visitor their pass by SMS (again)."""
    found = _invitation_or_problem(request, token)
    if isinstance(found, HttpResponse):
        return found
    if not _is_inviting_host(request, found, _openid(request)):
        return _invitation_page(
            request, token, found, problem=_("Only the host who invited may do this."), status=403
        )
    host = found.host
    assert host is not None  # _is_inviting_host
    actor = Actor(
        user=host.user,
        ip_address=request.META.get("REMOTE_ADDR"),
        label=f"host {host.name} (WeChat)",
    )
    try:
        resend_pass_by_sms(actor, found)
    except DomainError as error:
        return _invitation_page(request, token, found, problem=error.message, status=error.status)
    return _invitation_page(request, token, found, notice=_("The pass was sent by SMS."))


# --- An event's code --------------------------------------------------------------------------


def _event_page(
    request: HttpRequest, token: str, event: Event, *, problem: str = "", status: int = 200
) -> HttpResponse:
    link = wechat_link_of(_openid(request))
    attendee = attendance_of(event, link.mobile_index) if link is not None else None
    with timezone.override(building_zone(request)):
        context = {
            "token": token,
            "event": event,
            "invited": event.status == EventStatus.INVITED,
            "linked": link is not None,
            "on_list": attendee is not None,
            "usable": attendee is not None and usable_pass(attendee.visit) is not None,
            "problem": problem,
            "prove_url": _link_page_url(reverse("wechat:event", args=[token])),
        }
        response = render(request, "wechat/event.html", context, status=status)
    return private(response)


def _event_or_problem(request: HttpRequest, token: str) -> Event | HttpResponse:
    event = event_by_invite_token(token)
    if event is None:
        return _problem(request, _("This event's code is not valid."), 404)
    return event


@wechat_user_required
def event(request: HttpRequest, token: str) -> HttpResponse:
    """An event's page from its code: an attendee who proved their mobile sees whether they
    are on the list, and opens their pass."""
    found = _event_or_problem(request, token)
    if isinstance(found, HttpResponse):
        return found
    if wechat_link_of(_openid(request)) is None:
        return private(redirect(_link_page_url(request.path)))
    return _event_page(request, token, found)


@require_POST
@wechat_user_required
def event_pass(request: HttpRequest, token: str) -> HttpResponse:
    """A new link to the attendee's pass, and off to it."""
    found = _event_or_problem(request, token)
    if isinstance(found, HttpResponse):
        return found
    link = wechat_link_of(_openid(request))
    if link is None:
        return private(redirect(_link_page_url(reverse("wechat:event", args=[token]))))
    try:
        code = open_event_pass(_visitor(request), found, link.mobile_index)
    except DomainError as error:
        return _event_page(request, token, found, problem=error.message, status=error.status)
    return private(redirect("pass_page", code=code))
