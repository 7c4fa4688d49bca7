"""Console pages that belong to no domain package: sign-in, overview, account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.console import building_zone, console_view
from kernel.privacy import mask_name
from visit_platform.access.choices import URGENT_ALERT_KINDS
from visit_platform.access.models import Alert
from visit_platform.access.queries import building_day, expected_today, people_inside
from visit_platform.audit.actions import Actor
from visit_platform.directory.backends import active_memberships
from visit_platform.directory.choices import Role
from visit_platform.directory.queries import managed_company_ids
from visit_platform.directory.roles import (
    VIEW_ALERTS,
    VIEW_EXPECTED_TODAY,
    VIEW_SECURITY_SCREEN,
    VIEW_TASKS,
    VIEW_VISIT,
    sees_full_names,
    visitor_name_for,
)
from visit_platform.directory.sign_in import PAUSED_MESSAGE
from visit_platform.visits.actions import note_visits_viewed
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.queries import visible_tasks


class PausedSignInMixin:
    """While sign-in is paused for the account or the client (django-axes refused it), say so
    instead of "wrong password", in the same words whether the account exists or not."""

    request: HttpRequest | None

    def get_invalid_login_error(self) -> forms.ValidationError:
        if getattr(self.request, "axes_locked_out", False):
            return forms.ValidationError(PAUSED_MESSAGE, code="paused")
        return super().get_invalid_login_error()  # type: ignore[misc]


class AdminSignInForm(PausedSignInMixin, AdminAuthenticationForm):
    """The operators' admin site's sign-in, throttled like the console's."""


class SignInForm(PausedSignInMixin, AuthenticationForm):
    """E-mail and password; refuses accounts that hold no role in this building, so a
    user of another building learns nothing here beyond that."""

    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or password is not correct."),
        "no_membership": _("This account has no role in this building."),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not active_memberships(user):
            raise forms.ValidationError(self.error_messages["no_membership"], code="no_membership")


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "web/login.html"
    redirect_authenticated_user = True


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The one-time link a new admin or member receives to choose their password."""

    template_name = "web/set_password.html"
    success_url = reverse_lazy("web:login")
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, _("Your password is set. Sign in with it now."))
        return super().form_valid(form)


# How many rows each block of the home page lists; its count says how many there are.
HOME_ROWS = 5


@dataclass
class Block:
    """One block of the home page: how many things wait, the first few, and where the rest
    are."""

    count: int
    rows: list[Any]
    link: str = ""
    pending: int = 0


@console_view()
def home(request: HttpRequest) -> HttpResponse:
    """What needs doing now, for the roles the user holds here: their waiting tasks, the
    visits expected today, who is inside, open alerts (urgent first) and, for a host, their
    own coming visitors. A block the roles may not see is not read at all. Each block costs
    a fixed number of queries, however many rows there are. Names are masked, except for
    reception and security (``sees_full_names``), whose view of them is audited."""
    user = request.user
    roles = {membership.role for membership in request.memberships}  # type: ignore[attr-defined]
    with timezone.override(building_zone(request)):
        now = timezone.now()
        context: dict[str, Any] = {"today": timezone.localdate(now)}
        if user.has_perm(VIEW_TASKS):
            context["tasks"] = _tasks_block(user)
        if user.has_perm(VIEW_VISIT):
            company_ids = managed_company_ids(user, VIEW_VISIT)
            context["expected"] = _expected_block(request, company_ids, now)
            context["inside"] = _inside_block(user, company_ids)
            context["may_see_screen"] = user.has_perm(VIEW_SECURITY_SCREEN)
        if user.has_perm(VIEW_ALERTS):
            context["alerts"] = _alerts_block()
        if Role.HOST in roles:
            context["my_visitors"] = _my_visitors_block(user, now)
        _note_full_names_shown(request, context)
        return render(request, "web/home.html", context)


def _note_full_names_shown(request: HttpRequest, context: dict[str, Any]) -> None:
    """Audit the page when it showed whole names: which visits."""
    if not sees_full_names(request.user):
        return
    shown = [
        row["visit"].pk
        for block in ("tasks", "expected")
        if block in context
        for row in context[block].rows
        if row.get("visit") is not None and row.get("visitor_name")
    ]
    if shown:
        note_visits_viewed(Actor.from_request(request), page="home", visits=shown, full_names=True)


def _tasks_block(user: Any) -> Block:
    tasks = visible_tasks(user)
    rows = []
    for task in tasks[:HOME_ROWS]:
        process = getattr(task.process, "visitprocess", None)
        visit = process.visit if process is not None else None
        rows.append(
            {
                "task": task,
                "visit": visit,
                "title": task.flow_task.task_title or str(task.flow_task),
                "visitor_name": visitor_name_for(user, visit.visitor_name) if visit else "",
                "mine": task.owner_id == user.pk,
            }
        )
    count = len(rows) if len(rows) < HOME_ROWS else tasks.count()
    return Block(count, rows, reverse("workflows:task_list"))


def _expected_block(request: HttpRequest, company_ids: set[int] | None, now: Any) -> Block:
    _start, day_end = building_day(request.tenant, now)  # type: ignore[attr-defined]
    visits = _in_companies(expected_today(now, day_end), company_ids)
    rows = [
        {"visit": visit, "visitor_name": visitor_name_for(request.user, visit.visitor_name)}
        for visit in visits[:HOME_ROWS]
    ]
    count = len(rows) if len(rows) < HOME_ROWS else visits.count()
    if request.user.has_perm(VIEW_EXPECTED_TODAY):
        return Block(count, rows, reverse("visits:expected_today"))
    day = timezone.localdate(now).isoformat()
    return Block(count, rows, f"{reverse('visits:visit_list')}?date={day}#visits")


def _inside_block(user: Any, company_ids: set[int] | None) -> Block:
    people = people_inside().people
    if company_ids is not None:
        people = [p for p in people if p.event.visit and p.event.visit.company_id in company_ids]
    if user.has_perm(VIEW_SECURITY_SCREEN):
        link = reverse("access:security_screen")
    else:
        link = reverse("visits:visit_list") + "#inside"
    return Block(sum(presence.party for presence in people), [], link)


def _alerts_block() -> Block:
    urgent = Case(
        When(kind__in=URGENT_ALERT_KINDS, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    alerts = (
        Alert.objects.filter(acknowledged_at__isnull=True)
        .select_related("gate")
        .annotate(is_urgent=urgent)
        .order_by("-is_urgent", "-occurred_at", "-id")
    )
    rows = list(alerts[:HOME_ROWS])
    count = len(rows) if len(rows) < HOME_ROWS else alerts.count()
    return Block(count, rows, reverse("access:alert_list") + "?state=open")


def _my_visitors_block(user: Any, now: Any) -> Block:
    """The host's own visitors still to come, with how many wait for the host's approval
    (``pending``); the host decides those from the link texted to them, or their tasks."""
    visits = (
        Visit.objects.filter(
            host__user=user,
            status__in=[VisitStatus.PENDING_APPROVAL, VisitStatus.APPROVED],
            valid_until__gt=now,
        )
        .select_related("visitor")
        .order_by("valid_from", "pk")
    )
    counts = visits.aggregate(
        total=Count("pk"), pending=Count("pk", filter=Q(status=VisitStatus.PENDING_APPROVAL))
    )
    rows = [
        {"visit": visit, "visitor_name": mask_name(visit.visitor_name)}
        for visit in visits[:HOME_ROWS]
    ]
    return Block(counts["total"], rows, reverse("visits:my_visitors"), pending=counts["pending"])


def _in_companies(visits: QuerySet[Visit], company_ids: set[int] | None) -> QuerySet[Visit]:
    return visits if company_ids is None else visits.filter(company_id__in=company_ids)
