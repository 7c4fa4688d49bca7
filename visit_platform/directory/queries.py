"""Reads of the directory, narrowed to what the user's roles in this building allow."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import F, Func, Q, QuerySet, Value
from django.db.models.functions import Lower

from visit_platform.directory.backends import active_memberships
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host, Membership
from visit_platform.directory.roles import (
    INVITE_VISITORS,
    ROLE_PERMISSIONS,
    VIEW_COMPANY,
    VIEW_HOST,
    VIEW_MEMBERSHIP,
)


def _scope(user: Any, permission: str) -> tuple[bool, set[int]]:
    """(sees every company, the company ids it sees) for ``permission``."""
    everything = False
    companies: set[int] = set()
    for membership in active_memberships(user):
        if permission not in ROLE_PERMISSIONS[membership.role]:
            continue
        if membership.is_company_scoped:
            companies.add(membership.company_id)  # type: ignore[arg-type]
        else:
            everything = True
    return everything, companies


def managed_company_ids(user: Any, permission: str) -> set[int] | None:
    """Ids of the companies ``user`` holds ``permission`` for; None means all of them."""
    everything, companies = _scope(user, permission)
    return None if everything else companies


def visible_companies(user: Any) -> QuerySet[Company]:
    everything, companies = _scope(user, VIEW_COMPANY)
    if everything:
        return Company.objects.all()
    return Company.objects.filter(pk__in=companies)


def visible_hosts(user: Any) -> QuerySet[Host]:
    everything, companies = _scope(user, VIEW_HOST)
    hosts = Host.objects.select_related("company")
    if everything:
        return hosts
    return hosts.filter(company_id__in=companies)


def visible_memberships(user: Any) -> QuerySet[Membership]:
    everything, companies = _scope(user, VIEW_MEMBERSHIP)
    memberships = Membership.objects.select_related("user", "company")
    if everything:
        return memberships
    return memberships.filter(Q(company_id__in=companies)).exclude(role=Role.OPERATOR)


def host_of_mobile(mobile: str) -> Host | None:
    """The employee registered with this (E.164) mobile who may be visited here now: active,
    of an active company. None for anyone else."""
    return (
        Host.objects.select_related("company")
        .filter(mobile=mobile, is_active=True, company__is_active=True)
        .first()
    )


def host_of_openid(openid: str) -> Host | None:
    """The active employee this WeChat user (an openid of the building's account) is bound
    to in this building, if any."""
    if not openid:
        return None
    return (
        Host.objects.select_related("company", "user")
        .filter(wechat_openid=openid, is_active=True, company__is_active=True)
        .first()
    )


def roles_of(user: Any) -> set[str]:
    return {membership.role for membership in active_memberships(user)}


# --- Who a visit is for: inviting on an employee's behalf, the visitor's host lookup --------

# Roles that invite for other employees (issue 16): property admins for any host of the
# building, company admins for their own company's. A host invites as themselves only.
_INVITES_FOR_OTHERS = frozenset({Role.OPERATOR, Role.PROPERTY_ADMIN, Role.COMPANY_ADMIN})
# Longest name a search or a lookup takes; longer text is no employee's name.
MAX_HOST_NAME = 50
# Most employees a name search answers with: a picker, not a list of the company.
HOST_SEARCH_LIMIT = 10


def normalise_name(text: str) -> str:
    """A name as people type it, compared as a name: outer spaces gone, inner runs of
    whitespace one space ("张 伟 " and "张 伟" are the same; "张伟" is not)."""
    return re.sub(r"\s+", " ", text).strip()


def _normalised_name_column() -> Func:
    """``Host.name`` normalised like ``normalise_name`` and lower-cased, in SQL."""
    trimmed = Func(F("name"), function="BTRIM")
    collapsed = Func(trimmed, Value(r"\s+"), Value(" "), Value("g"), function="REGEXP_REPLACE")
    return Lower(collapsed)


def invites_for_others(user: Any) -> bool:
    """Whether the user's roles here let them invite on an employee's behalf."""
    return any(
        membership.role in _INVITES_FOR_OTHERS
        and INVITE_VISITORS in ROLE_PERMISSIONS[membership.role]
        for membership in active_memberships(user)
    )


def own_host(user: Any) -> Host | None:
    """The active employee this account is, if any: who a host invites for."""
    return (
        Host.objects.filter(user_id=getattr(user, "pk", None) or 0, is_active=True)
        .select_related("company")
        .first()
    )


def invitable_hosts(user: Any) -> QuerySet[Host]:
    """The active employees (of active companies) the user may invite a visitor for: any in
    the building for property admins, their company's for company admins, and themselves."""
    everything = False
    companies: set[int] = set()
    for membership in active_memberships(user):
        if membership.role not in _INVITES_FOR_OTHERS:
            continue
        if membership.is_company_scoped:
            companies.add(membership.company_id)  # type: ignore[arg-type]
        else:
            everything = True
    hosts = Host.objects.select_related("company").filter(is_active=True, company__is_active=True)
    if everything:
        return hosts
    return hosts.filter(Q(company_id__in=companies) | Q(user_id=getattr(user, "pk", None) or 0))


def invitable_companies(user: Any) -> QuerySet[Company]:
    """Active companies with an employee the user may invite for, by name."""
    return (
        Company.objects.filter(is_active=True, hosts__in=invitable_hosts(user))
        .distinct()
        .order_by("name")
    )


def search_invitable_hosts(user: Any, company_id: int, text: str) -> list[Host]:
    """Employees of one company the user may invite for whose name contains ``text``
    (normalised, case-insensitive), by name, at most ``HOST_SEARCH_LIMIT``."""
    needle = normalise_name(text).lower()
    if not needle:
        return []
    return list(
        invitable_hosts(user)
        .filter(company_id=company_id)
        .annotate(normalised_name=_normalised_name_column())
        .filter(normalised_name__contains=needle)
        .order_by("name", "pk")[:HOST_SEARCH_LIMIT]
    )


def find_host(*, mobile: str = "", company_id: int | None = None, name: str = "") -> Host | None:
    """The one employee who may be visited now (active, of an active company) matching every
    detail given: the (E.164) mobile, the company, the full name (normalised, not a part of
    it). None when no one or more than one matches, or when neither a mobile nor a company
    and a name are given: a visitor's form names a host, it never searches for one."""
    name = normalise_name(name)
    if not mobile and not (company_id and name):
        return None
    hosts = Host.objects.select_related("company").filter(is_active=True, company__is_active=True)
    if mobile:
        hosts = hosts.filter(mobile=mobile)
    if company_id:
        hosts = hosts.filter(company_id=company_id)
    if name:
        hosts = hosts.annotate(normalised_name=_normalised_name_column()).filter(
            normalised_name=name.lower()
        )
    found = list(hosts[:2])
    return found[0] if len(found) == 1 else None
