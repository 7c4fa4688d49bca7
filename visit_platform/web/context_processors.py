"""Template context every console page needs: the building, the user's roles, navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

from tenants.db import current_schema
from visit_platform.directory.choices import Role
from visit_platform.web.navigation import navigation_for


def console(request: HttpRequest) -> dict[str, Any]:
    if current_schema() == get_public_schema_name():
        return {}
    memberships = list(getattr(request, "memberships", []))
    context: dict[str, Any] = {
        "building": getattr(request, "tenant", None),
        "role_labels": sorted({str(Role(m.role).label) for m in memberships}),
        "current_companies": sorted({m.company.name for m in memberships if m.company_id}),
    }
    if request.user.is_authenticated and memberships:
        context["navigation"] = navigation_for(request.user)
    return context
