"""Directory pages over HTTP: forms call the actions and show their refusals on the field."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host, Membership

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
YUNTU = "上海云途信息科技有限公司"
QINGMU = "杭州青木咨询有限公司"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def field_errors(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<div class="error">([^<]*)</div>', text(response))


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<div class="message [a-z]+">([^<]*)</div>', text(response))


@pytest.fixture
def admin_client(alpha: Building) -> Client:
    return english(client_for(alpha, admin_of(alpha)))


@pytest.fixture
def yuntu(alpha: Building) -> Company:
    with schema_context(alpha.schema_name):
        return create_company(SYSTEM, name=YUNTU, floors="12-15")


def test_property_admin_creates_a_company_and_it_is_audited(
    alpha: Building, admin_client: Client
) -> None:
    response = admin_client.post(
        "/companies/new/",
        {
            "name": YUNTU,
            "floors": "12-15",
            "contact_name": "王丽",
            "contact_mobile": "138 1234 5678",
        },
    )

    assert (response.status_code, response["Location"]) == (302, "/companies/")
    with schema_context(alpha.schema_name):
        company = Company.objects.get()
        assert (company.name, company.contact_mobile) == (YUNTU, "+8613812345678")
        entry = AuditEntry.objects.order_by("-id").first()
        assert (entry.verb, entry.actor_label, entry.ip_address) == (  # type: ignore[union-attr]
            "company.created",
            "admin@alpha.example",
            "127.0.0.1",
        )


def test_duplicate_company_name_is_shown_on_the_name_field(
    alpha: Building, admin_client: Client, yuntu: Company
) -> None:
    response = admin_client.post("/companies/new/", {"name": f"  {YUNTU} "})

    assert response.status_code == 200
    assert field_errors(response) == ["A company with this name already exists."]
    with schema_context(alpha.schema_name):
        assert Company.objects.count() == 1


def test_company_edit_page_shows_the_mobile_for_people(
    admin_client: Client, alpha: Building
) -> None:
    with schema_context(alpha.schema_name):
        company = create_company(SYSTEM, name=QINGMU, contact_mobile="13912345678")

    response = admin_client.get(f"/companies/{company.pk}/")

    assert 'value="139 1234 5678"' in text(response)


def test_bad_contact_mobile_is_shown_on_its_field(admin_client: Client, alpha: Building) -> None:
    response = admin_client.post("/companies/new/", {"name": QINGMU, "contact_mobile": "12345"})

    assert field_errors(response) == ["Enter a valid mobile number."]
    with schema_context(alpha.schema_name):
        assert Company.objects.count() == 0


def test_deactivating_a_company_over_http_deactivates_its_employees(
    alpha: Building, admin_client: Client, yuntu: Company
) -> None:
    with schema_context(alpha.schema_name):
        create_host(SYSTEM, yuntu, name="张伟", mobile="13812345678")

    response = admin_client.post(f"/companies/{yuntu.pk}/active/", {"is_active": "0"}, follow=True)

    assert messages_of(response) == [f"{YUNTU} was deactivated, with its employees and roles."]
    with schema_context(alpha.schema_name):
        assert (Company.objects.get().is_active, Host.objects.get().is_active) == (False, False)


def test_inactive_companies_are_listed_only_when_asked_for(
    alpha: Building, admin_client: Client, yuntu: Company
) -> None:
    admin_client.post(f"/companies/{yuntu.pk}/active/", {"is_active": "0"}, follow=True)

    active = admin_client.get("/companies/")
    inactive = admin_client.get("/companies/", {"status": "inactive"})

    assert YUNTU not in text(active)
    assert YUNTU in text(inactive)


def test_duplicate_host_mobile_in_another_format_is_shown_on_the_mobile_field(
    alpha: Building, admin_client: Client, yuntu: Company
) -> None:
    with schema_context(alpha.schema_name):
        create_host(SYSTEM, yuntu, name="张伟", mobile="13812345678")

    response = admin_client.post(
        "/employees/new/", {"company": yuntu.pk, "name": "王芳", "mobile": "+86 138-1234-5678"}
    )

    assert field_errors(response) == [
        "This mobile number already belongs to a host in this building."
    ]
    with schema_context(alpha.schema_name):
        assert list(Host.objects.values_list("name", flat=True)) == ["张伟"]


def test_employee_search_finds_a_host_by_part_of_the_mobile(
    alpha: Building, admin_client: Client, yuntu: Company
) -> None:
    with schema_context(alpha.schema_name):
        create_host(SYSTEM, yuntu, name="张伟", mobile="13812345678")
        create_host(SYSTEM, yuntu, name="王芳", mobile="13912340000")

    response = admin_client.get("/employees/", {"q": "5678"})

    assert "张伟" in text(response)
    assert "王芳" not in text(response)


def test_property_admin_grants_a_company_admin_role_on_the_people_page(
    alpha: Building, admin_client: Client, yuntu: Company
) -> None:
    response = admin_client.post(
        "/people/", {"email": "wang.li@yuntu.example", "role": "company_admin", "company": yuntu.pk}
    )

    assert (response.status_code, response["Location"]) == (302, "/people/")
    with schema_context(alpha.schema_name):
        membership = Membership.objects.get(user__email="wang.li@yuntu.example")
        assert (membership.role, membership.company_id) == ("company_admin", yuntu.pk)


def test_granting_an_existing_account_returns_to_the_list(
    alpha: Building, admin_client: Client
) -> None:
    User.objects.create_user("known@alpha.example", "pw-known-1")

    response = admin_client.post("/people/", {"email": "known@alpha.example", "role": "reception"})

    assert (response.status_code, response["Location"]) == (302, "/people/")


def test_company_admin_is_offered_company_roles_only(alpha: Building, yuntu: Company) -> None:
    boss = member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu)

    response = english(client_for(alpha, boss)).get("/people/")

    role_select = re.search(r'<select name="role"[^>]*>(.*?)</select>', text(response), re.S)
    assert role_select is not None
    assert re.findall(r'<option value="([a-z_]+)"', role_select.group(1)) == [
        "company_admin",
        "host",
    ]


def test_company_admin_posting_a_building_role_is_refused(alpha: Building, yuntu: Company) -> None:
    boss = member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu)

    response = english(client_for(alpha, boss)).post(
        "/people/", {"email": "friend@yuntu.example", "role": "property_admin", "company": yuntu.pk}
    )

    assert response.status_code == 200
    assert field_errors(response) == [
        "Select a valid choice. property_admin is not one of the available choices."
    ]
    assert not User.objects.filter(email="friend@yuntu.example").exists()


def test_removing_the_last_property_admin_is_refused_with_a_message(
    alpha: Building, admin_client: Client
) -> None:
    with schema_context(alpha.schema_name):
        only_admin = Membership.objects.get(role=Role.PROPERTY_ADMIN)

    response = admin_client.post(f"/people/{only_admin.pk}/revoke/", follow=True)

    assert messages_of(response) == ["The building must keep at least one property admin."]
    with schema_context(alpha.schema_name):
        assert Membership.objects.get(pk=only_admin.pk).is_active is True


def test_property_admin_removes_a_reception_role(alpha: Building, admin_client: Client) -> None:
    member(alpha, "clerk@alpha.example", Role.RECEPTION)
    with schema_context(alpha.schema_name):
        membership = Membership.objects.get(user__email="clerk@alpha.example")

    response = admin_client.post(f"/people/{membership.pk}/revoke/", follow=True)

    assert messages_of(response) == ["Role removed from clerk@alpha.example."]
    assert "clerk@alpha.example" not in re.sub(r'<div class="message.*?</div>', "", text(response))
    with schema_context(alpha.schema_name):
        assert Membership.objects.get(pk=membership.pk).is_active is False


def test_write_pages_refuse_get_for_state_changes(admin_client: Client, yuntu: Company) -> None:
    response = admin_client.get(f"/companies/{yuntu.pk}/active/")

    assert response.status_code == 405
