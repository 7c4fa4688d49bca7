"""Reads of the directory, narrowed to what the user's roles in this building allow."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from visit_platform.directory.backends import active_memberships
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host, Membership
from visit_platform.directory.roles import (
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
