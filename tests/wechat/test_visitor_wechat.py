"""A visitor's WeChat (issue 13, 4): linked to their mobile with one SMS code, over HTTP through
the sandbox's OAuth; My visits and the request form then open inside WeChat without asking
again, in this building only; a host's personal code opens the form with the host chosen."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from kernel.privacy import blind_index
from tenants.models import Building
from tests.access.conftest import make_host, make_pass, make_visit, make_visitor
from tests.forms.conftest import make_host as make_form_host
from tests.wechat.visitor_phone import (
    E164,
    MOBILE,
    OTHER_E164,
    OTHER_MOBILE,
    ask_for_code,
    in_wechat,
    is_sign_in_page,
    link_wechat,
    phone,
    request_form_data,
    shown_visit_ids,
    texted_code,
    wrong,
)
from tests.wechat_office import WeChatOffice
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company, create_host, set_host_active
from visit_platform.directory.invite_tokens import host_by_invite_token, host_invite_token
from visit_platform.directory.models import Host
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import MOBILE_INDEX, Visit, Visitor, WeChatLink
from workflows.actions import CODE_ATTEMPTS
from workflows.models import OneTimeCode

pytestmark = pytest.mark.django_db

INDEX = blind_index(E164, MOBILE_INDEX)


# --- Linking ----------------------------------------------------------------------------------


def test_a_visitor_links_their_wechat_once_and_my_visits_opens_without_asking_again(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    visit = make_visit(status="pending_approval")
    user = wechat_office.user("visitor")
    client = in_wechat(wechat_office, user.openid, "/wx/me/")

    asked = client.get("/wx/me/")
    assert asked.status_code == 302 and asked["Location"].startswith("/wx/link/")
    page = client.get(asked["Location"])
    assert 'data-step="mobile"' in page.content.decode()
    linked = link_wechat(client)

    assert linked["Location"] == "/me/"
    assert shown_visit_ids(client.get("/me/")) == [visit.pk]
    link = WeChatLink.objects.get()
    assert (link.openid, link.mobile_index) == (user.openid, INDEX)
    assert Visitor.objects.get(pk=visit.visitor_id).wechat_openid == user.openid
    assert AuditEntry.objects.filter(verb="visitor.wechat_linked").count() == 1

    # Later, another session of the same WeChat: no code asked, none sent.
    later = in_wechat(wechat_office, user.openid, "/wx/me/")
    opened = later.get("/wx/me/")
    assert opened["Location"] == "/me/"
    page = later.get("/me/")
    assert shown_visit_ids(page) == [visit.pk]
    assert 'id="unlink-wechat"' in page.content.decode()
    assert OneTimeCode.objects.count() == 1


def test_my_visits_opened_directly_in_wechat_signs_the_linked_visitor_in(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    visit = make_visit(status="pending_approval")
    user = wechat_office.user()
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))

    client = in_wechat(wechat_office, user.openid, "/me/")

    assert shown_visit_ids(client.get("/me/")) == [visit.pk]


def test_my_visits_in_wechat_without_a_link_asks_for_the_code_that_links(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    make_visit(status="pending_approval")
    client = in_wechat(wechat_office, wechat_office.user().openid, "/me/")

    asked = client.get("/me/")

    assert asked.status_code == 302 and asked["Location"] == "/wx/link/?next=%2Fme%2F"
    assert link_wechat(client)["Location"] == "/me/"
    assert WeChatLink.objects.count() == 1


def test_the_pass_opens_from_my_visits_in_wechat(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    visit = make_visit(status="approved")
    make_pass(visit)
    user = wechat_office.user()
    client = in_wechat(wechat_office, user.openid, "/wx/link/")
    link_wechat(client)

    opened = client.post(f"/me/visits/{visit.pk}/pass/")

    assert opened.status_code == 302 and opened["Location"].startswith("/p/")
    assert client.get(opened["Location"]).status_code == 200


def test_a_wrong_code_five_times_kills_the_code_and_links_nothing(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    user = wechat_office.user()
    client = in_wechat(wechat_office, user.openid, "/wx/link/")
    ask_for_code(client)
    code = texted_code()

    first = client.post("/wx/link/check/", {"mobile": MOBILE, "code": wrong(code)})
    for _guess in range(CODE_ATTEMPTS - 1):
        client.post("/wx/link/check/", {"mobile": MOBILE, "code": wrong(code)})
    right_too_late = client.post("/wx/link/check/", {"mobile": MOBILE, "code": code})

    assert first.status_code == 400
    assert "The code is not right." in first.content.decode()
    assert right_too_late.status_code == 400
    assert "Too many wrong codes; ask for a new one." in right_too_late.content.decode()
    assert not WeChatLink.objects.exists()


def test_a_code_used_once_does_not_link_another_wechat(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    owner, other = wechat_office.user(), wechat_office.user()
    link_wechat(in_wechat(wechat_office, owner.openid, "/wx/link/"))
    replayer = in_wechat(wechat_office, other.openid, "/wx/link/")

    replayed = replayer.post("/wx/link/check/", {"mobile": MOBILE, "code": texted_code()})

    assert replayed.status_code == 400
    assert "The code has expired" in replayed.content.decode()
    assert list(WeChatLink.objects.values_list("openid", flat=True)) == [owner.openid]


def test_a_session_carried_to_another_building_gives_nothing_there(
    in_alpha: Building, beta: Building, wechat_office: WeChatOffice
) -> None:
    with schema_context("public"):
        wechat_office.serve(beta)  # one account serves both buildings
    user = wechat_office.user()
    client = in_wechat(wechat_office, user.openid, "/wx/link/")
    link_wechat(client)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    with schema_context("beta"):
        in_beta_visit = make_visit(status="pending_approval")  # the same number, in beta

    carried = phone("beta")
    carried.cookies[settings.SESSION_COOKIE_NAME] = cookie
    my_visits = carried.get("/me/")
    entry = carried.get("/wx/me/")
    form = carried.get("/visit/request/")

    assert is_sign_in_page(my_visits) and shown_visit_ids(my_visits) == []
    assert entry.status_code == 302 and entry["Location"].startswith("/wx/start/")
    assert 'id="linked-wechat"' not in form.content.decode()
    assert carried.post(f"/me/visits/{in_beta_visit.pk}/cancel/").status_code == 403
    with schema_context("beta"):
        assert not WeChatLink.objects.exists()
    connection.set_tenant(in_alpha)
    assert WeChatLink.objects.count() == 1


def test_linking_another_number_moves_the_link(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    first = make_visitor()
    second = make_visitor(name="李四", mobile=OTHER_MOBILE, id_number="")
    user = wechat_office.user()
    client = in_wechat(wechat_office, user.openid, "/wx/link/")
    link_wechat(client)
    client.get("/wx/link/")

    link_wechat(client, OTHER_MOBILE, OTHER_E164)

    link = WeChatLink.objects.get()
    assert link.mobile_index == blind_index(OTHER_E164, MOBILE_INDEX)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.wechat_openid, second.wechat_openid) == ("", user.openid)


def test_proving_a_number_takes_it_from_the_wechat_that_had_it(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    visitor = make_visitor()
    old_phone, new_phone = wechat_office.user(), wechat_office.user()
    link_wechat(in_wechat(wechat_office, old_phone.openid, "/wx/link/"))
    OneTimeCode.objects.all().delete()  # a minute later: a new code may be sent

    link_wechat(in_wechat(wechat_office, new_phone.openid, "/wx/link/"))

    assert list(WeChatLink.objects.values_list("openid", flat=True)) == [new_phone.openid]
    visitor.refresh_from_db()
    assert visitor.wechat_openid == new_phone.openid


def test_stop_using_this_wechat_deletes_the_link_and_signs_out(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    visitor = make_visitor()
    make_visit(visitor=visitor, status="pending_approval")
    user = wechat_office.user()
    client = in_wechat(wechat_office, user.openid, "/wx/link/")
    link_wechat(client)

    response = client.post("/wx/me/unlink/")

    assert response.status_code == 200
    assert 'id="unlinked"' in response.content.decode()
    assert not WeChatLink.objects.exists()
    visitor.refresh_from_db()
    assert visitor.wechat_openid == ""
    assert client.get("/me/")["Location"].startswith("/wx/link/")  # the code is asked again
    assert client.get("/wx/me/")["Location"].startswith("/wx/link/")
    assert AuditEntry.objects.filter(verb="visitor.wechat_unlinked").count() == 1


def test_unlinking_without_a_wechat_sign_in_changes_nothing(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    user = wechat_office.user()
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))

    response = phone().post("/wx/me/unlink/")

    assert response.status_code == 403
    assert "Your WeChat sign-in has ended" in response.content.decode()
    assert WeChatLink.objects.count() == 1


def test_the_link_pages_need_a_wechat_sign_in(in_alpha: Building, wechat_office: WeChatOffice):
    client = phone()

    assert client.get("/wx/link/")["Location"].startswith("/wx/start/")
    assert client.post("/wx/link/code/", {"mobile": MOBILE})["Location"].startswith("/wx/start/")
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    "mobile", ["", "12345", "1" * 33, "1" * 100_000, "<script>alert(1)</script>", "１３８"]
)
def test_what_is_not_a_mobile_number_gets_a_message_and_no_code(
    in_alpha: Building, wechat_office: WeChatOffice, mobile: str
) -> None:
    client = in_wechat(wechat_office, wechat_office.user().openid, "/wx/link/")

    response = client.post("/wx/link/code/", {"mobile": mobile, "next": "/me/"})

    assert response.status_code == 400
    assert "Enter a valid mobile number." in response.content.decode()
    assert "<script>alert" not in response.content.decode()
    assert OneTimeCode.objects.count() == Notification.objects.count() == 0


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "9" * 10_000, "12 345"])
def test_a_malformed_code_is_refused_without_spending_a_try(
    in_alpha: Building, wechat_office: WeChatOffice, code: str
) -> None:
    client = in_wechat(wechat_office, wechat_office.user().openid, "/wx/link/")
    ask_for_code(client)

    response = client.post("/wx/link/check/", {"mobile": MOBILE, "code": code})

    assert response.status_code == 400
    assert "Enter the 6 digits of the code." in response.content.decode()
    assert OneTimeCode.objects.get().attempts == 0
    assert not WeChatLink.objects.exists()


@pytest.mark.parametrize("next_path", ["//evil.example/", "https://evil.example/", "x" * 5000])
def test_linking_never_leads_off_site(
    in_alpha: Building, wechat_office: WeChatOffice, next_path: str
) -> None:
    client = in_wechat(wechat_office, wechat_office.user().openid, "/wx/link/")

    response = link_wechat(client, next_path=next_path)

    assert response["Location"] == "/me/"


def test_only_post_sends_codes_and_links(in_alpha: Building, wechat_office: WeChatOffice):
    client = in_wechat(wechat_office, wechat_office.user().openid, "/wx/link/")

    assert client.get("/wx/link/code/", {"mobile": MOBILE}).status_code == 405
    assert client.get("/wx/link/check/", {"mobile": MOBILE, "code": "123456"}).status_code == 405
    assert OneTimeCode.objects.count() == 0


# --- The request form inside WeChat -----------------------------------------------------------


def test_the_request_form_in_wechat_is_filled_with_the_linked_mobile_and_the_visit_is_theirs(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    make_form_host()
    make_visitor()  # the building knows the number: the form is filled in with it
    user = wechat_office.user()
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))
    client = in_wechat(wechat_office, user.openid, "/visit/request/")

    page = client.get("/visit/request/").content.decode()
    sent = client.post("/visit/request/", request_form_data(visitor_mobile="138 0000 0001"))

    assert 'id="linked-wechat"' in page
    assert 'value="138 0000 0001"' in page and "readonly" in page
    assert sent.status_code == 302, sent.content.decode()[:3000]
    visit = Visit.objects.get(scenario="request")
    client.get("/wx/me/")
    assert visit.pk in shown_visit_ids(client.get("/me/"))


def test_a_first_time_visitor_who_linked_is_not_asked_for_their_number_again(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    """Nobody in the building has the number yet: the link itself keeps it (encrypted)."""
    make_form_host()
    user = wechat_office.user()
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))
    client = in_wechat(wechat_office, user.openid, "/visit/request/")

    page = client.get("/visit/request/").content.decode()

    assert not Visitor.objects.exists()
    assert 'value="138 0000 0001"' in page and "readonly" in page
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile FROM visits_wechatlink")
        [(stored,)] = cursor.fetchall()
    assert "13800000001" not in stored


def test_the_request_form_in_wechat_refuses_another_number(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    make_form_host()
    user = wechat_office.user()
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))
    client = in_wechat(wechat_office, user.openid, "/visit/request/")

    refused = client.post("/visit/request/", request_form_data(visitor_mobile=OTHER_MOBILE))

    assert refused.status_code == 200
    assert "you apply with the mobile number linked to this WeChat" in refused.content.decode()
    assert not Visit.objects.exists()


def test_an_unlinked_wechat_user_is_offered_to_link_from_the_form(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    make_form_host()
    token = host_invite_token(make_host())
    client = in_wechat(wechat_office, wechat_office.user().openid, f"/visit/request/?host={token}")

    page = client.get(f"/visit/request/?host={token}").content.decode()
    sent = client.post(
        f"/visit/request/?host={token}", request_form_data(visitor_mobile=OTHER_MOBILE)
    )

    assert f'href="/wx/link/?next=/visit/request/%3Fhost%3D{token}"' in page
    assert 'id="linked-wechat"' not in page
    assert sent.status_code == 302  # unlinked, the form is as outside WeChat
    assert Visit.objects.get().visitor_mobile == OTHER_E164


def test_the_request_form_outside_wechat_is_as_before(in_alpha: Building, wechat_office):
    make_form_host()
    sent = phone(wechat=False).post(
        "/visit/request/", request_form_data(visitor_mobile=OTHER_MOBILE)
    )

    assert sent.status_code == 302
    assert Visit.objects.get().visitor_mobile == OTHER_E164


# --- A host's personal code -------------------------------------------------------------------


def test_a_hosts_code_opens_the_form_with_the_host_chosen_and_the_visit_goes_to_them(
    in_alpha: Building,
) -> None:
    company = create_company(Actor.system("tests"), name="云途科技", floors="8")
    host = create_host(Actor.system("tests"), company, name="王磊", mobile="13912345678")
    token = host_invite_token(host)
    client = phone(wechat=False)

    page = client.get(f"/visit/request/?host={token}").content.decode()
    sent = client.post(f"/visit/request/?host={token}", request_form_data(host_mobile=None))

    assert 'id="fixed-host"' in page and host.name in page
    assert 'name="host_mobile"' not in page
    assert host.mobile not in page and host.mobile[3:] not in page
    assert sent.status_code == 302, sent.content.decode()[:3000]
    assert Visit.objects.get().host == host


def test_a_posted_host_mobile_does_not_override_the_hosts_code(in_alpha: Building) -> None:
    host, other = make_host(), make_host()
    token = host_invite_token(host)

    phone(wechat=False).post(
        f"/visit/request/?host={token}", request_form_data(host_mobile=other.mobile)
    )

    assert Visit.objects.get().host == host


@pytest.mark.parametrize(
    "token",
    ["1-" + "0" * 24, "forged", "x" * 10_000, "<script>", "-1-abc", "01-" + "a" * 24],
)
def test_a_forged_or_malformed_hosts_code_opens_the_form_without_a_host(
    in_alpha: Building, token: str
) -> None:
    make_host()

    page = phone(wechat=False).get("/visit/request/", {"host": token})

    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="host-code-invalid"' in body
    assert "The host's code is not valid" in body
    assert 'name="host_mobile"' in body and 'id="fixed-host"' not in body
    assert "<script>" not in body.split('id="host-code-invalid"')[1][:400]


def test_a_hosts_code_from_another_building_is_not_valid_here(
    in_alpha: Building, beta: Building
) -> None:
    with schema_context("beta"):
        there = make_host()
        token = host_invite_token(there)
        assert host_by_invite_token(token) == there
    connection.set_tenant(in_alpha)
    here = make_host()
    Host.objects.filter(pk=here.pk).update(id=there.pk)  # the same key names a host here too

    page = phone(wechat=False).get("/visit/request/", {"host": token})

    assert 'id="host-code-invalid"' in page.content.decode()
    assert host_by_invite_token(token) is None


def test_a_deactivated_hosts_code_is_not_valid(in_alpha: Building) -> None:
    host = make_host()
    token = host_invite_token(host)
    set_host_active(Actor.system("tests"), host, False)

    assert host_by_invite_token(token) is None
    assert (
        'id="host-code-invalid"'
        in phone(wechat=False).get("/visit/request/", {"host": token}).content.decode()
    )
