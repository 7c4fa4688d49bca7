"""Employees bind their WeChat (员工服务, seed 5.1) over HTTP, through the sandbox's OAuth: an
SMS code proves the mobile their company registered, and the openid is bound to that host
record only. Deactivation and a changed number unbind; company admins see who is bound."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.access.conftest import make_host
from tests.conftest import admin_of, client_for, member
from tests.wechat.employees import (
    SYSTEM,
    bind_over_http,
    bound_phone,
    texted_code,
    wechat_phone,
)
from tests.wechat_office import WeChatOffice, sign_in_with_wechat
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import (
    create_host,
    set_company_active,
    set_host_active,
)
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host
from workflows.models import OneTimeCode

pytestmark = pytest.mark.django_db


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def host(in_alpha: Building) -> Host:
    return make_host()


def openid_of(host: Host) -> str:
    host.refresh_from_db()
    return host.wechat_openid


# --- Binding ----------------------------------------------------------------------------------


def test_an_employee_binds_their_wechat_with_the_code_texted_to_their_mobile(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = wechat_phone(alpha, wechat_office, "li.lei")

    form = phone.client.get("/wx/staff/")
    asked = phone.client.post("/wx/staff/code/", {"mobile": host.mobile})
    bound = phone.client.post(
        "/wx/staff/bind/", {"mobile": host.mobile, "code": texted_code(host.mobile)}
    )
    page = phone.client.get("/wx/staff/")

    assert form.status_code == 200 and 'id="mobile-form"' in form.content.decode()
    assert asked.status_code == 200 and 'id="code-form"' in asked.content.decode()
    assert (bound.status_code, bound["Location"]) == (302, "/wx/staff/")
    host.refresh_from_db()
    assert host.wechat_openid == phone.openid
    assert host.wechat_bound_at is not None
    assert AuditEntry.objects.filter(verb="host.wechat_bound", object_id=str(host.pk)).exists()
    body = page.content.decode()
    assert 'id="staff"' in body and 'id="nothing-waiting"' in body
    assert "李*" in body and "李雷" not in body  # the employee's name, masked
    assert host.company.name in body


def test_the_staff_page_sends_a_wechat_user_through_oauth_first(
    alpha: Building, wechat_office: WeChatOffice
) -> None:
    answer = client_for(alpha).get("/wx/staff/")

    assert answer.status_code == 302
    assert answer["Location"].startswith("/wx/start/")


def test_a_wrong_code_binds_nothing_and_is_counted(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = wechat_phone(alpha, wechat_office)
    english(phone.client).post("/wx/staff/code/", {"mobile": host.mobile})
    right = texted_code(host.mobile)
    wrong = "000000" if right != "000000" else "111111"

    answer = phone.client.post("/wx/staff/bind/", {"mobile": host.mobile, "code": wrong})

    assert answer.status_code == 400
    assert "The code is not right." in answer.content.decode()
    assert openid_of(host) == ""
    assert OneTimeCode.objects.get().attempts == 1


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"mobile": "not a number", "code": "123456"}, 400),
        ({"mobile": "13912345678", "code": "12ab56"}, 400),
        ({"mobile": "1" * 5000, "code": "123456"}, 400),
        ({"mobile": "13912345678", "code": "1" * 5000}, 400),
        ({}, 400),
    ],
)
def test_malformed_or_oversized_binding_input_is_refused_and_binds_nothing(
    alpha: Building, wechat_office: WeChatOffice, host: Host, fields: dict[str, str], status: int
) -> None:
    phone = wechat_phone(alpha, wechat_office)

    answer = phone.client.post("/wx/staff/bind/", fields)
    asked = phone.client.post("/wx/staff/code/", {"mobile": fields.get("mobile", "")})

    assert answer.status_code == status
    assert asked.status_code == 400 or "mobile" in fields
    assert not Host.objects.exclude(wechat_openid="").exists()


def test_an_unknown_number_gets_a_code_but_binds_nothing(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = wechat_phone(alpha, wechat_office)
    english(phone.client)

    status, body = bind_over_http(phone, "+8613700001111")

    assert status == 404
    assert "No employee of this building is registered with this number" in body
    assert not Host.objects.exclude(wechat_openid="").exists()


def test_an_employee_of_another_company_cannot_bind_to_someone_elses_record(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    """The intruder may ask for a code to the victim's number (it goes to the victim's
    phone), but a code for their own number does not prove the victim's."""
    intruder = make_host()  # another company
    phone = wechat_phone(alpha, wechat_office, "intruder")
    phone.client.post("/wx/staff/code/", {"mobile": intruder.mobile})
    own_code = texted_code(intruder.mobile)
    phone.client.post("/wx/staff/code/", {"mobile": host.mobile})

    answer = phone.client.post("/wx/staff/bind/", {"mobile": host.mobile, "code": own_code})

    assert answer.status_code == 400
    assert openid_of(host) == "" and openid_of(intruder) == ""


def test_a_forged_wechat_session_binds_nothing(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    """A session naming an openid without the platform's proof for it is no sign-in: even
    with the right code the form goes back through OAuth, and nothing is bound or spent."""
    genuine = wechat_phone(alpha, wechat_office, "li.lei")
    genuine.client.post("/wx/staff/code/", {"mobile": host.mobile})
    forger = wechat_phone(alpha, wechat_office, "forger")
    session = forger.client.session
    session["wechat_user"] = {**session["wechat_user"], "openid": "o-forged-openid-000000"}
    session.save()

    answer = forger.client.post(
        "/wx/staff/bind/", {"mobile": host.mobile, "code": texted_code(host.mobile)}
    )

    assert answer.status_code == 302 and answer["Location"].startswith("/wx/start/")
    assert openid_of(host) == ""
    assert OneTimeCode.objects.get().attempts == 0
    assert forger.client.get("/wx/staff/").status_code == 302


def test_binding_needs_a_post(alpha: Building, wechat_office: WeChatOffice) -> None:
    phone = wechat_phone(alpha, wechat_office)

    assert phone.client.get("/wx/staff/bind/").status_code == 405
    assert phone.client.get("/wx/staff/code/").status_code == 405
    assert phone.client.get("/wx/staff/unbind/").status_code == 405


def test_a_replayed_code_binds_nothing_more(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = wechat_phone(alpha, wechat_office)
    phone.client.post("/wx/staff/code/", {"mobile": host.mobile})
    code = texted_code(host.mobile)
    first = phone.client.post("/wx/staff/bind/", {"mobile": host.mobile, "code": code})
    other = wechat_phone(alpha, wechat_office, "eavesdropper")

    replayed = other.client.post("/wx/staff/bind/", {"mobile": host.mobile, "code": code})

    assert first.status_code == 302
    assert replayed.status_code == 400
    assert openid_of(host) == phone.openid


# --- Rebinding ----------------------------------------------------------------------------


def test_after_a_phone_change_the_employee_binds_again_with_the_new_number_only(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    old_number = host.mobile
    phone = bound_phone(alpha, wechat_office, host)
    boss = member(alpha, "boss@company.example", Role.COMPANY_ADMIN, host.company)

    changed = client_for(alpha, boss).post(
        f"/employees/{host.pk}/", {"name": host.name, "mobile": "13655556666"}
    )
    unbound = openid_of(host)
    with_old = bind_over_http(phone, old_number)
    with_new = bind_over_http(phone, "+8613655556666")

    assert changed.status_code == 302
    assert unbound == ""  # the binding was proved with the old number: it goes with it
    assert AuditEntry.objects.filter(
        verb="host.wechat_unbound", object_id=str(host.pk), detail__reason="mobile_changed"
    ).exists()
    assert with_old[0] == 404
    assert with_new[0] == 302
    assert openid_of(host) == phone.openid


def test_a_new_wechat_of_the_same_employee_replaces_the_old_one(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    old_phone = bound_phone(alpha, wechat_office, host)
    new_phone = wechat_phone(alpha, wechat_office, "new phone")

    status, _body = bind_over_http(new_phone, host.mobile)

    assert status == 302
    assert openid_of(host) == new_phone.openid
    assert 'id="staff-bind"' in old_phone.client.get("/wx/staff/").content.decode()


def test_a_wechat_bound_to_one_employee_moves_when_it_binds_to_another(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    """A phone handed on to a colleague: one WeChat user is one employee at a time."""
    colleague = create_host(SYSTEM, host.company, name="韩梅", mobile="13622223333")
    phone = bound_phone(alpha, wechat_office, host)

    status, _body = bind_over_http(phone, colleague.mobile)

    assert status == 302
    assert (openid_of(host), openid_of(colleague)) == ("", phone.openid)


def test_an_employee_unbinds_their_wechat(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)

    answer = phone.client.post("/wx/staff/unbind/")

    assert (answer.status_code, answer["Location"]) == (302, "/wx/staff/")
    assert openid_of(host) == ""
    assert 'id="staff-bind"' in phone.client.get("/wx/staff/").content.decode()


# --- Deactivation ---------------------------------------------------------------------------


def test_deactivating_an_employee_unbinds_their_wechat(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)

    set_host_active(SYSTEM, host, False)
    rebind = bind_over_http(phone, host.mobile)

    assert openid_of(host) == ""
    assert 'id="staff-bind"' in phone.client.get("/wx/staff/").content.decode()
    assert rebind[0] == 404  # an inactive employee cannot bind again


def test_deactivating_a_company_unbinds_all_its_employees(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    colleague = create_host(SYSTEM, host.company, name="韩梅", mobile="13622224444")
    bound_phone(alpha, wechat_office, host)
    bound_phone(alpha, wechat_office, colleague)
    admin = admin_of(alpha)

    answer = client_for(alpha, admin).post(
        f"/companies/{host.company.pk}/active/", {"is_active": "0"}
    )

    assert answer.status_code == 302
    assert (openid_of(host), openid_of(colleague)) == ("", "")
    assert (
        AuditEntry.objects.filter(
            verb="host.wechat_unbound", detail__reason="company_deactivated"
        ).count()
        == 2
    )


def test_deactivating_through_the_action_also_unbinds(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    bound_phone(alpha, wechat_office, host)

    set_company_active(SYSTEM, host.company, False)

    assert openid_of(host) == ""


# --- Who sees the binding ---------------------------------------------------------------------


def test_company_admins_see_who_is_bound_in_their_own_company_only(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    other = make_host()
    unbound = create_host(SYSTEM, host.company, name="王五", mobile="13622225555")
    bound_phone(alpha, wechat_office, host)
    bound_phone(alpha, wechat_office, other)
    boss = member(alpha, "boss@company.example", Role.COMPANY_ADMIN, host.company)

    mine = client_for(alpha, boss).get("/employees/").content.decode()
    everyone = client_for(alpha, admin_of(alpha)).get("/employees/").content.decode()

    assert mine.count('data-wechat="bound"') == 1
    assert mine.count('data-wechat="unbound"') == 1
    assert other.company.name not in mine
    assert unbound.name in mine
    assert everyone.count('data-wechat="bound"') == 2


# --- Buildings --------------------------------------------------------------------------------


def test_a_binding_in_one_building_is_nothing_in_another_served_by_the_same_account(
    alpha: Building, beta: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    with schema_context("public"):
        wechat_office.serve(beta)
    phone = bound_phone(alpha, wechat_office, host)
    beta_phone = client_for(beta)
    sign_in_with_wechat(beta_phone, wechat_office, phone.openid, "/wx/staff/")

    in_beta = beta_phone.get("/wx/staff/")
    beta_phone.post("/wx/staff/code/", {"mobile": host.mobile})
    with schema_context("beta"):
        code = texted_code(host.mobile)
    bound_in_beta = beta_phone.post("/wx/staff/bind/", {"mobile": host.mobile, "code": code})

    assert 'id="staff-bind"' in in_beta.content.decode()
    assert bound_in_beta.status_code == 404  # no employee of beta has alpha's number
    with schema_context("beta"):
        assert not Host.objects.exclude(wechat_openid="").exists()
    with schema_context("alpha"):
        assert openid_of(host) == phone.openid
