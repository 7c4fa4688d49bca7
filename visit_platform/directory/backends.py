"""Authentication backend: log in by e-mail; permissions come from the current building's
memberships, so a role held in one building grants nothing in another."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Model
from django_tenants.utils import get_public_schema_name

from tenants.db import current_schema
from visit_platform.directory.models import Company, Membership
from visit_platform.directory.roles import ROLE_PERMISSIONS

_CACHE_ATTRIBUTE = "_memberships_by_schema"


def active_memberships(user: Any) -> list[Membership]:
    """The user's active memberships in the building whose schema is active now.

    Cached on the user object per schema, so one request asks the database once.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    schema = current_schema()
    if schema == get_public_schema_name():
        return []
    cache: dict[str, list[Membership]] = user.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
    if schema not in cache:
        cache[schema] = list(
            Membership.objects.filter(user=user, is_active=True).select_related("company")
        )
    return cache[schema]


def forget_memberships(user: Any) -> None:
    """Drop the cached memberships after they change."""
    user.__dict__.pop(_CACHE_ATTRIBUTE, None)


def company_id_of(obj: Model) -> int | None:
    """The company an object belongs to, for company-scoped roles."""
    if isinstance(obj, Company):
        return obj.pk
    company_id = getattr(obj, "company_id", None)
    return int(company_id) if company_id is not None else None


class MembershipBackend(ModelBackend):
    """Answers ``has_perm`` from ``ROLE_PERMISSIONS`` and the user's memberships here.

    A company-scoped role (company admin, host) grants a permission on an object only when
    the object belongs to that role's company; without an object it answers whether the
    user may do the thing for *some* company, and queries narrow the rows.
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        # Addresses are stored in lower case; phones capitalise the first letter typed.
        if username is not None:
            username = username.strip().lower()
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        permissions: set[str] = set()
        for membership in active_memberships(user_obj):
            applies = obj is None or not membership.is_company_scoped
            if applies or company_id_of(obj) == membership.company_id:
                permissions |= ROLE_PERMISSIONS[membership.role]
        return permissions

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
