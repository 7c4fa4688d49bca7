"""Console pages for companies, employees (hosts) and people's roles."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kernel.console import console_view
from kernel.errors import DomainError
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile
from visit_platform.audit.actions import Actor
from visit_platform.directory import actions, cleaning, imports
from visit_platform.directory.forms import (
    CompanyForm,
    GrantForm,
    HostForm,
    UploadForm,
    add_domain_error,
)
from visit_platform.directory.models import Company, Host, Membership
from visit_platform.directory.queries import (
    managed_company_ids,
    visible_companies,
    visible_hosts,
    visible_memberships,
)
from visit_platform.directory.roles import (
    CHANGE_COMPANY,
    CHANGE_HOST,
    CHANGE_MEMBERSHIP,
    IMPORT_COMPANIES,
    IMPORT_HOSTS,
    VIEW_COMPANY,
    VIEW_HOST,
    VIEW_MEMBERSHIP,
)
from visit_platform.notifications.wechat import account_of_building

PAGE_SIZE = 50
OUTCOMES: tuple[imports.Outcome, ...] = ("create", "update", "unchanged", "error")


def _companies_user_manages(request: HttpRequest, permission: str):  # type: ignore[no-untyped-def]
    ids = managed_company_ids(request.user, permission)
    companies = Company.objects.filter(is_active=True)
    return companies if ids is None else companies.filter(pk__in=ids)


# --- Companies ------------------------------------------------------------------------------


@console_view(VIEW_COMPANY)
def company_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "active")
    companies = visible_companies(request.user).annotate(
        host_count=Count("hosts", filter=Q(hosts__is_active=True))
    )
    if query:
        companies = companies.filter(Q(name__icontains=query) | Q(floors__icontains=query))
    if status in ("active", "inactive"):
        companies = companies.filter(is_active=status == "active")
    page = Paginator(companies.order_by("name"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "directory/company_list.html",
        {
            "section": "companies",
            "page": page,
            "query": query,
            "status": status,
            "can_change": request.user.has_perm(CHANGE_COMPANY),
            "can_import": request.user.has_perm(IMPORT_COMPANIES),
        },
    )


@console_view(CHANGE_COMPANY)
def company_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    company = None
    if pk is not None:
        company = _get_or_404(visible_companies(request.user), pk)
    initial = {f: getattr(company, f) for f in cleaning.COMPANY_FIELDS} if company else None
    if initial and initial.get("contact_mobile"):
        initial["contact_mobile"] = display_mobile(initial["contact_mobile"])
    form = CompanyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        try:
            if company is None:
                company = actions.create_company(actor, **form.cleaned_data)
                messages.success(request, _("Company %(name)s created.") % {"name": company.name})
            else:
                actions.update_company(actor, company, **form.cleaned_data)
                messages.success(request, _("Changes saved."))
            return redirect("directory:company_list")
        except DomainError as error:
            add_domain_error(form, error)
    return render(
        request,
        "directory/company_form.html",
        {"section": "companies", "form": form, "company": company},
    )


@require_POST
@console_view(CHANGE_COMPANY)
def company_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    company = _get_or_404(visible_companies(request.user), pk)
    is_active = request.POST.get("is_active") == "1"
    try:
        actions.set_company_active(Actor.from_request(request), company, is_active)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s is active again.") % {"name": company.name}
            if is_active
            else _("%(name)s was deactivated, with its employees and roles.")
            % {"name": company.name},
        )
    return redirect("directory:company_list")


# --- Hosts ----------------------------------------------------------------------------------


@console_view(VIEW_HOST)
def host_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "active")
    company_id = request.GET.get("company", "")
    hosts = visible_hosts(request.user)
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        condition = Q(name__icontains=query) | Q(department__icontains=query)
        if len(digits) >= 4:
            condition |= Q(mobile__contains=digits)
        hosts = hosts.filter(condition)
    if status in ("active", "inactive"):
        hosts = hosts.filter(is_active=status == "active")
    if company_id.isdigit():
        hosts = hosts.filter(company_id=int(company_id))
    page = Paginator(hosts, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "host": host,
            "can_change": request.user.has_perm(CHANGE_HOST, host),
            "mobile": display_mobile(host.mobile)
            if request.user.has_perm(CHANGE_HOST, host)
            else mask_mobile(display_mobile(host.mobile)),
        }
        for host in page
    ]
    companies = visible_companies(request.user).filter(is_active=True)
    return render(
        request,
        "directory/host_list.html",
        {
            "section": "hosts",
            "page": page,
            "rows": rows,
            "query": query,
            "status": status,
            "company_id": company_id,
            "companies": companies if companies.count() > 1 else None,
            "can_change": request.user.has_perm(CHANGE_HOST),
            "can_import": request.user.has_perm(IMPORT_HOSTS),
            # Each host's personal WeChat code, once the building has an Official Account.
            "wechat_codes": account_of_building() is not None,
        },
    )


@console_view(CHANGE_HOST)
def host_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    host = None
    if pk is not None:
        host = _get_or_404(visible_hosts(request.user), pk)
        if not request.user.has_perm(CHANGE_HOST, host):
            raise Http404
    companies = _companies_user_manages(request, CHANGE_HOST)
    initial = None
    if host is not None:
        initial = {f: getattr(host, f) for f in cleaning.HOST_FIELDS}
        initial["mobile"] = display_mobile(host.mobile)
        initial["company"] = host.company
    form = HostForm(request.POST or None, initial=initial, companies=companies)
    if host is not None:
        form.fields["company"].disabled = True
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        values = {f: form.cleaned_data[f] for f in cleaning.HOST_FIELDS}
        try:
            if host is None:
                host = actions.create_host(actor, form.cleaned_data["company"], **values)
                messages.success(request, _("%(name)s added.") % {"name": host.name})
            else:
                actions.update_host(actor, host, **values)
                messages.success(request, _("Changes saved."))
            return redirect("directory:host_list")
        except DomainError as error:
            add_domain_error(form, error)
    return render(
        request, "directory/host_form.html", {"section": "hosts", "form": form, "host": host}
    )


@require_POST
@console_view(CHANGE_HOST)
def host_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    host = _get_or_404(visible_hosts(request.user), pk)
    is_active = request.POST.get("is_active") == "1"
    try:
        actions.set_host_active(Actor.from_request(request), host, is_active)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s is active again.") % {"name": host.name}
            if is_active
            else _("%(name)s was deactivated.") % {"name": host.name},
        )
    return redirect("directory:host_list")


# --- Imports --------------------------------------------------------------------------------


def _import_page(request: HttpRequest, kind: imports.ImportKind) -> HttpResponse:
    """Upload → preview with a verdict per row → confirm. Nothing is written before confirm."""
    template = "directory/import.html"
    context: dict[str, object] = {"section": kind if kind == "companies" else "hosts", "kind": kind}
    own_company = None
    choices = None  # the companies an admin of several chooses from
    if kind == "hosts":
        ids = managed_company_ids(request.user, IMPORT_HOSTS)
        if ids is not None:
            own = Company.objects.filter(pk__in=ids, is_active=True).order_by("name")
            if len(own) == 0:
                return render(request, "web/forbidden.html", status=403)
            if len(own) == 1:
                own_company = own[0]
            else:
                choices = own
        context["own_company"] = own_company
    if request.method == "POST" and "token" in request.POST:
        actor = Actor.from_request(request)
        try:
            preview = imports.take_preview(_user_id(request), request.POST["token"], kind)
            if kind == "companies":
                result = actions.apply_company_import(actor, preview)
            else:
                result = actions.apply_host_import(actor, preview)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect(request.path)
        messages.success(
            request,
            _(
                "Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged, "
                "%(skipped)d rows skipped."
            )
            % {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "skipped": result.skipped,
            },
        )
        if result.still_revoked:
            messages.warning(
                request,
                _(
                    "These company admins were revoked before and were not granted again: "
                    "%(emails)s. Grant the role by hand if they should have it."
                )
                % {"emails": ", ".join(result.still_revoked)},
            )
        if result.new_accounts:
            messages.info(
                request,
                _("Invitations to choose a password were e-mailed to %(emails)s.")
                % {"emails": ", ".join(result.new_accounts)},
            )
        return redirect("directory:company_list" if kind == "companies" else "directory:host_list")
    form = UploadForm(request.POST or None, request.FILES or None, companies=choices)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if choices is not None:
            own_company = form.cleaned_data["company"]
            context["own_company"] = own_company
        try:
            if upload.size > imports.MAX_FILE_BYTES:
                raise DomainError("file_too_large", _("The file is larger than 2 MB."))
            data = upload.read(imports.MAX_FILE_BYTES + 1)
            if kind == "companies":
                preview = imports.preview_company_import(upload.name, data)
            else:
                preview = imports.preview_host_import(upload.name, data, company=own_company)
        except DomainError as error:
            form.add_error("file", error.message)
        else:
            context.update(
                preview=preview,
                token=imports.keep_preview(_user_id(request), preview),
                counts={outcome: preview.count(outcome) for outcome in OUTCOMES},
            )
    context["form"] = form
    return render(request, template, context)


@console_view(IMPORT_COMPANIES)
def company_import(request: HttpRequest) -> HttpResponse:
    return _import_page(request, "companies")


@console_view(IMPORT_HOSTS)
def host_import(request: HttpRequest) -> HttpResponse:
    return _import_page(request, "hosts")


# --- Memberships ----------------------------------------------------------------------------


@console_view(VIEW_MEMBERSHIP)
def membership_list(request: HttpRequest) -> HttpResponse:
    building_wide = managed_company_ids(request.user, CHANGE_MEMBERSHIP) is None
    companies = _companies_user_manages(request, CHANGE_MEMBERSHIP)
    form = GrantForm(request.POST or None, companies=companies, building_wide=building_wide)
    if request.method == "POST" and form.is_valid():
        try:
            grant = actions.grant_membership(
                Actor.from_request(request),
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                company=form.cleaned_data["company"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            email = grant.membership.user.email
            messages.success(request, _("Role granted to %(email)s.") % {"email": email})
            if not grant.membership.user.has_usable_password():
                messages.info(
                    request,
                    _("An invitation to choose a password was e-mailed to %(email)s.")
                    % {"email": email},
                )
            return redirect("directory:membership_list")
    memberships = visible_memberships(request.user).filter(is_active=True)
    query = request.GET.get("q", "").strip()[:100]
    if query:
        memberships = memberships.filter(user__email__icontains=query)
    page = Paginator(memberships.order_by("role", "user__email"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "directory/membership_list.html",
        {
            "section": "memberships",
            "page": page,
            "form": form,
            "query": query,
            "can_change": request.user.has_perm(CHANGE_MEMBERSHIP),
            "rows": [
                {
                    "membership": m,
                    "can_change": request.user.has_perm(CHANGE_MEMBERSHIP, m)
                    and (m.is_company_scoped or request.user.has_perm(CHANGE_COMPANY)),
                    "is_invited": not m.user.has_usable_password(),
                }
                for m in page
            ],
        },
    )


@require_POST
@console_view(CHANGE_MEMBERSHIP)
def membership_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _get_or_404(visible_memberships(request.user), pk)
    try:
        actions.revoke_membership(Actor.from_request(request), membership)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Role removed from %(email)s.") % {"email": membership.user.email}
        )
    return redirect("directory:membership_list")


@require_POST
@console_view(CHANGE_MEMBERSHIP)
def membership_invite(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _get_or_404(visible_memberships(request.user), pk)
    try:
        actions.resend_invitation(Actor.from_request(request), membership)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("An invitation to choose a password was e-mailed to %(email)s.")
            % {"email": membership.user.email},
        )
    return redirect("directory:membership_list")


def _user_id(request: HttpRequest) -> int:
    """The signed-in user's id (console views only run for signed-in users)."""
    assert request.user.pk is not None
    return int(request.user.pk)


def _get_or_404(queryset, pk: int):  # type: ignore[no-untyped-def]
    """Objects outside the user's view answer 404, as if they did not exist."""
    try:
        return queryset.get(pk=pk)
    except (Company.DoesNotExist, Host.DoesNotExist, Membership.DoesNotExist) as error:
        raise Http404 from error
