"""Isolation over HTTP: between buildings on their own domains, between companies in one
building, and between roles. What a user may not see answers 404; what their role may not
open answers a readable 403 page."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.conftest import ADMIN_PASSWORD, admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host, Membership

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
YUNTU = "上海云途信息科技有限公司"
QINGMU = "杭州青木咨询有限公司"
FORBIDDEN = "Your role does not include this page"


def english(client: Client) -> Client:
    """Our assertions read the English texts; the console defaults to Chinese."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def browser(building: Building, user: User | None = None) -> Client:
    return english(client_for(building, user))


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


@pytest.fixture
def yuntu(alpha: Building) -> Company:
    with schema_context(alpha.schema_name):
        return create_company(SYSTEM, name=YUNTU, floors="12-15")


@pytest.fixture
def qingmu(alpha: Building) -> Company:
    with schema_context(alpha.schema_name):
        return create_company(SYSTEM, name=QINGMU, floors="8")


@pytest.fixture
def zhang_wei(alpha: Building, yuntu: Company) -> Host:
    with schema_context(alpha.schema_name):
        return create_host(SYSTEM, yuntu, name="张伟", mobile="13812345678", department="研发部")


@pytest.fixture
def li_na(alpha: Building, qingmu: Company) -> Host:
    with schema_context(alpha.schema_name):
        return create_host(SYSTEM, qingmu, name="李娜", mobile="13912345678", department="咨询部")


# --- Between buildings ----------------------------------------------------------------------


def test_company_created_in_alpha_is_not_listed_in_beta(
    alpha: Building, beta: Building, yuntu: Company
) -> None:
    in_alpha = browser(alpha, admin_of(alpha)).get("/companies/")
    in_beta = browser(beta, admin_of(beta)).get("/companies/")

    assert (in_alpha.status_code, in_beta.status_code) == (200, 200)
    assert YUNTU in text(in_alpha)
    assert YUNTU not in text(in_beta)
    assert "No companies yet" in text(in_beta)


def test_alpha_company_edit_url_answers_404_on_beta_domain(
    alpha: Building, beta: Building, yuntu: Company
) -> None:
    with schema_context(beta.schema_name):
        assert not Company.objects.filter(pk=yuntu.pk).exists()
    client = browser(beta, admin_of(beta))

    page = client.get(f"/companies/{yuntu.pk}/")
    change = client.post(f"/companies/{yuntu.pk}/", {"name": "Hijacked"})
    deactivate = client.post(f"/companies/{yuntu.pk}/active/", {"is_active": "0"})

    assert (page.status_code, change.status_code, deactivate.status_code) == (404, 404, 404)
    with schema_context(alpha.schema_name):
        assert list(Company.objects.values_list("name", "is_active")) == [(YUNTU, True)]


def test_host_created_in_alpha_is_invisible_in_beta_by_list_and_by_url(
    alpha: Building, beta: Building, zhang_wei: Host
) -> None:
    client = browser(beta, admin_of(beta))

    listing = client.get("/employees/", {"status": "all"})
    page = client.get(f"/employees/{zhang_wei.pk}/")
    deactivate = client.post(f"/employees/{zhang_wei.pk}/active/", {"is_active": "0"})

    assert listing.status_code == 200
    assert "张伟" not in text(listing)
    assert (page.status_code, deactivate.status_code) == (404, 404)
    with schema_context(alpha.schema_name):
        assert Host.objects.get(pk=zhang_wei.pk).is_active is True


def test_member_of_alpha_signed_in_on_beta_domain_gets_the_no_access_page(
    alpha: Building, beta: Building
) -> None:
    clerk = member(alpha, "clerk@alpha.example", Role.PROPERTY_ADMIN)

    response = browser(beta, clerk).get("/companies/")

    assert response.status_code == 403
    assert "No access to this building" in text(response)
    assert "The account clerk@alpha.example has no role in this building." in text(response)


def test_member_of_alpha_cannot_sign_in_on_beta_domain_with_the_right_password(
    alpha: Building, beta: Building
) -> None:
    member(alpha, "clerk@alpha.example", Role.PROPERTY_ADMIN)
    client = browser(beta)

    response = client.post(
        "/login/", {"username": "clerk@alpha.example", "password": ADMIN_PASSWORD}
    )

    assert response.status_code == 200
    assert "This account has no role in this building." in text(response)
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_member_of_alpha_signs_in_on_alpha_domain(alpha: Building) -> None:
    member(alpha, "clerk@alpha.example", Role.PROPERTY_ADMIN)
    client = browser(alpha)

    response = client.post(
        "/login/", {"username": "clerk@alpha.example", "password": ADMIN_PASSWORD}
    )

    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/").status_code == 200


def test_unknown_host_name_answers_404() -> None:
    response = Client(HTTP_HOST="nowhere.localhost").get("/login/")

    assert response.status_code == 404


def test_anonymous_visitor_is_sent_to_the_sign_in_page(alpha: Building) -> None:
    response = browser(alpha).get("/companies/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/companies/")


# --- Between companies ----------------------------------------------------------------------


@pytest.fixture
def yuntu_admin(alpha: Building, yuntu: Company) -> User:
    return member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu)


def test_company_admin_sees_only_their_own_company_hosts(
    alpha: Building, yuntu_admin: User, zhang_wei: Host, li_na: Host
) -> None:
    response = browser(alpha, yuntu_admin).get("/employees/", {"status": "all"})

    assert response.status_code == 200
    assert "张伟" in text(response)
    assert "李娜" not in text(response)
    assert f'href="/employees/{zhang_wei.pk}/"' in text(response)


def test_company_admin_filtering_by_another_company_sees_nobody(
    alpha: Building, yuntu_admin: User, qingmu: Company, li_na: Host
) -> None:
    response = browser(alpha, yuntu_admin).get("/employees/", {"company": qingmu.pk})

    assert "李娜" not in text(response)
    assert "No employees yet" in text(response)


def test_company_admin_gets_404_for_another_company_host_page_and_changes_nothing(
    alpha: Building, yuntu_admin: User, li_na: Host
) -> None:
    client = browser(alpha, yuntu_admin)

    page = client.get(f"/employees/{li_na.pk}/")
    change = client.post(
        f"/employees/{li_na.pk}/", {"name": "改名", "mobile": "13912345678", "department": "x"}
    )

    assert (page.status_code, change.status_code) == (404, 404)
    with schema_context(alpha.schema_name):
        stored = Host.objects.get(pk=li_na.pk)
        assert (stored.name, stored.department) == ("李娜", "咨询部")


def test_company_admin_deactivating_another_company_host_gets_404_and_nothing_changes(
    alpha: Building, yuntu_admin: User, li_na: Host
) -> None:
    with schema_context(alpha.schema_name):
        audit_before = AuditEntry.objects.count()

    response = browser(alpha, yuntu_admin).post(
        f"/employees/{li_na.pk}/active/", {"is_active": "0"}
    )

    assert response.status_code == 404
    with schema_context(alpha.schema_name):
        assert Host.objects.get(pk=li_na.pk).is_active is True
        assert AuditEntry.objects.count() == audit_before


def test_company_admin_cannot_add_an_employee_to_another_company(
    alpha: Building, yuntu_admin: User, qingmu: Company
) -> None:
    response = browser(alpha, yuntu_admin).post(
        "/employees/new/", {"company": qingmu.pk, "name": "王芳", "mobile": "13712345678"}
    )

    assert response.status_code == 200
    assert "Select a valid choice." in text(response)
    with schema_context(alpha.schema_name):
        assert not Host.objects.filter(name="王芳").exists()


def test_company_admin_adds_an_employee_to_their_own_company(
    alpha: Building, yuntu_admin: User, yuntu: Company, qingmu: Company
) -> None:
    response = browser(alpha, yuntu_admin).post(
        "/employees/new/", {"company": yuntu.pk, "name": "王芳", "mobile": "137 1234 5678"}
    )

    assert (response.status_code, response["Location"]) == (302, "/employees/")
    with schema_context(alpha.schema_name):
        assert list(Host.objects.values_list("name", "mobile", "company_id")) == [
            ("王芳", "+8613712345678", yuntu.pk)
        ]


def test_company_admin_cannot_remove_another_company_member(
    alpha: Building, yuntu_admin: User, qingmu: Company
) -> None:
    member(alpha, "staff@qingmu.example", Role.HOST, qingmu)
    with schema_context(alpha.schema_name):
        theirs = Membership.objects.get(user__email="staff@qingmu.example")

    listing = browser(alpha, yuntu_admin).get("/people/")
    revoke = browser(alpha, yuntu_admin).post(f"/people/{theirs.pk}/revoke/")

    assert "staff@qingmu.example" not in text(listing)
    assert "admin@alpha.example" not in text(listing)
    assert revoke.status_code == 404
    with schema_context(alpha.schema_name):
        assert Membership.objects.get(pk=theirs.pk).is_active is True


def test_company_admin_import_refuses_rows_for_another_company(
    alpha: Building, yuntu_admin: User, li_na: Host
) -> None:
    client = browser(alpha, yuntu_admin)
    upload = _csv(
        "姓名,手机号,公司\r\n张伟,13812345678,上海云途信息科技有限公司\r\n"
        "王芳,13712345678,杭州青木咨询有限公司\r\n李娜,13912345678,\r\n"
    )

    preview = client.post("/employees/import/", {"file": upload})
    token = re.search(r'name="token" value="([^"]+)"', text(preview)).group(1)  # type: ignore[union-attr]
    confirmed = client.post("/employees/import/", {"token": token})

    assert re.findall(r'data-line="(\d+)" data-outcome="(\w+)"', text(preview)) == [
        ("2", "create"),
        ("3", "error"),
        ("4", "error"),
    ]
    assert f"This row is for {QINGMU}; you can import employees of {YUNTU} only." in text(preview)
    assert "This mobile number already belongs to a host of another company." in text(preview)
    assert confirmed.status_code == 302
    with schema_context(alpha.schema_name):
        assert sorted(Host.objects.values_list("name", "company__name")) == sorted(
            [("张伟", YUNTU), ("李娜", QINGMU)]
        )


def _csv(content: str):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("employees.csv", content.encode("utf-8-sig"), "text/csv")


def test_company_admin_cannot_deactivate_even_their_own_company(
    alpha: Building, yuntu_admin: User, yuntu: Company
) -> None:
    response = browser(alpha, yuntu_admin).post(
        f"/companies/{yuntu.pk}/active/", {"is_active": "0"}
    )

    assert response.status_code == 403
    assert FORBIDDEN in text(response)
    with schema_context(alpha.schema_name):
        assert Company.objects.get(pk=yuntu.pk).is_active is True


# --- Between roles --------------------------------------------------------------------------


ADMIN_PAGES = [
    "/companies/",
    "/companies/new/",
    "/companies/import/",
    "/employees/",
    "/employees/new/",
    "/employees/import/",
    "/people/",
    "/audit/",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_host_role_gets_a_readable_403_on_every_admin_page(
    alpha: Building, yuntu: Company, path: str
) -> None:
    host = member(alpha, "zhang.wei@yuntu.example", Role.HOST, yuntu)

    response = browser(alpha, host).get(path)

    assert response.status_code == 403
    assert FORBIDDEN in text(response)
    assert 'href="/"' in text(response)


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.COMPANY_ADMIN, "/companies/new/"),
        (Role.COMPANY_ADMIN, "/companies/import/"),
        (Role.COMPANY_ADMIN, "/audit/"),
        (Role.RECEPTION, "/employees/new/"),
        (Role.RECEPTION, "/employees/import/"),
        (Role.RECEPTION, "/people/"),
        (Role.RECEPTION, "/audit/"),
        (Role.SECURITY, "/employees/"),
        (Role.SECURITY, "/people/"),
        (Role.SECURITY, "/audit/"),
    ],
)
def test_role_without_the_permission_gets_a_readable_403(
    alpha: Building, yuntu: Company, role: Role, path: str
) -> None:
    user = member(
        alpha, "someone@alpha.example", role, yuntu if role == Role.COMPANY_ADMIN else None
    )

    response = browser(alpha, user).get(path)

    assert response.status_code == 403
    assert FORBIDDEN in text(response)


def test_reception_sees_hosts_with_masked_mobiles_and_no_edit_buttons(
    alpha: Building, zhang_wei: Host, li_na: Host
) -> None:
    reception = member(alpha, "front.desk@alpha.example", Role.RECEPTION)

    response = browser(alpha, reception).get("/employees/")

    page = text(response)
    assert response.status_code == 200
    assert ("张伟" in page, "李娜" in page) == (True, True)
    assert re.findall(r'<td class="mono">([^<]*)</td>', page) == ["138 **** 5678", "139 **** 5678"]
    assert ("138 1234 5678" in page, "+8613812345678" in page, "13812345678" in page) == (
        False,
        False,
        False,
    )
    assert "/employees/new/" not in page
    assert "/employees/import/" not in page
    assert f"/employees/{zhang_wei.pk}/" not in page
    assert "Deactivate" not in page


def test_property_admin_sees_full_mobiles_and_edit_buttons(
    alpha: Building, zhang_wei: Host
) -> None:
    response = browser(alpha, admin_of(alpha)).get("/employees/")

    page = text(response)
    assert re.findall(r'<td class="mono">([^<]*)</td>', page) == ["138 1234 5678"]
    assert f'href="/employees/{zhang_wei.pk}/"' in page
    assert "Deactivate" in page
