"""Console pages that belong to no domain package: sign-in, overview, account."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kernel.console import console_view
from visit_platform.directory.backends import active_memberships
from visit_platform.directory.queries import visible_companies, visible_hosts
from visit_platform.directory.sign_in import PAUSED_MESSAGE


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


@console_view()
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    companies = visible_companies(user)
    hosts = visible_hosts(user)
    context = {
        "company_count": companies.filter(is_active=True).count(),
        "host_count": hosts.filter(is_active=True).count(),
        "my_companies": companies.order_by("name")[:6],
    }
    return render(request, "web/home.html", context)
