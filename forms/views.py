"""Pages of forms: the visitor's phone form, reception's registration form, a visit's answers,
and the designer (a page plus the JSON calls its script makes)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from forms import actions
from forms.actions import host_not_found_message
from forms.choices import (
    HOST_MOBILE,
    PUBLIC_SCENARIOS,
    VISIT_END,
    VISIT_START,
    VISITOR_MOBILE,
    FieldType,
    PrivacyClass,
)
from forms.definition import FormDefinitionError, check_fields
from forms.fields import KINDS
from forms.models import FormDefinition, FormVersion
from forms.queries import can_design, current_version, designable_definitions, visit_answers
from forms.rendering import RegistrationForm
from integrations.idcard.reader import MAX_PAYLOAD_BYTES, read_card
from kernel.console import building_zone, console_view, json_error, posted_row_id
from kernel.control_characters import has_control_characters
from kernel.errors import DomainError
from kernel.phones import display_mobile
from kernel.privacy import blind_index
from kernel.rate_limits import check, limit_posts
from tenants.actions import building_url
from tenants.db import current_schema
from visit_platform.access.printing import qr_svg
from visit_platform.audit.actions import Actor
from visit_platform.directory.invite_tokens import host_by_invite_token
from visit_platform.directory.models import Company, Host
from visit_platform.directory.queries import (
    MAX_HOST_NAME,
    find_host,
    invitable_companies,
    invitable_hosts,
    invites_for_others,
    managed_company_ids,
    own_host,
    search_invitable_hosts,
)
from visit_platform.directory.roles import (
    DESIGN_FORMS,
    INVITE_VISITORS,
    REGISTER_VISITS,
    VIEW_VISIT,
)
from visit_platform.notifications.wechat_session import wechat_openid
from visit_platform.visits.actions import note_id_card_read
from visit_platform.visits.choices import Scenario
from visit_platform.visits.invite_tokens import invitation_token
from visit_platform.visits.models import MOBILE_INDEX, Visit
from visit_platform.visits.queries import known_mobile, wechat_link_of
from workflows.actions import submit_request, usable_pass
from workflows.policies import policy_snapshot
from workflows.views import continue_at_desk

RECEPTION_SCENARIOS = (Scenario.WALK_IN, Scenario.NO_ID)
MAX_DRAFT_BYTES = 512 * 1024
# The visitor's form lists the building's active companies to name a host by; a building
# has tens, a campus some hundreds.
MAX_LISTED_COMPANIES = 500
# A posted form with its photos and files. Django caps the other fields but streams files of
# any size to disk, so a larger body is refused before it is read.
MAX_FORM_BYTES = 16 * 1024 * 1024


def refuse_large_bodies(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 413 to a POST declaring more than ``MAX_FORM_BYTES`` before anything reads it.

    The CSRF check reads the body, so the view is exempted from the middleware's check and
    protected again inside, after the size is known (Django's documented pattern for views
    that must act before the body is parsed).
    """
    protected = csrf_protect(view)

    @csrf_exempt
    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if request.method == "POST" and declared > MAX_FORM_BYTES:
            return render(request, "forms/too_large.html", status=413)
        return protected(request, *args, **kwargs)

    return checked


def _language() -> str:
    return get_language() or "zh-hans"


def _initial_window(version: FormVersion) -> dict[str, Any]:
    """Suggested times, in the building's time, for the scenario policy's default window:
    from now for a walk-in (the visitor is at the desk), from the next full hour otherwise."""
    scenario = version.definition.scenario
    hours = int(policy_snapshot(scenario)["default_window_hours"]) or 2
    now = timezone.localtime().replace(second=0, microsecond=0)
    start = now if scenario in RECEPTION_SCENARIOS else now.replace(minute=0) + timedelta(hours=1)
    return {VISIT_START: start, VISIT_END: start + timedelta(hours=hours)}


def _submission_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _posted_version(request: HttpRequest, current: FormVersion) -> FormVersion | None:
    """The version the person filled in, if it is still the current one."""
    posted = request.POST.get("form_version", "")
    return current if posted == str(current.pk) else None


# --- The visitor's page ---------------------------------------------------------------------


@refuse_large_bodies
@limit_posts("visit_request")
def visitor_form(request: HttpRequest, scenario: str) -> HttpResponse:
    """A scenario's form on the visitor's phone. A submitted form becomes a visit waiting for
    approval, routed by the building's policy (the host's decision link, or a pass at once).

    ``?host=<code>`` (a host's personal invitation code, from their WeChat scene code) opens
    it with that host chosen: the host is shown by name, not by mobile, and the form goes to
    them. Inside WeChat, a visitor whose WeChat is linked to a mobile applies with that mobile
    (filled in when the building knows the number): the visit is theirs in My visits and its
    notices come to their WeChat. Another number is refused there: the link stands for a
    proved number, and a request made from it is taken to be that person's (to apply for
    someone else, stop using this WeChat on My visits, or use the form outside WeChat).

    Without a host's code the visitor names the host by mobile, or by company and full name
    (``HostLookup``); each such post also counts against the ``host_lookup`` limit, so the
    form cannot be used to try out numbers or names (ADR 0026).
    """
    if scenario not in PUBLIC_SCENARIOS:
        raise Http404
    host_code = request.GET.get("host", "")
    fixed_host = host_by_invite_token(host_code) if host_code else None
    company_id = fixed_host.company_id if fixed_host is not None else _company_id(request)
    openid = wechat_openid(request)
    link = wechat_link_of(openid)
    linked_number = (link.mobile or known_mobile(link.mobile_index)) if link is not None else ""
    with timezone.override(building_zone(request)):
        try:
            version = current_version(scenario, company_id)
        except DomainError as error:
            raise Http404 from error
        language = _language()
        initial = _initial_window(version)
        if linked_number:
            initial[VISITOR_MOBILE] = display_mobile(linked_number)
        form = RegistrationForm(version, language, initial=initial)
        notice = ""
        if request.method == "POST":
            if _posted_version(request, version) is None:
                notice = _("The form was changed while you filled it in; check your answers.")
                form = RegistrationForm(version, language, initial=_kept_answers(request, version))
            else:
                data = request.POST.copy()
                lookup: HostLookup | None = None
                named: Host | None = None
                if fixed_host is not None:
                    data[HOST_MOBILE] = fixed_host.mobile
                else:
                    refusal = check(request, "host_lookup")
                    if refusal is not None:
                        return refusal.page()
                    lookup = HostLookup.from_post(request.POST)
                    named = lookup.named_host() if not data.get(HOST_MOBILE, "").strip() else None
                    if named is not None:
                        data[HOST_MOBILE] = named.mobile
                form = RegistrationForm(version, language, data, request.FILES)
                valid = form.is_valid() and form.validated is not None
                if named is not None:
                    # The host's number was filled in from the name: never shown back.
                    form.data = request.POST.copy()
                host = fixed_host
                if lookup is not None:
                    host = lookup.host(form, version.definition.company_id) if valid else None
                    unnamed = lookup.gave_details and not data.get(HOST_MOBILE, "").strip()
                    if host is None and (valid or unnamed):
                        form.errors[HOST_MOBILE] = form.error_class([host_not_found_message()])
                        valid = False
                if valid and form.validated is not None:
                    if link is not None and not _is_linked_mobile(form, link.mobile_index):
                        form.add_error(
                            VISITOR_MOBILE,
                            _(
                                "In WeChat you apply with the mobile number linked to this "
                                "WeChat. To apply for another number, stop using this WeChat "
                                "on My visits first."
                            ),
                        )
                    else:
                        try:
                            submit_request(
                                _visitor(request),
                                form.validated,
                                submission_id=_submission_id(request.POST.get("submission_id", "")),
                                host=host,
                            )
                        except DomainError as error:
                            form.add_domain_error(error)
                        else:
                            return redirect("forms:visitor_form_sent", scenario=scenario)
        if linked_number and VISITOR_MOBILE in form.fields:
            form.fields[VISITOR_MOBILE].widget.attrs["readonly"] = "readonly"
        if fixed_host is None and HOST_MOBILE in form.fields:
            # The host may be named by company and name instead (below the field): the mobile
            # is not required on the page, and the check above still wants one or the other.
            form.fields[HOST_MOBILE].required = False
        rows = form.rows()
        if fixed_host is not None:
            rows = [row for row in rows if row.field.name != HOST_MOBILE]
        context = {
            "form": form,
            "rows": rows,
            "version": version,
            "scenario_label": Scenario(scenario).label,
            "submission_id": request.POST.get("submission_id") or uuid.uuid4(),
            "notice": notice,
            "fixed_host": fixed_host,
            "host_code_invalid": bool(host_code) and fixed_host is None,
            "linked_wechat": link is not None,
            "can_link_wechat": openid is not None and link is None,
            "host_lookup": None
            if fixed_host is not None
            else {
                "companies": Company.objects.filter(is_active=True).order_by("name")[
                    :MAX_LISTED_COMPANIES
                ],
                "company_id": posted_row_id(request.POST.get("host_company")) or company_id,
                "name": request.POST.get("host_name", "")[:MAX_HOST_NAME],
            },
        }
        response = render(request, "forms/visitor_form.html", context)
        response["Cache-Control"] = "no-store"
        return response


@dataclass(frozen=True)
class HostLookup:
    """Who the visitor says they visit, besides the form's host mobile: a company (from the
    building's list) and the host's full name (ADR 0026). A visitor who does not know the
    mobile gives the company and the name; one who gives the mobile may add either, and then
    every detail given must fit the same host. Nothing here lists employees: a submission
    names a host and is checked, and a miss is answered in one neutral sentence whatever did
    not match (``host_not_found_message``)."""

    company_id: int | None = None
    name: str = ""
    # A detail no host can have (a forged company id, an overlong or control-character name):
    # the lookup matches nobody, without asking the database.
    impossible: bool = False

    @classmethod
    def from_post(cls, data: Any) -> HostLookup:
        company_text = data.get("host_company", "")
        name = data.get("host_name", "")
        company_id = posted_row_id(company_text)
        impossible = bool(company_text) and company_id is None
        if len(name) > MAX_HOST_NAME or has_control_characters(name):
            impossible, name = True, ""
        return cls(company_id=company_id, name=name, impossible=impossible)

    @property
    def gave_details(self) -> bool:
        """Whether the visitor named the host by company or name at all."""
        return self.impossible or bool(self.company_id or self.name.strip())

    def named_host(self) -> Host | None:
        """The host the company and name alone name (the visitor left the mobile empty)."""
        if self.impossible:
            return None
        return find_host(company_id=self.company_id, name=self.name)

    def host(self, form: RegistrationForm, form_company_id: int | None) -> Host | None:
        """The one host matching the mobile the valid form carries and every other detail
        given; a company's own form (``?company=``) only reaches that company's hosts."""
        assert form.validated is not None
        if self.impossible:
            return None
        if form_company_id is not None and self.company_id not in (None, form_company_id):
            return None
        return find_host(
            mobile=str(form.validated.values.get(HOST_MOBILE, "")),
            company_id=self.company_id or form_company_id,
            name=self.name,
        )


def _is_linked_mobile(form: RegistrationForm, mobile_index: str) -> bool:
    """Whether the form was filled in with the mobile the visitor's WeChat is linked to."""
    assert form.validated is not None
    mobile = str(form.validated.values.get(VISITOR_MOBILE, ""))
    return bool(mobile) and blind_index(mobile, MOBILE_INDEX) == mobile_index


def _visitor(request: HttpRequest) -> Actor:
    return Actor(user=None, ip_address=request.META.get("REMOTE_ADDR"), label="visitor")


def _kept_answers(request: HttpRequest, version: FormVersion) -> dict[str, Any]:
    """Answers to fields the new version still has, to fill it in again."""
    keys = {spec["key"] for spec in version.fields}
    kept = {key: value for key, value in request.POST.items() if key in keys}
    return {**_initial_window(version), **kept}


def visitor_form_sent(request: HttpRequest, scenario: str) -> HttpResponse:
    if scenario not in PUBLIC_SCENARIOS:
        raise Http404
    return render(request, "forms/visitor_sent.html", {"scenario_label": Scenario(scenario).label})


def _company_id(request: HttpRequest) -> int | None:
    text = request.GET.get("company", "")
    if not text.isdigit() or len(text) > 18:
        return None
    company = Company.objects.filter(pk=int(text), is_active=True).first()
    return company.pk if company else None


# --- Reception ------------------------------------------------------------------------------


@refuse_large_bodies
@console_view(REGISTER_VISITS)
def reception_form(request: HttpRequest, scenario: str) -> HttpResponse:
    """Reception registers a visitor at the desk with the scenario's form."""
    if scenario not in RECEPTION_SCENARIOS:
        raise Http404
    with timezone.override(building_zone(request)):
        version = current_version(scenario)
        language = _language()
        form = RegistrationForm(version, language, initial=_initial_window(version))
        if request.method == "POST":
            form = RegistrationForm(version, language, request.POST, request.FILES)
            if _posted_version(request, version) is None:
                messages.warning(
                    request, _("The form was changed meanwhile; check the answers and send again.")
                )
                form = RegistrationForm(version, language, initial=_kept_answers(request, version))
            elif form.is_valid() and form.validated is not None:
                try:
                    visit, _replayed = actions.submit(
                        Actor.from_request(request),
                        form.validated,
                        submission_id=_submission_id(request.POST.get("submission_id", "")),
                    )
                except DomainError as error:
                    form.add_domain_error(error)
                else:
                    return _start_at_desk(request, visit)
        context = {
            "section": "reception",
            "form": form,
            "rows": form.rows(),
            "version": version,
            "scenario": scenario,
            "scenario_label": Scenario(scenario).label,
            "scenarios": [(value, Scenario(value).label) for value in RECEPTION_SCENARIOS],
            "submission_id": request.POST.get("submission_id") or uuid.uuid4(),
        }
        return render(request, "forms/reception_form.html", context)


@require_POST
@console_view(REGISTER_VISITS)
def reception_id_card(request: HttpRequest) -> HttpResponse:
    """What the desk's ID-card reader read, checked and turned into the walk-in form's
    fields (JSON in, JSON out; see integrations/idcard). Stores nothing but an audit row."""
    try:
        if len(request.body) > MAX_PAYLOAD_BYTES:
            raise DomainError("too_large", _("The card reader sent too much data."))
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise DomainError("malformed_json", _("The request body is not valid JSON.")) from None
        card = read_card(payload)
    except DomainError as error:
        return _error_response(error)
    note_id_card_read(Actor.from_request(request), card.id_number)
    response = JsonResponse(card.as_fields())
    response["Cache-Control"] = "no-store"
    return response


def _start_at_desk(request: HttpRequest, visit: Visit) -> HttpResponse:
    """Screen 1 is done: the visit goes on (identity check, watchlist, the host's link) and
    reception to the next screen."""
    return continue_at_desk(request, visit)


@dataclass(frozen=True)
class HostPicker:
    """The invitation form's choice of host, for those who invite on an employee's behalf
    (company and property admins): the company chosen (from ``companies``), and the host
    chosen in it, found by name through ``host_search``."""

    companies: list[Company]
    company: Company | None
    host: Host | None


@refuse_large_bodies
@console_view(INVITE_VISITORS)
def invite_form(request: HttpRequest) -> HttpResponse:
    """A host invites a visitor with the building's invitation form; the invitation's flow
    checks the watchlist and sends the visitor their pass (5.2.1).

    A company admin invites for any active employee of their company, a property admin for
    any of the building's (issue 16): they pick the company (a property admin), then the
    employee by name. The visit records both: its host, and who invited it (the acting user).
    The choice is checked again on every request against ``invitable_hosts``; a forged id is
    no host."""
    own = own_host(request.user)
    if not invites_for_others(request.user):
        return invitation_form_page(
            request,
            own,
            actor=Actor.from_request(request),
            template="forms/invite_form.html",
            sent=_sent_url,
        )
    companies = list(invitable_companies(request.user))
    source = request.POST if request.method == "POST" else request.GET
    company_id = posted_row_id(source.get("company"))
    company = next((company for company in companies if company.pk == company_id), None)
    if company is None and len(companies) == 1:
        company = companies[0]
    if company is None and own is not None and source.get("company") is None:
        company = next((item for item in companies if item.pk == own.company_id), None)
    host: Host | None = None
    if company is not None:
        hosts = invitable_hosts(request.user).filter(company=company)
        host_id = posted_row_id(source.get("host"))
        if host_id is not None:
            host = hosts.filter(pk=host_id).first()
        elif own is not None and "host" not in source:
            host = hosts.filter(pk=own.pk).first()
    return invitation_form_page(
        request,
        host,
        actor=Actor.from_request(request),
        template="forms/invite_form.html",
        sent=_sent_url,
        picker=HostPicker(companies=companies, company=company, host=host),
    )


def _sent_url(visit: Visit) -> str:
    return reverse("forms:invitation_sent", args=[visit.pk])


def invitation_form_page(
    request: HttpRequest,
    host: Host | None,
    *,
    actor: Actor,
    template: str,
    sent: Callable[[Visit], str],
    picker: HostPicker | None = None,
) -> HttpResponse:
    """The invitation form for ``host`` (None: an account that is nobody's employee, told so,
    unless ``picker`` lets the person choose one), in the console or in the employee's WeChat
    (``visit_platform.wechat.staff``): one form, one flow, whichever page it is shown on.
    After sending, the host goes to ``sent(visit)``."""
    company = picker.company if picker is not None else (host.company if host else None)
    with timezone.override(building_zone(request)):
        version = current_version(Scenario.INVITE, company.pk if company else None)
        language = _language()
        form = RegistrationForm(version, language, initial=_initial_window(version))
        host_problem = ""
        if request.method == "POST" and picker is not None and host is None:
            host_problem = _("Choose the employee the visitor comes to see.")
            form = RegistrationForm(version, language, initial=_kept_answers(request, version))
        elif host is not None and request.method == "POST":
            form = RegistrationForm(version, language, request.POST, request.FILES)
            if _posted_version(request, version) is None:
                messages.warning(
                    request, _("The form was changed meanwhile; check the answers and send again.")
                )
                form = RegistrationForm(version, language, initial=_kept_answers(request, version))
            elif form.is_valid() and form.validated is not None:
                try:
                    visit, _replayed = submit_request(
                        actor,
                        form.validated,
                        submission_id=_submission_id(request.POST.get("submission_id", "")),
                        host=host,
                    )
                except DomainError as error:
                    form.add_domain_error(error)
                else:
                    messages.success(
                        request,
                        _(
                            "Invitation sent. The visitor receives their pass by SMS, or in "
                            "WeChat if they use it here."
                        ),
                    )
                    return redirect(sent(visit))
        context = {
            "section": "invite",
            "form": form,
            "rows": form.rows(),
            "version": version,
            "host": host,
            "picker": picker,
            "host_problem": host_problem,
            "submission_id": request.POST.get("submission_id") or uuid.uuid4(),
        }
        response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


@console_view(INVITE_VISITORS)
def host_search(request: HttpRequest) -> HttpResponse:
    """The invitation form's host picker: employees of one company whose name contains the
    text typed, for those who invite on an employee's behalf (JSON, GET ``?company=&q=``).

    Bounded: a name of at most ``MAX_HOST_NAME`` characters, at most ``HOST_SEARCH_LIMIT``
    answers, names and departments only (no mobiles). A company the person may not invite
    for answers exactly as one that does not exist."""
    if request.method != "GET":
        return json_error("method_not_allowed", _("Use GET."), 405)
    if not invites_for_others(request.user):
        return json_error("forbidden", _("Your role does not allow this."), 403)
    company_id = posted_row_id(request.GET.get("company"))
    text = request.GET.get("q", "")
    if company_id is None:
        return json_error("company_invalid", _("Choose a company."), 400)
    if len(text) > MAX_HOST_NAME or has_control_characters(text):
        return json_error(
            "query_invalid",
            _("Type at most %(count)d characters of a name.") % {"count": MAX_HOST_NAME},
            400,
        )
    if not invitable_companies(request.user).filter(pk=company_id).exists():
        return json_error("company_not_found", _("No such company."), 404)
    hosts = search_invitable_hosts(request.user, company_id, text)
    response = JsonResponse(
        {
            "hosts": [
                {"id": host.pk, "name": host.name, "department": host.department} for host in hosts
            ]
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@console_view(INVITE_VISITORS)
def invitation_sent(request: HttpRequest, pk: int) -> HttpResponse:
    """The host's invitation, to share: its WeChat page (opened in WeChat, a card to forward),
    as a link to copy and a QR code to scan with WeChat. Shown to the visit's host and to
    whoever invited it. The visit's timeline is linked only for those who may see the visits
    pages: it carries what security and reception noted, which a host may not read."""
    user_id = request.user.pk or 0
    visit = get_object_or_404(
        Visit.objects.select_related("visitor", "host__company").filter(
            Q(invited_by_id=user_id) | Q(host__user_id=user_id), scenario=Scenario.INVITE
        ),
        pk=pk,
    )
    link = building_url(
        current_schema(), reverse("wechat:invitation", args=[invitation_token(visit)])
    )
    with timezone.override(building_zone(request)):
        return render(
            request,
            "forms/invitation_sent.html",
            {
                "section": "invite",
                "visit": visit,
                "link": link,
                "qr": qr_svg(link),
                "usable": usable_pass(visit) is not None,
                "can_view_visits": request.user.has_perm(VIEW_VISIT, visit),
            },
        )


# --- A visit's answers ----------------------------------------------------------------------


@console_view(VIEW_VISIT)
def visit_answers_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A visit's answers, shown with the form version they were given in; masked unless
    the person asks to see them, which is audited."""
    visits = Visit.objects.select_related("visitor", "host", "company", "form_version")
    company_ids = managed_company_ids(request.user, VIEW_VISIT)
    if company_ids is not None:
        visits = visits.filter(company_id__in=company_ids)
    visit = get_object_or_404(visits, pk=pk)
    reveal = request.GET.get("reveal") == "1" and request.user.has_perm(REGISTER_VISITS)
    actions.note_answers_viewed(Actor.from_request(request), visit, revealed=reveal)
    with timezone.override(building_zone(request)):
        rows = visit_answers(visit, _language(), reveal=reveal)
        context = {
            "section": "visits",
            "visit": visit,
            "rows": rows,
            "revealed": reveal,
            "can_reveal": request.user.has_perm(REGISTER_VISITS)
            and any(row.masked for row in rows),
        }
        return render(request, "forms/visit_answers.html", context)


@console_view(REGISTER_VISITS)
def answer_file(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """A photo or file a visitor uploaded, decrypted if it is sensitive; every view is audited."""
    visits = Visit.objects.select_related("form_version")
    company_ids = managed_company_ids(request.user, VIEW_VISIT)
    if company_ids is not None:
        visits = visits.filter(company_id__in=company_ids)
    visit = get_object_or_404(visits, pk=pk)
    try:
        content, content_type = actions.read_answer_file(Actor.from_request(request), visit, key)
    except DomainError as error:
        raise Http404 from error
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


# --- The designer ---------------------------------------------------------------------------


@console_view(DESIGN_FORMS)
def form_list(request: HttpRequest) -> HttpResponse:
    definitions = list(designable_definitions(request.user).prefetch_related("versions"))
    company_ids = managed_company_ids(request.user, DESIGN_FORMS)
    companies = Company.objects.filter(is_active=True)
    if company_ids is not None:
        companies = companies.filter(pk__in=company_ids)
    if request.method == "POST":
        scenario = request.POST.get("scenario", "")
        company_id = posted_row_id(request.POST.get("company"))
        company = companies.filter(pk=company_id).first() if company_id else None
        if scenario not in Scenario.values or company is None:
            messages.error(request, _("Choose a scenario and a company."))
            return redirect("forms:form_list")
        try:
            definition = actions.create_company_override(
                Actor.from_request(request), scenario, company
            )
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("forms:form_list")
        return redirect("forms:designer", pk=definition.pk)
    rows = []
    for definition in definitions:
        versions = sorted(definition.versions.all(), key=lambda version: -version.number)
        rows.append({"definition": definition, "latest": versions[0] if versions else None})
    return render(
        request,
        "forms/form_list.html",
        {
            "section": "forms",
            "rows": rows,
            "companies": companies,
            "scenarios": Scenario.choices,
        },
    )


def _designable(request: HttpRequest, pk: int) -> FormDefinition:
    definition = get_object_or_404(FormDefinition.objects.select_related("company"), pk=pk)
    if not can_design(request.user, definition):
        raise Http404
    return definition


def _designer_strings() -> dict[str, str]:
    """The designer script's texts, in the person's language."""
    return {
        "chinese": _("Chinese"),
        "english": _("English"),
        "unsaved": _("Unsaved changes."),
        "saved": _("The draft is saved."),
        "savedUnpublished": _("The draft has unpublished changes."),
        "savedPublished": _("The draft is the published form."),
        "locked": _("locked"),
        "lockedHelp": _(
            "The flows need this field: it cannot be removed or given another type, and it is "
            "always required."
        ),
        "sensitive": _("sensitive"),
        "conditional": _("conditional"),
        "moveUp": _("Move up"),
        "moveDown": _("Move down"),
        "remove": _("Remove"),
        "confirmRemove": _("Remove the field “%s”?"),
        "noField": _("Add a field to edit it."),
        "fieldSettings": _("Field settings"),
        "sensitiveWarning": _(
            "Sensitive data: collect only what is necessary. The form needs a required consent "
            "field, and answers are encrypted and shown masked."
        ),
        "key": _("Key"),
        "keyHelp": _("Lower-case letters, digits and underscores; used by the API."),
        "type": _("Type"),
        "label": _("Label"),
        "help": _("Help text"),
        "placeholder": _("Placeholder"),
        "required": _("Required"),
        "privacy": _("Privacy class"),
        "privacyHelp": _("Decides encryption, masking on screens and how long answers are kept."),
        "maxLength": _("Longest answer (characters)"),
        "pattern": _("Pattern (regular expression)"),
        "patternHelp": _("Optional; for example ^[A-Z0-9]+$"),
        "minimum": _("Lowest value"),
        "maximum": _("Highest value"),
        "choices": _("Choices"),
        "choicesHelp": _("One per line: value | Chinese label | English label"),
        "maxSize": _("Largest file (KB)"),
        "capture": _("Source"),
        "captureUpload": _("Camera or photo library"),
        "captureCamera": _("Camera only"),
        "consentText": _("Text people agree to"),
        "maxItems": _("Most companions"),
        "visibleIf": _("Show this field"),
        "always": _("Always"),
        "dependsOn": _("Only when this field…"),
        "equals": _("…has the answer"),
        "whenChecked": _("…is ticked"),
        "networkError": _("The server could not be reached."),
    }


@console_view(DESIGN_FORMS)
def designer(request: HttpRequest, pk: int) -> HttpResponse:
    definition = _designable(request, pk)
    versions = list(definition.versions.select_related("published_by").order_by("-number"))
    field_types = [
        {
            "type": value,
            "label": str(label),
            "privacy": KINDS[value].default_privacy,
            "minimum_privacy": KINDS[value].minimum_privacy,
        }
        for value, label in FieldType.choices
    ]
    config = {
        "draft": definition.draft,
        "fieldTypes": field_types,
        "privacyClasses": [{"value": v, "label": str(label)} for v, label in PrivacyClass.choices],
        "strings": _designer_strings(),
        "urls": {
            "draft": reverse("forms:save_draft", kwargs={"pk": definition.pk}),
            "preview": reverse("forms:preview", kwargs={"pk": definition.pk}),
            "publish": reverse("forms:publish", kwargs={"pk": definition.pk}),
        },
    }
    return render(
        request,
        "forms/designer.html",
        {
            "section": "forms",
            "definition": definition,
            "versions": versions,
            "latest": versions[0] if versions else None,
            "config": config,
            "has_unpublished_changes": not versions or versions[0].fields != definition.draft,
        },
    )


def _json_body(request: HttpRequest) -> Any:
    if len(request.body) > MAX_DRAFT_BYTES:
        raise DomainError("too_large", _("The form is too large."))
    try:
        body = json.loads(request.body)
    except ValueError:
        raise DomainError("malformed_json", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise DomainError("malformed_json", _("The request body is not valid JSON."))
    return body.get("fields")


def _error_response(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.status)


@require_POST
@console_view(DESIGN_FORMS)
def save_draft(request: HttpRequest, pk: int) -> HttpResponse:
    definition = _designable(request, pk)
    try:
        fields = _json_body(request)
        definition = actions.save_draft(Actor.from_request(request), definition, fields)
    except DomainError as error:
        return _error_response(error)
    latest = definition.latest_version()
    return JsonResponse(
        {
            "fields": definition.draft,
            "unpublished": latest is None or latest.fields != definition.draft,
        }
    )


@require_POST
@console_view(DESIGN_FORMS)
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The edited (unsaved) form, rendered by the real renderer as a phone or a desk shows it.

    The designer puts the answer into a sandboxed frame; nothing is stored.
    """
    definition = _designable(request, pk)
    try:
        fields = check_fields(definition.scenario, _json_body(request))
    except DomainError as error:
        return _error_response(error)
    version = FormVersion(definition=definition, number=0, fields=fields, schema={})
    return _preview(request, version)


@console_view(DESIGN_FORMS)
def version_page(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """An earlier (or the current) version as it was shown, to compare before restoring."""
    definition = _designable(request, pk)
    version = get_object_or_404(definition.versions, number=number)
    return _preview(request, version, version=version)


def _preview(request: HttpRequest, form_version: FormVersion, **context: Any) -> HttpResponse:
    """The form as the visitor (``layout=phone``) or the desk (``layout=desk``) sees it."""
    layout = "desk" if request.GET.get("layout") == "desk" else "phone"
    with timezone.override(building_zone(request)):
        form = RegistrationForm(form_version, _language(), initial=_initial_window(form_version))
        return render(
            request,
            "forms/preview.html",
            {
                "form": form,
                "rows": form.rows(),
                "layout": layout,
                "scenario_label": Scenario(form_version.definition.scenario).label,
                **context,
            },
        )


@require_POST
@console_view(DESIGN_FORMS)
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    definition = _designable(request, pk)
    try:
        version = actions.publish(Actor.from_request(request), definition)
    except DomainError as error:
        if request.headers.get("Accept") == "application/json":
            return _error_response(error)
        messages.error(request, error.message)
    else:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"version": version.number})
        messages.success(
            request, _("Version %(number)d is published.") % {"number": version.number}
        )
    return redirect("forms:designer", pk=definition.pk)


@require_POST
@console_view(DESIGN_FORMS)
def restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    definition = _designable(request, pk)
    try:
        version = actions.restore_version(Actor.from_request(request), definition, number)
    except FormDefinitionError as error:
        messages.error(request, error.message)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Version %(old)d is published again as version %(new)d.")
            % {"old": number, "new": version.number},
        )
    return redirect("forms:designer", pk=definition.pk)
