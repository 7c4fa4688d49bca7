"""The console shell: every page each role may open renders, navigation follows the role, and
the language is the building's (Chinese) until the person switches."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
YUNTU = "上海云途信息科技有限公司"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def heading(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r"<h1[^>]*>([^<]*)</h1>", text(response))
    assert match is not None
    return match.group(1)


def navigation(response) -> list[str]:  # type: ignore[no-untyped-def]
    nav = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', text(response), re.S)
    assert nav is not None
    return re.findall(r"<span>([^<]*)</span>", nav.group(1))


@pytest.fixture
def yuntu(alpha: Building) -> Company:
    with schema_context(alpha.schema_name):
        return create_company(SYSTEM, name=YUNTU, floors="12-15", zone="A座")


@pytest.fixture
def zhang_wei(alpha: Building, yuntu: Company) -> Host:
    with schema_context(alpha.schema_name):
        return create_host(SYSTEM, yuntu, name="张伟", mobile="13812345678")


def user_with(role: Role, alpha: Building, yuntu: Company) -> User:
    if role == Role.PROPERTY_ADMIN:
        return admin_of(alpha)
    company = yuntu if role in (Role.COMPANY_ADMIN, Role.HOST) else None
    return member(alpha, f"{role}@alpha.example", role, company)


PAGES = [
    (Role.PROPERTY_ADMIN, "/", "Overview"),
    (Role.PROPERTY_ADMIN, "/companies/", "Companies"),
    (Role.PROPERTY_ADMIN, "/companies/new/", "New company"),
    (Role.PROPERTY_ADMIN, "/companies/{company}/", YUNTU),
    (Role.PROPERTY_ADMIN, "/companies/import/", "Import companies"),
    (Role.PROPERTY_ADMIN, "/employees/", "Employees"),
    (Role.PROPERTY_ADMIN, "/employees/new/", "New employee"),
    (Role.PROPERTY_ADMIN, "/employees/{host}/", "张伟"),
    (Role.PROPERTY_ADMIN, "/employees/import/", "Import employees"),
    (Role.PROPERTY_ADMIN, "/people/", "People & roles"),
    (Role.PROPERTY_ADMIN, "/audit/", "Audit log"),
    (Role.PROPERTY_ADMIN, "/watchlist/", "Watchlist"),
    (Role.PROPERTY_ADMIN, "/watchlist/new/", "Propose a watchlist entry"),
    (Role.PROPERTY_ADMIN, "/settings/wechat/", "WeChat account"),
    (Role.PROPERTY_ADMIN, "/settings/security/", "Security settings"),
    (Role.PROPERTY_ADMIN, "/alerts/", "Alerts"),
    (Role.PROPERTY_ADMIN, "/records/", "Records"),
    (Role.PROPERTY_ADMIN, "/privacy-requests/", "Privacy requests"),
    (Role.PROPERTY_ADMIN, "/statistics/", "Statistics"),
    (Role.PROPERTY_ADMIN, "/exports/", "Exports"),
    (Role.COMPANY_ADMIN, "/", "Overview"),
    (Role.COMPANY_ADMIN, "/records/", "Records"),
    (Role.COMPANY_ADMIN, "/statistics/", "Statistics"),
    (Role.COMPANY_ADMIN, "/exports/", "Exports"),
    (Role.COMPANY_ADMIN, "/companies/", "Companies"),
    (Role.COMPANY_ADMIN, "/employees/", "Employees"),
    (Role.COMPANY_ADMIN, "/employees/new/", "New employee"),
    (Role.COMPANY_ADMIN, "/employees/{host}/", "张伟"),
    (Role.COMPANY_ADMIN, "/employees/import/", "Import employees"),
    (Role.COMPANY_ADMIN, "/people/", "People & roles"),
    (Role.HOST, "/", "Overview"),
    (Role.RECEPTION, "/", "Overview"),
    (Role.RECEPTION, "/companies/", "Companies"),
    (Role.RECEPTION, "/employees/", "Employees"),
    (Role.SECURITY, "/", "Overview"),
    (Role.SECURITY, "/companies/", "Companies"),
    (Role.SECURITY, "/watchlist/", "Watchlist"),
    (Role.SECURITY, "/watchlist/new/", "Propose a watchlist entry"),
    (Role.SECURITY, "/alerts/", "Alerts"),
    (Role.SECURITY, "/records/?tab=events", "Records"),
    (Role.SECURITY, "/statistics/", "Statistics"),
    (Role.SECURITY, "/exports/", "Exports"),
]


@pytest.mark.parametrize(("role", "path", "title"), PAGES)
def test_page_renders_for_a_role_that_may_open_it(
    alpha: Building, yuntu: Company, zhang_wei: Host, role: Role, path: str, title: str
) -> None:
    client = english(client_for(alpha, user_with(role, alpha, yuntu)))

    response = client.get(path.format(company=yuntu.pk, host=zhang_wei.pk))

    assert response.status_code == 200
    assert heading(response) == title
    assert "Alpha Tower" in text(response)


@pytest.mark.parametrize(
    ("role", "labels"),
    [
        (
            Role.PROPERTY_ADMIN,
            [
                "Overview",
                "Tasks",
                "Visitors today",
                "Visits",
                "Records",
                "Statistics",
                "Exports",
                "Invite a visitor",
                "My visitors",
                "Register a visitor",
                "Events",
                "Forms",
                "Companies",
                "Employees",
                "People &amp; roles",
                "Watchlist",
                "Visit policies",
                "Gates",
                "Security screen",
                "Alerts",
                "Roll call",
                "Messages",
                "WeChat account",
                "Security settings",
                "Privacy requests",
                "Data retention",
                "Audit log",
            ],
        ),
        (
            Role.COMPANY_ADMIN,
            [
                "Overview",
                "Tasks",
                "Visits",
                "Records",
                "Statistics",
                "Exports",
                "Invite a visitor",
                "My visitors",
                "Events",
                "Forms",
                "Companies",
                "Employees",
                "People &amp; roles",
            ],
        ),
        (Role.HOST, ["Overview", "Tasks", "Invite a visitor", "My visitors", "Roll call"]),
        (
            Role.RECEPTION,
            [
                "Overview",
                "Tasks",
                "Visitors today",
                "Visits",
                "Register a visitor",
                "Companies",
                "Employees",
            ],
        ),
        (
            Role.SECURITY,
            [
                "Overview",
                "Tasks",
                "Visitors today",
                "Visits",
                "Records",
                "Statistics",
                "Exports",
                "Companies",
                "Watchlist",
                "Security screen",
                "Alerts",
                "Roll call",
            ],
        ),
    ],
)
def test_navigation_shows_the_pages_of_the_role(
    alpha: Building, yuntu: Company, role: Role, labels: list[str]
) -> None:
    response = english(client_for(alpha, user_with(role, alpha, yuntu))).get("/")

    assert navigation(response) == labels


def test_overview_shows_the_blocks_the_role_can_see(
    alpha: Building, yuntu: Company, zhang_wei: Host
) -> None:
    boss = member(alpha, "boss@yuntu.example", Role.COMPANY_ADMIN, yuntu)

    admin_page = text(english(client_for(alpha, admin_of(alpha))).get("/"))
    boss_page = text(english(client_for(alpha, boss)).get("/"))

    def blocks(page: str) -> list[str]:
        return re.findall(r'<section class="card home-block" id="(home-[\w-]+)"', page)

    assert blocks(admin_page) == ["home-tasks", "home-expected", "home-inside", "home-alerts"]
    assert blocks(boss_page) == ["home-tasks", "home-expected", "home-inside"]
    assert "Company admin" in boss_page


def test_sidebar_names_the_roles_and_company_of_the_user(alpha: Building, yuntu: Company) -> None:
    host = member(alpha, "zhang.wei@yuntu.example", Role.HOST, yuntu)

    response = english(client_for(alpha, host)).get("/")

    foot = re.search(r'<div class="sidebar-foot">(.*?)</div>', text(response), re.S)
    assert foot is not None and foot.group(1) == f"Host<br>{YUNTU}"


# --- Language -------------------------------------------------------------------------------


def test_console_speaks_simplified_chinese_by_default(alpha: Building) -> None:
    response = client_for(alpha, admin_of(alpha)).get("/companies/")

    with translation.override("zh-hans"):
        chinese_title = gettext("Companies")
    assert '<html lang="zh-hans">' in text(response)
    assert response["Content-Language"] == "zh-hans"
    assert heading(response) == chinese_title != "Companies"


def test_browser_language_does_not_override_the_building_language(alpha: Building) -> None:
    client = Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    response = client.get("/login/")

    assert '<html lang="zh-hans">' in text(response)


def test_switching_the_language_to_english_changes_the_page_language(alpha: Building) -> None:
    client = client_for(alpha, admin_of(alpha))

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/companies/"})
    page = client.get("/companies/")

    assert (switched.status_code, switched["Location"]) == (302, "/companies/")
    assert '<html lang="en">' in text(page)
    assert heading(page) == "Companies"


def test_switching_back_to_chinese_restores_chinese(alpha: Building) -> None:
    client = client_for(alpha)
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    page = client.get("/login/")

    assert '<html lang="zh-hans">' in text(page)


def test_unsupported_language_choice_keeps_chinese(alpha: Building) -> None:
    client = client_for(alpha)

    client.post("/i18n/setlang/", {"language": "fr", "next": "/login/"})
    page = client.get("/login/")

    assert '<html lang="zh-hans">' in text(page)


def test_language_switch_is_offered_on_the_sign_in_page(alpha: Building) -> None:
    page = client_for(alpha).get("/login/")

    assert '<form class="lang" method="post" action="/i18n/setlang/">' in text(page)
    assert re.findall(r'<option value="([\w-]+)"', text(page)) == ["zh-hans", "en"]
