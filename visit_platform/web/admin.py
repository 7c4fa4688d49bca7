"""The operators' admin for user accounts (public site).

Here and not in ``tenants.admin``: deactivating a user reaches into every building's roles
and tasks (``workflows.actions.users``), which the tenants layer may not import.

A user is never deleted (the delete would cascade into every building's tables and fail on
the protected ones, and the audit log must keep naming them): the operator deactivates
them, which visits every building.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.models import User
from visit_platform.audit.actions import Actor
from workflows.actions.users import deactivate_user


@admin.register(User)
class UserAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["email", "display_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["email", "display_name"]
    fields = ["email", "display_name", "preferred_language", "is_active", "is_staff", "last_login"]
    readonly_fields = ["email", "is_active", "last_login"]
    actions = ["deactivate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are made by granting a role in a building

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # deactivate instead: see the module's docstring

    @admin.action(description=gettext_lazy("Deactivate in every building"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = Actor.from_request(request)
        for user in queryset:
            if user.pk == request.user.pk:
                continue  # an operator does not lock themself out
            reports = deactivate_user(actor, user)
            failed = sorted(s for s, report in reports.items() if report.startswith("failed"))
            if failed:
                self.message_user(
                    request,
                    _(
                        "%(email)s cannot sign in, but is not yet deactivated in %(buildings)s: "
                        "run it again."
                    )
                    % {"email": user.email, "buildings": ", ".join(failed)},
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    _("%(email)s was deactivated in every building.") % {"email": user.email},
                )
