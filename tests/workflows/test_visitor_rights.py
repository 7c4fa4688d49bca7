"""Visitors' rights (PIPL articles 44 to 47, ADR 0037): from My visits a visitor downloads
everything the building holds under their mobile and asks for its deletion; the property
office sees the requests by deadline and carries them out (``erase_visitor``) or refuses
them, and the visitor reads the answer on My visits and in a text."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from kernel.privacy import blind_index
from tenants.models import Building
from tests.access.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    make_gate,
    make_host,
    make_pass,
    make_visit,
    make_visitor,
    slip_token,
)
from tests.conftest import admin_of, client_for, member
from tests.visits.test_my_visits import (
    E164,
    MOBILE,
    OTHER_MOBILE,
    ask_for_code,
    phone,
    signed_in,
    texted_code,
)
from tests.wechat.visitor_phone import in_wechat, link_wechat
from tests.wechat_office import WeChatOffice
from visit_platform.access.actions import decide_scan
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.notifications.actions import send_notification
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import MOBILE_INDEX, Visit, Visitor, WeChatLink
from visit_platform.visits.visitor_session import SESSION_KEY
from workflows.actions import add_to_watchlist
from workflows.actions.rights import ask_for_deletion
from workflows.models import PrivacyRequest

INDEX = blind_index(E164, MOBILE_INDEX)
OTHER_E164 = "+8613700000002"


def signed_in_as_the_other(client: Client) -> Client:
    ask_for_code(client, OTHER_MOBILE)
    response = client.post(
        "/me/sign-in/", {"mobile": OTHER_MOBILE, "code": texted_code(OTHER_E164)}
    )
    assert response.status_code == 302
    return client


def download(client: Client) -> dict[str, Any]:
    response = client.post("/me/data/")
    assert response.status_code == 200, response.content.decode()
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert response["Cache-Control"] == "no-store"
    return json.loads(response.content)


def audited(verb: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(verb=verb).order_by("pk"))


def answers_texted() -> list[str]:
    return [
        n.text
        for n in Notification.objects.filter(purpose="privacy_answer").order_by("pk")
        if n.recipient == E164
    ]


# --- Download my data ---------------------------------------------------------------------


def test_the_file_holds_exactly_this_visitors_data_and_nobody_elses(
    in_alpha: Building, beta: Building
) -> None:
    # Given: a visitor with a visit, its pass and a passage at a gate, a text to them and one
    # to their host; another visitor of the same building; the same number in another building.
    visitor = make_visitor()
    host = make_host()
    visit = make_visit(visitor=visitor, host=host)
    visit.purpose = "面试"
    visit.answers = {"privacy_consent": {"agreed": True, "consent_version": 2}, "car": "沪A1"}
    visit.save(update_fields=["purpose", "answers"])
    pass_record = make_pass(visit)
    gate = make_gate()
    decide_scan(gate=gate, token=slip_token(pass_record), direction="in")
    send_notification(
        SYSTEM,
        channel="sms",
        to=MOBILE,
        purpose="pass_link",
        text="通行证 https://x.example/p/1",
        visit=visit,
    )
    send_notification(
        SYSTEM, channel="sms", to=host.mobile, purpose="arrival", text="访客已到", visit=visit
    )
    other = make_visit(visitor=make_visitor(name="李四", mobile=OTHER_MOBILE, id_number=""))
    with schema_context("beta"):
        make_visit(visitor=make_visitor(name="王五"))
    connection.set_tenant(in_alpha)

    # When: the visitor signs in and downloads their data.
    data = download(signed_in(phone()))

    # Then: their record, their visit and its pass, passage, text and consent; nobody else's.
    assert data["visitor_records"] == [
        {
            "name": "韩梅梅",
            "mobile": "138 0000 0001",
            "document_type": "Resident identity card",
            "document_number": "1101**********002X",
            "date_of_birth": "1949-12-31",
            "nationality": "",
            "photo_on_file": False,
            "wechat_linked": False,
            "registered_at": data["visitor_records"][0]["registered_at"],
        }
    ]
    assert "11010519491231002X" not in json.dumps(data, ensure_ascii=False)
    assert [row["id"] for row in data["visits"]] == [visit.pk]
    assert other.pk not in [row["id"] for row in data["visits"]]
    row = data["visits"][0]
    assert (row["company"], row["host"], row["purpose"], row["status"]) == (
        host.company.name,
        "李*",
        "面试",
        "checked_in",
    )
    assert row["answers"] == {"car": "沪A1"}
    assert [(p["visit"], p["entries_allowed"], p["entries_used"]) for p in data["passes"]] == [
        (visit.pk, pass_record.max_uses, 1)
    ]
    assert [
        (g["gate"], g["direction"], g["granted"], g["reason"]) for g in data["gate_passages"]
    ] == [("A1 闸机", "in", True, "granted")]
    assert [(m["purpose"], m["text"]) for m in data["messages"]] == [
        ("Pass link to a visitor", "通行证 [link]")
    ]
    assert data["consents"] == [
        {"visit": visit.pk, "what": "privacy_consent", "agreed": True, "text_version": 2}
    ]
    assert "王五" not in json.dumps(data, ensure_ascii=False)
    assert "李四" not in json.dumps(data, ensure_ascii=False)
    assert data["requests"] == []


def test_who_approved_is_named_by_role_never_by_person(in_alpha: Building, alpha: Building) -> None:
    visit = make_visit(status="pending_approval")
    admin = admin_of(alpha)
    Visit.objects.filter(pk=visit.pk).update(approved_by=admin, status="approved")

    data = download(signed_in(phone()))

    assert data["visits"][0]["approved_by"] == "Property admin"
    assert admin.email not in json.dumps(data, ensure_ascii=False)


def test_the_download_is_audited_with_counts_and_nothing_personal(in_alpha: Building) -> None:
    make_visit()

    download(signed_in(phone()))

    [entry] = audited("visitor.data_downloaded")
    assert entry.detail == {
        "rows": {
            "visitor_records": 1,
            "visits": 1,
            "passes": 0,
            "gate_passages": 0,
            "messages": 0,
            "consents": 0,
            "requests": 0,
        }
    }
    assert entry.actor_label == "visitor"


def test_without_a_sign_in_the_download_is_refused(in_alpha: Building) -> None:
    make_visit()

    response = phone().post("/me/data/")

    assert response.status_code == 403
    assert 'id="sign-in"' in response.content.decode()
    assert audited("visitor.data_downloaded") == []


def test_the_download_is_a_post_protected_against_forgery(in_alpha: Building) -> None:
    make_visit()
    client = signed_in(phone())
    client.handler.enforce_csrf_checks = True

    by_get = client.get("/me/data/")
    forged = client.post("/me/data/")

    assert by_get.status_code == 405
    assert forged.status_code == 403
    assert audited("visitor.data_downloaded") == []


def test_downloads_are_rate_limited_like_the_other_visitor_actions(
    in_alpha: Building, settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "visitor_rights": (2, 300, 3600)}
    client = signed_in(phone())

    statuses = [client.post("/me/data/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert len(audited("visitor.data_downloaded")) == 2


def test_a_session_written_for_another_mobile_opens_nothing(in_alpha: Building) -> None:
    make_visit()
    client = signed_in_as_the_other(phone())
    session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    session[SESSION_KEY] = {**session[SESSION_KEY], "mobile": INDEX}  # the proof no longer fits
    session.save()

    response = client.post("/me/data/")
    asked = client.post("/me/deletion/", {"confirm": "yes"})

    assert (response.status_code, asked.status_code) == (403, 403)
    assert PrivacyRequest.objects.count() == 0


def test_another_visitors_session_downloads_their_own_data_only(in_alpha: Building) -> None:
    make_visit()
    make_visit(visitor=make_visitor(name="李四", mobile=OTHER_MOBILE, id_number=""))

    data = download(signed_in_as_the_other(phone()))

    assert [row["name"] for row in data["visitor_records"]] == ["李四"]


# --- Asking for deletion ------------------------------------------------------------------


def test_asking_for_deletion_makes_one_request_due_in_fifteen_days(in_alpha: Building) -> None:
    make_visit()
    client = signed_in(phone())

    response = client.post("/me/deletion/", {"confirm": "yes"})

    assert (response.status_code, response["Location"]) == (302, "/me/")
    [request] = PrivacyRequest.objects.all()
    assert (request.kind, request.status, request.mobile_index) == ("deletion", "open", INDEX)
    assert request.due_at - request.created_at == timedelta(days=15)
    assert E164 not in str(PrivacyRequest.objects.values().get())
    [entry] = audited("privacy_request.received")
    assert entry.detail["kind"] == "deletion"
    page = client.get("/me/").content.decode()
    assert 'data-status="open"' in page
    assert "The property office answers by" in page
    assert 'id="ask-deletion"' not in page


def test_asking_twice_or_double_submitting_makes_one_request(in_alpha: Building) -> None:
    make_visit()
    client = signed_in(phone())

    first = client.post("/me/deletion/", {"confirm": "yes"})
    second = client.post("/me/deletion/", {"confirm": "yes"})

    assert (first.status_code, second.status_code) == (302, 302)
    assert PrivacyRequest.objects.count() == 1
    assert len(audited("privacy_request.received")) == 1


def test_the_action_returns_the_waiting_request_when_asked_again(in_alpha: Building) -> None:
    first, created = ask_for_deletion(SYSTEM, INDEX)
    again, created_again = ask_for_deletion(SYSTEM, INDEX)

    assert (created, created_again, again.pk) == (True, False, first.pk)


def test_the_database_holds_one_open_request_per_mobile_even_for_two_taps_at_once(
    in_alpha: Building,
) -> None:
    ask_for_deletion(SYSTEM, INDEX)

    with pytest.raises(IntegrityError), transaction.atomic():
        PrivacyRequest.objects.create(
            kind="deletion", mobile_index=INDEX, due_at=timezone.now() + timedelta(days=15)
        )

    assert PrivacyRequest.objects.count() == 1


@pytest.mark.parametrize(
    "post",
    [{}, {"confirm": "no"}, {"confirm": "yes" * 5000}, {"confirm": ["yes", "no"]}],
    ids=["missing", "declined", "oversized", "repeated"],
)
def test_asking_without_a_plain_confirmation_changes_nothing(
    in_alpha: Building, post: dict[str, Any]
) -> None:
    make_visit()
    client = signed_in(phone())

    response = client.post("/me/deletion/", post)

    assert response.status_code == 400
    assert "Tick the box to confirm" in response.content.decode()
    assert PrivacyRequest.objects.count() == 0


def test_asking_without_a_sign_in_or_csrf_token_changes_nothing(in_alpha: Building) -> None:
    make_visit()
    forged = signed_in(phone())
    forged.handler.enforce_csrf_checks = True

    anonymous = phone().post("/me/deletion/", {"confirm": "yes"})
    without_token = forged.post("/me/deletion/", {"confirm": "yes"})

    assert (anonymous.status_code, without_token.status_code) == (403, 403)
    assert PrivacyRequest.objects.count() == 0


# --- The property office's page -----------------------------------------------------------


def test_property_admins_see_open_requests_by_due_date_with_overdue_ones_marked(
    alpha: Building,
) -> None:
    with schema_context("alpha"):
        later, _created = ask_for_deletion(SYSTEM, "b" * 64)
        overdue, _created = ask_for_deletion(SYSTEM, "a" * 64)
        PrivacyRequest.objects.filter(pk=overdue.pk).update(
            due_at=timezone.now() - timedelta(days=1)
        )

    page = client_for(alpha, admin_of(alpha)).get("/privacy-requests/").content.decode()

    rows = page.split('data-request="')[1:]
    assert [int(row.split('"')[0]) for row in rows] == [overdue.pk, later.pk]
    assert 'data-overdue="yes"' in rows[0] and 'data-overdue="yes"' not in rows[1]
    assert "还剩 15 天" in rows[1]


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.SECURITY, Role.COMPANY_ADMIN, Role.HOST])
def test_other_roles_are_refused_the_requests_and_change_nothing(
    alpha: Building, role: str
) -> None:
    with schema_context("alpha"):
        request, _created = ask_for_deletion(SYSTEM, INDEX)
        company = make_host().company if role in (Role.COMPANY_ADMIN, Role.HOST) else None
    client = client_for(alpha, member(alpha, f"{role}@alpha.example", role, company))

    responses = [
        client.get("/privacy-requests/"),
        client.get(f"/privacy-requests/{request.pk}/"),
        client.post(f"/privacy-requests/{request.pk}/carry-out/"),
        client.post(f"/privacy-requests/{request.pk}/refuse/", {"reason": "不予受理"}),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403, 403]
    with schema_context("alpha"):
        request.refresh_from_db()
        assert request.status == "open"


def test_another_buildings_admin_does_not_see_the_request(alpha: Building, beta: Building) -> None:
    with schema_context("alpha"):
        request, _created = ask_for_deletion(SYSTEM, INDEX)
    client = client_for(beta, admin_of(beta))

    listed = client.get("/privacy-requests/").content.decode()
    opened = client.get(f"/privacy-requests/{request.pk}/")
    carried = client.post(f"/privacy-requests/{request.pk}/carry-out/")

    assert 'id="no-open-requests"' in listed
    assert (opened.status_code, carried.status_code) == (404, 404)
    with schema_context("alpha"):
        request.refresh_from_db()
        assert request.status == "open"


def test_opening_a_request_shows_what_is_held_masked_and_is_audited(alpha: Building) -> None:
    with schema_context("alpha"):
        make_visit()
        request, _created = ask_for_deletion(SYSTEM, INDEX)

    page = client_for(alpha, admin_of(alpha)).get(f"/privacy-requests/{request.pk}/")

    body = page.content.decode()
    assert "韩*" in body and "韩梅梅" not in body
    assert "138****0001" in body.replace(" ", "")
    with schema_context("alpha"):
        [entry] = audited("privacy_request.viewed")
        assert entry.detail == {"visitors": 1}


# --- Refusing -----------------------------------------------------------------------------


def test_a_refusal_with_its_reason_is_answered_on_my_visits_and_by_text(
    in_alpha: Building, alpha: Building
) -> None:
    make_visit(starts=timezone.now() - timedelta(days=3))
    visitor_phone = signed_in(phone())
    visitor_phone.post("/me/deletion/", {"confirm": "yes"})
    request = PrivacyRequest.objects.get()
    admin = client_for(alpha, admin_of(alpha))
    admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = admin.post(f"/privacy-requests/{request.pk}/refuse/", {"reason": "  案件调查中  "})

    assert response.status_code == 302
    connection.set_tenant(alpha)
    request.refresh_from_db()
    assert (request.status, request.handled_by) == ("refused", admin_of(alpha))
    assert request.answer == "您的请求未被执行：案件调查中"
    assert answers_texted() == [
        f"【{alpha.name}】您删除个人信息的请求已答复：{request.answer} 登录“我的访问”可再次查看。"
    ]
    [entry] = audited("privacy_request.refused")
    assert entry.detail == {"kind": "deletion", "reason": "案件调查中"}
    page = visitor_phone.get("/me/").content.decode()
    assert 'data-status="refused"' in page and "案件调查中" in page
    assert 'id="ask-deletion"' in page  # they may ask again


@pytest.mark.parametrize("reason", ["", "   ", "很长" * 300], ids=["empty", "blank", "oversized"])
def test_a_refusal_without_a_fitting_reason_changes_nothing(alpha: Building, reason: str) -> None:
    with schema_context("alpha"):
        request, _created = ask_for_deletion(SYSTEM, INDEX)

    response = client_for(alpha, admin_of(alpha)).post(
        f"/privacy-requests/{request.pk}/refuse/", {"reason": reason}
    )

    assert response.status_code == 400
    with schema_context("alpha"):
        request.refresh_from_db()
        assert (request.status, request.answer) == ("open", "")
        assert audited("privacy_request.refused") == []


def test_staff_posts_for_unknown_or_malformed_requests_are_not_found(alpha: Building) -> None:
    client = client_for(alpha, admin_of(alpha))

    assert client.post("/privacy-requests/999999/carry-out/").status_code == 404
    assert client.post("/privacy-requests/x/carry-out/").status_code == 404
    assert client.get("/privacy-requests/1/carry-out/").status_code == 405


# --- Carrying out -------------------------------------------------------------------------


def ask_and_carry_out(alpha: Building) -> tuple[Client, PrivacyRequest, Any]:
    """The visitor asks on My visits; a property admin carries the request out."""
    visitor_phone = signed_in(phone())
    assert visitor_phone.post("/me/deletion/", {"confirm": "yes"}).status_code == 302
    request = PrivacyRequest.objects.get()
    response = client_for(alpha, admin_of(alpha)).post(f"/privacy-requests/{request.pk}/carry-out/")
    connection.set_tenant(alpha)
    request.refresh_from_db()
    return visitor_phone, request, response


def test_carrying_out_erases_the_visitors_name_mobile_and_id_and_answers_so(
    in_alpha: Building, alpha: Building
) -> None:
    # Given: a visitor whose visit ended three days ago asks for deletion.
    visitor = make_visitor()
    visit = make_visit(visitor=visitor, starts=timezone.now() - timedelta(days=3))

    # When: a property admin carries the request out.
    visitor_phone, request, response = ask_and_carry_out(alpha)

    # Then: the name, mobile and ID number are gone, and the answer says what was deleted.
    assert (response.status_code, response["Location"]) == (
        302,
        f"/privacy-requests/{request.pk}/",
    )
    visitor.refresh_from_db()
    assert (visitor.name, visitor.mobile, visitor.mobile_index) == ("", "", "")
    assert (visitor.id_number, visitor.id_number_index, visitor.id_number_masked) == ("", "", "")
    assert visitor.anonymised_at is not None
    assert Visit.objects.get(pk=visit.pk).visitor_id == visitor.pk  # the visit stays, counted
    assert (request.status, request.handled_by) == ("done", admin_of(alpha))
    assert (
        request.answer
        == "已删除：证件号码、照片和人脸比对、姓名和手机号、通行记录中的个人关联、消息。"
    )
    assert "保留" not in request.answer
    assert answers_texted() == [
        f"【{alpha.name}】您删除个人信息的请求已答复：{request.answer} 登录“我的访问”可再次查看。"
    ]
    [entry] = audited("privacy_request.carried_out")
    assert entry.detail == {
        "kind": "deletion",
        "visitors": [visitor.pk],
        "kept": [],
        "watchlist_entries": [],
    }
    assert [e.detail["reason"] for e in audited("visitor.erased")] == [
        f"访客的个人信息请求 {request.pk}"
    ]
    # The visitor reads the answer on My visits; their data is gone from the file.
    page = visitor_phone.get("/me/").content.decode()
    assert 'data-status="done"' in page and request.answer in page
    assert download(visitor_phone)["visitor_records"] == []


def test_with_an_enforced_watchlist_entry_the_answer_says_what_is_kept_and_why(
    in_alpha: Building, alpha: Building
) -> None:
    # Given: a visitor whose ID number an enforced watchlist entry names.
    visitor = make_visitor()
    make_visit(visitor=visitor, starts=timezone.now() - timedelta(days=3))
    entry = add_to_watchlist(
        SYSTEM, reason="盗窃", id_type="resident_id", id_number=VALID_RESIDENT_ID
    )

    # When: their deletion request is carried out.
    _phone, request, _response = ask_and_carry_out(alpha)

    # Then: the entry's identity is kept, and the answer names it and its legal basis.
    visitor.refresh_from_db()
    assert (visitor.name, visitor.id_number_index != "") == ("韩梅梅", True)
    assert request.answer == (
        "已删除：照片和人脸比对、通行记录中的个人关联、消息。"
        "保留：证件号码、姓名和手机号，因为本楼宇一条生效的黑名单条目涉及您。"
        "法律依据：《个人信息保护法》第十三条第一款第（三）项，物业履行内部治安保卫的法定义务所必需。"
        "仅在该条目生效期间保留，不作他用。"
    )
    [audit] = audited("privacy_request.carried_out")
    assert audit.detail["kept"] == ["id_numbers", "names"]
    assert audit.detail["watchlist_entries"] == [entry.pk]


def test_carrying_out_twice_answers_once(in_alpha: Building, alpha: Building) -> None:
    make_visit(starts=timezone.now() - timedelta(days=3))
    _phone, request, _response = ask_and_carry_out(alpha)

    replayed = client_for(alpha, admin_of(alpha)).post(f"/privacy-requests/{request.pk}/carry-out/")

    assert replayed.status_code == 409
    connection.set_tenant(alpha)
    assert len(answers_texted()) == 1
    assert len(audited("privacy_request.carried_out")) == 1


def test_carrying_out_needs_a_csrf_token(in_alpha: Building, alpha: Building) -> None:
    make_visit(starts=timezone.now() - timedelta(days=3))
    request, _created = ask_for_deletion(SYSTEM, INDEX)
    admin = client_for(alpha, admin_of(alpha))
    admin.handler.enforce_csrf_checks = True

    response = admin.post(f"/privacy-requests/{request.pk}/carry-out/")

    assert response.status_code == 403
    connection.set_tenant(alpha)
    request.refresh_from_db()
    assert request.status == "open"
    assert Visitor.objects.get().name == "韩梅梅"


# --- Inside WeChat ------------------------------------------------------------------------


def test_inside_wechat_the_linked_visitor_downloads_asks_and_loses_the_link_on_deletion(
    in_alpha: Building, alpha: Building, wechat_office: WeChatOffice
) -> None:
    # Given: a visitor who linked their WeChat, opening My visits from the Official Account.
    make_visit(starts=timezone.now() - timedelta(days=3))
    user = wechat_office.user()
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))
    client = in_wechat(wechat_office, user.openid, "/me/")

    # When: they download their data and ask for deletion there, and it is carried out.
    data = download(client)
    asked = client.post("/me/deletion/", {"confirm": "yes"})
    request = PrivacyRequest.objects.get()
    client_for(alpha, admin_of(alpha)).post(f"/privacy-requests/{request.pk}/carry-out/")
    connection.set_tenant(alpha)

    # Then: the file says the WeChat is linked; the deletion took the link with it.
    assert [record["wechat_linked"] for record in data["visitor_records"]] == [True]
    assert asked.status_code == 302
    assert request.mobile_index == INDEX
    assert WeChatLink.objects.count() == 0
    assert Visitor.objects.get().wechat_openid == ""
