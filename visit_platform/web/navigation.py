"""The console's navigation: which pages a user's roles in this building show them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from visit_platform.directory.roles import (
    DESIGN_FORMS,
    HANDLE_PRIVACY_REQUESTS,
    INVITE_VISITORS,
    MANAGE_GATES,
    MANAGE_POLICIES,
    MANAGE_RETENTION,
    MANAGE_SECURITY_SETTINGS,
    MANAGE_WECHAT,
    MARK_ROLL_CALL,
    ORGANISE_EVENTS,
    REGISTER_VISITS,
    VIEW_ALERTS,
    VIEW_AUDIT,
    VIEW_COMPANY,
    VIEW_EXPECTED_TODAY,
    VIEW_HOST,
    VIEW_MEMBERSHIP,
    VIEW_NOTIFICATIONS,
    VIEW_RECORDS,
    VIEW_SECURITY_SCREEN,
    VIEW_TASKS,
    VIEW_VISIT,
    VIEW_WATCHLIST,
)


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url_name: str
    permission: str | None
    icon: str
    url_kwargs: dict[str, str] | None = None


NAVIGATION = (
    NavItem("home", _("Overview"), "web:home", None, "home"),
    NavItem("tasks", _("Tasks"), "workflows:task_list", VIEW_TASKS, "desk"),
    NavItem("today", _("Visitors today"), "visits:expected_today", VIEW_EXPECTED_TODAY, "users"),
    NavItem("visits", _("Visits"), "visits:visit_list", VIEW_VISIT, "door"),
    NavItem("records", _("Records"), "reports:records", VIEW_RECORDS, "form"),
    NavItem("statistics", _("Statistics"), "reports:statistics", VIEW_RECORDS, "chart"),
    NavItem("exports", _("Exports"), "reports:export_list", VIEW_RECORDS, "form"),
    NavItem("invite", _("Invite a visitor"), "forms:invite_form", INVITE_VISITORS, "users"),
    NavItem("my_visitors", _("My visitors"), "visits:my_visitors", INVITE_VISITORS, "users"),
    NavItem(
        "reception",
        _("Register a visitor"),
        "forms:reception_form",
        REGISTER_VISITS,
        "desk",
        {"scenario": "walk_in"},
    ),
    NavItem("events", _("Events"), "visits:event_list", ORGANISE_EVENTS, "users"),
    NavItem("forms", _("Forms"), "forms:form_list", DESIGN_FORMS, "form"),
    NavItem("companies", _("Companies"), "directory:company_list", VIEW_COMPANY, "building"),
    NavItem("hosts", _("Employees"), "directory:host_list", VIEW_HOST, "users"),
    NavItem(
        "memberships", _("People & roles"), "directory:membership_list", VIEW_MEMBERSHIP, "key"
    ),
    NavItem("watchlist", _("Watchlist"), "visits:watchlist_list", VIEW_WATCHLIST, "shield"),
    NavItem("policies", _("Visit policies"), "workflows:policy_list", MANAGE_POLICIES, "key"),
    NavItem("gates", _("Gates"), "access:gate_list", MANAGE_GATES, "door"),
    NavItem(
        "security", _("Security screen"), "access:security_screen", VIEW_SECURITY_SCREEN, "shield"
    ),
    NavItem("alerts", _("Alerts"), "access:alert_list", VIEW_ALERTS, "shield"),
    NavItem("roll_call", _("Roll call"), "access:roll_call_home", MARK_ROLL_CALL, "users"),
    NavItem(
        "notifications",
        _("Messages"),
        "notifications:notification_list",
        VIEW_NOTIFICATIONS,
        "message",
    ),
    NavItem("wechat", _("WeChat account"), "wechat:account", MANAGE_WECHAT, "message"),
    NavItem(
        "security_settings",
        _("Security settings"),
        "access:security_settings",
        MANAGE_SECURITY_SETTINGS,
        "shield",
    ),
    NavItem(
        "privacy_requests",
        _("Privacy requests"),
        "workflows:privacy_requests",
        HANDLE_PRIVACY_REQUESTS,
        "shield",
    ),
    NavItem(
        "retention",
        _("Data retention"),
        "visits:retention_settings",
        MANAGE_RETENTION,
        "shield",
    ),
    NavItem("audit", _("Audit log"), "audit:entry_list", VIEW_AUDIT, "shield"),
)


def navigation_for(user: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": item.key,
            "label": item.label,
            "url": reverse(item.url_name, kwargs=item.url_kwargs),
            "icon": item.icon,
        }
        for item in NAVIGATION
        if item.permission is None or user.has_perm(item.permission)
    ]
