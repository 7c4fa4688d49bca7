"""The audit log page: property admins search it by action, text and date; nobody else opens it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.actions import (
    create_company,
    create_host,
    set_company_active,
    update_company,
)
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company

pytestmark = pytest.mark.django_db

YUNTU = "上海云途信息科技有限公司"
QINGMU = "杭州青木咨询有限公司"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def rows(response) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(who, action, object) of each entry shown, newest first."""
    return re.findall(
        r'<td>([^<]*)</td>\s*<td title="([^"]*)">[^<]*</td>\s*<td>([^<]*)</td>',
        response.content.decode(),
    )


@pytest.fixture
def history(alpha: Building) -> dict[str, Company]:
    """Two companies created by the property admin; one changed, one deactivated."""
    actor = Actor(user=admin_of(alpha), ip_address="192.0.2.1")
    with schema_context(alpha.schema_name):
        yuntu = create_company(actor, name=YUNTU, floors="12")
        qingmu = create_company(actor, name=QINGMU, floors="8")
        update_company(actor, yuntu, name=YUNTU, floors="12-15")
        set_company_active(actor, qingmu, False)
    return {"yuntu": yuntu, "qingmu": qingmu}


@pytest.fixture
def admin_client(alpha: Building) -> Client:
    return english(client_for(alpha, admin_of(alpha)))


def test_property_admin_sees_the_newest_entries_first(
    admin_client: Client, history: dict[str, Company]
) -> None:
    response = admin_client.get("/audit/", {"verb": "company."})

    assert response.status_code == 200
    assert rows(response) == [
        ("admin@alpha.example", "company.deactivated", QINGMU),
        ("admin@alpha.example", "company.updated", YUNTU),
        ("admin@alpha.example", "company.created", QINGMU),
        ("admin@alpha.example", "company.created", YUNTU),
    ]
    assert "192.0.2.1" in response.content.decode()


def test_filtering_by_action_shows_only_that_action(
    admin_client: Client, history: dict[str, Company]
) -> None:
    response = admin_client.get("/audit/", {"verb": "company.created"})

    assert rows(response) == [
        ("admin@alpha.example", "company.created", QINGMU),
        ("admin@alpha.example", "company.created", YUNTU),
    ]
    assert '<option value="company.created" selected>' in response.content.decode()


def test_filtering_by_text_matches_the_object_name(
    admin_client: Client, history: dict[str, Company]
) -> None:
    response = admin_client.get("/audit/", {"q": "云途"})

    assert rows(response) == [
        ("admin@alpha.example", "company.updated", YUNTU),
        ("admin@alpha.example", "company.created", YUNTU),
    ]


def test_filtering_by_text_matches_the_actor(
    alpha: Building, admin_client: Client, history: dict[str, Company]
) -> None:
    boss = member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, history["yuntu"])
    with schema_context(alpha.schema_name):
        create_host(Actor(user=boss), history["yuntu"], name="张伟", mobile="13812345678")

    response = admin_client.get("/audit/", {"q": "wang.li@"})

    assert rows(response) == [("wang.li@yuntu.example", "host.created", "张伟")]


def test_filtering_by_text_matches_the_exact_object_id(
    admin_client: Client, history: dict[str, Company]
) -> None:
    response = admin_client.get("/audit/", {"q": str(history["qingmu"].pk), "verb": "company."})

    assert rows(response) == [
        ("admin@alpha.example", "company.deactivated", QINGMU),
        ("admin@alpha.example", "company.created", QINGMU),
    ]


def test_filtering_by_dates_around_today(admin_client: Client, history: dict[str, Company]) -> None:
    today = timezone.localdate()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)

    def shown(**dates: object) -> int:
        return len(rows(admin_client.get("/audit/", {"verb": "company.", **dates})))

    assert shown(since=today.isoformat(), until=today.isoformat()) == 4
    assert shown(since=yesterday.isoformat()) == 4
    assert shown(until=tomorrow.isoformat()) == 4
    assert shown(since=tomorrow.isoformat()) == 0
    assert shown(until=yesterday.isoformat()) == 0


@pytest.mark.parametrize("bad_date", ["2026-02-30", "yesterday", "2026-13-01", "<script>"])
def test_an_unreadable_date_is_ignored(
    admin_client: Client, history: dict[str, Company], bad_date: str
) -> None:
    response = admin_client.get("/audit/", {"verb": "company.", "since": bad_date})

    assert response.status_code == 200
    assert len(rows(response)) == 4


def test_nothing_matching_says_so(admin_client: Client, history: dict[str, Company]) -> None:
    response = admin_client.get("/audit/", {"q": "no such thing"})

    assert rows(response) == []
    assert "No entries match." in response.content.decode()


def test_alpha_audit_page_shows_nothing_from_beta(
    beta: Building, admin_client: Client, history: dict[str, Company]
) -> None:
    with schema_context(beta.schema_name):
        create_company(Actor(user=admin_of(beta)), name="北京星河律师事务所")

    response = admin_client.get("/audit/", {"verb": "company."})

    assert "北京星河律师事务所" not in response.content.decode()
    assert "admin@beta.example" not in response.content.decode()


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, Role.HOST, Role.RECEPTION, Role.SECURITY])
def test_other_roles_get_a_readable_403(
    alpha: Building, history: dict[str, Company], role: Role
) -> None:
    company = history["yuntu"] if role in (Role.COMPANY_ADMIN, Role.HOST) else None
    user = member(alpha, "someone@alpha.example", role, company)

    response = english(client_for(alpha, user)).get("/audit/")

    assert response.status_code == 403
    assert "Your role does not include this page" in response.content.decode()
    assert "company.created" not in response.content.decode()


def test_actions_are_shown_in_words_in_the_reader_s_language(
    alpha: Building, in_alpha: Building
) -> None:
    record(Actor.system("provisioning"), "company.created", None)
    client = client_for(alpha, admin_of(alpha))

    chinese = client.get("/audit/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/audit/"})
    english = client.get("/audit/").content.decode()

    assert '<td title="company.created">企业已创建</td>' in chinese
    assert '<td title="company.created">Company created</td>' in english
    assert "<td>Provisioning</td>" in english
