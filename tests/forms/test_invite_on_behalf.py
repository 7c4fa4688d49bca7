"""Inviting on an employee's behalf (issue 16): company admins for their company's hosts,
property admins for any host of the building, hosts as themselves; the host picker's search."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from forms.queries import current_version
from tenants.models import Building, User
from tests.conftest import admin_of, client_for, member
from tests.forms.conftest import SYSTEM
from visit_platform.directory.actions import create_company, create_host, set_host_active
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def xinghe(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name="星河科技", floors="12")


@pytest.fixture
def yunfan(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name="云帆律所", floors="18")


@pytest.fixture
def zhang_wei(xinghe: Company) -> Host:
    return create_host(SYSTEM, xinghe, name="张伟", mobile="13911110001", department="研发部")


@pytest.fixture
def zhou_jie(yunfan: Company) -> Host:
    return create_host(SYSTEM, yunfan, name="周杰", mobile="13911110004")


@pytest.fixture
def company_admin(alpha: Building, xinghe: Company) -> User:
    return member(alpha, "admin@xinghe.example", Role.COMPANY_ADMIN, xinghe)


@pytest.fixture
def host_user(alpha: Building, zhang_wei: Host) -> User:
    user = member(alpha, "zhang.wei@xinghe.example", Role.HOST, zhang_wei.company)
    zhang_wei.user = user
    zhang_wei.save()
    return user


def invitation(form_company: Company | None = None, **extra: str) -> dict[str, str]:
    start = timezone.localtime() + timedelta(hours=1)
    company_id = form_company.pk if form_company else None
    return {
        "form_version": str(current_version(Scenario.INVITE, company_id).pk),
        "submission_id": str(uuid.uuid4()),
        "visitor_name": "王芳",
        "visitor_mobile": "13700001111",
        "visit_start": start.strftime("%Y-%m-%dT%H:%M"),
        "visit_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "purpose": "business",
        **extra,
    }


def search(client: Any, **params: str) -> Any:
    return client.get("/invite/hosts/", params, HTTP_ACCEPT="application/json")


# --- Who may invite for whom -----------------------------------------------------------------


def test_a_company_admin_invites_for_an_employee_of_their_company(
    alpha: Building, company_admin: User, zhang_wei: Host
) -> None:
    client = client_for(alpha, company_admin)

    page = client.get("/invite/")
    response = client.post(
        "/invite/",
        invitation(zhang_wei.company, company=str(zhang_wei.company_id), host=str(zhang_wei.pk)),
    )

    assert 'id="host-search"' in page.content.decode()
    assert "只有员工可以邀请访客" not in page.content.decode()
    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/invite/{visit.pk}/"
    assert visit.host == zhang_wei
    assert visit.invited_by == company_admin


def test_a_company_admin_cannot_invite_for_another_companys_employee(
    alpha: Building, company_admin: User, zhang_wei: Host, zhou_jie: Host
) -> None:
    client = client_for(alpha, company_admin)

    response = client.post(
        "/invite/",
        invitation(zhang_wei.company, company=str(zhou_jie.company_id), host=str(zhou_jie.pk)),
    )
    forged = client.post(
        "/invite/",
        invitation(zhang_wei.company, company=str(zhang_wei.company_id), host=str(zhou_jie.pk)),
    )

    assert response.status_code == forged.status_code == 200
    assert 'id="host-problem"' in forged.content.decode()
    assert Visit.objects.count() == 0


def test_a_property_admin_invites_for_any_host_of_the_building(
    alpha: Building, zhang_wei: Host, zhou_jie: Host
) -> None:
    admin = admin_of(alpha)
    client = client_for(alpha, admin)

    page = client.get("/invite/", {"company": str(zhou_jie.company_id)})
    response = client.post(
        "/invite/",
        invitation(zhou_jie.company, company=str(zhou_jie.company_id), host=str(zhou_jie.pk)),
    )

    assert 'id="picker-company"' in page.content.decode()
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.host, visit.invited_by, visit.company) == (zhou_jie, admin, zhou_jie.company)


def test_a_host_invites_as_themselves_without_a_picker(
    alpha: Building, host_user: User, zhang_wei: Host, zhou_jie: Host
) -> None:
    client = client_for(alpha, host_user)

    page = client.get("/invite/")
    # A host who names someone else still invites for themselves: the picker is not theirs.
    response = client.post("/invite/", invitation(host=str(zhou_jie.pk)))

    assert 'id="host-search"' not in page.content.decode()
    assert response.status_code == 302
    assert Visit.objects.get().host == zhang_wei


def test_only_someone_neither_host_nor_admin_is_told_only_employees_invite(
    alpha: Building, xinghe: Company, company_admin: User
) -> None:
    unlinked = member(alpha, "unlinked@xinghe.example", Role.HOST, xinghe)

    told = client_for(alpha, unlinked).get("/invite/").content.decode()
    admin_page = client_for(alpha, company_admin).get("/invite/").content.decode()

    assert "Only employees invite visitors" in told or "只有员工可以邀请访客" in told
    assert "Only employees invite visitors" not in admin_page
    assert "只有员工可以邀请访客" not in admin_page


def test_posting_without_choosing_a_host_asks_for_one_and_sends_nothing(
    alpha: Building, company_admin: User, zhang_wei: Host
) -> None:
    response = client_for(alpha, company_admin).post(
        "/invite/", invitation(zhang_wei.company, company=str(zhang_wei.company_id))
    )

    assert response.status_code == 200
    assert 'id="host-problem"' in response.content.decode()
    assert Visit.objects.count() == 0


# --- The host picker's search ----------------------------------------------------------------


def test_the_search_finds_employees_of_the_company_by_part_of_their_name(
    alpha: Building, company_admin: User, zhang_wei: Host, zhou_jie: Host
) -> None:
    create_host(SYSTEM, zhang_wei.company, name="张小明", mobile="13911110011")
    gone = create_host(SYSTEM, zhang_wei.company, name="张离职", mobile="13911110012")
    set_host_active(SYSTEM, gone, False)

    response = search(client_for(alpha, company_admin), company=str(zhang_wei.company_id), q=" 张 ")

    body = json.loads(response.content)
    assert response.status_code == 200
    assert [host["name"] for host in body["hosts"]] == ["张伟", "张小明"]
    assert set(body["hosts"][0]) == {"id", "name", "department"}  # never a mobile
    assert response["Cache-Control"] == "no-store"


def test_the_search_answers_at_most_ten(
    alpha: Building, company_admin: User, xinghe: Company
) -> None:
    for number in range(12):
        create_host(SYSTEM, xinghe, name=f"李{number:02d}", mobile=f"139222200{number:02d}")

    response = search(client_for(alpha, company_admin), company=str(xinghe.pk), q="李")

    assert len(json.loads(response.content)["hosts"]) == 10


def test_a_company_admin_cannot_search_another_company(
    alpha: Building, company_admin: User, zhou_jie: Host
) -> None:
    client = client_for(alpha, company_admin)

    foreign = search(client, company=str(zhou_jie.company_id), q="周")
    missing = search(client, company="999999", q="周")

    assert foreign.status_code == missing.status_code == 404
    assert json.loads(foreign.content) == json.loads(missing.content)


def test_a_host_may_not_search(alpha: Building, host_user: User, zhang_wei: Host) -> None:
    response = search(client_for(alpha, host_user), company=str(zhang_wei.company_id), q="张")

    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "forbidden"


def test_reception_and_anonymous_users_may_not_search(alpha: Building, zhang_wei: Host) -> None:
    reception = member(alpha, "desk@alpha.example", Role.RECEPTION)

    assert (
        search(client_for(alpha, reception), company=str(zhang_wei.company_id), q="张").status_code
        == 403
    )
    anonymous = search(client_for(alpha), company=str(zhang_wei.company_id), q="张")
    assert anonymous.status_code == 401
    assert json.loads(anonymous.content)["code"] == "not_signed_in"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": "张"}, "company_invalid"),
        ({"company": "abc", "q": "张"}, "company_invalid"),
        ({"company": "-3", "q": "张"}, "company_invalid"),
        ({"company": "9" * 30, "q": "张"}, "company_invalid"),
        ({"company": "{company}", "q": "张" * 51}, "query_invalid"),
    ],
    ids=["no-company", "letters", "negative", "past-bigint", "oversized"],
)
def test_malformed_searches_get_a_json_error(
    alpha: Building, company_admin: User, zhang_wei: Host, params: dict[str, str], code: str
) -> None:
    params = {
        key: value.replace("{company}", str(zhang_wei.company_id)) for key, value in params.items()
    }

    response = search(client_for(alpha, company_admin), **params)

    assert response.status_code == 400
    assert json.loads(response.content)["code"] == code


def test_a_search_with_a_control_character_is_refused(
    alpha: Building, company_admin: User, zhang_wei: Host
) -> None:
    # Refused at the edge (ADR 0025) before the view; the view refuses it too (query_invalid).
    response = search(
        client_for(alpha, company_admin), company=str(zhang_wei.company_id), q="张\x01"
    )

    assert response.status_code == 400


def test_an_empty_search_finds_nobody(
    alpha: Building, company_admin: User, zhang_wei: Host
) -> None:
    response = search(client_for(alpha, company_admin), company=str(zhang_wei.company_id), q="   ")

    assert json.loads(response.content) == {"hosts": []}


def test_the_search_takes_get_only(alpha: Building, company_admin: User, zhang_wei: Host) -> None:
    response = client_for(alpha, company_admin).post(
        "/invite/hosts/",
        {"company": str(zhang_wei.company_id), "q": "张"},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 405
