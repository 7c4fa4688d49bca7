"""The visitor's own pages ("My visits"): a one-time SMS code signs them in to this building
for a short while; they see the visits of their number, cancel a request still waiting, and
open an approved visit's pass."""

from __future__ import annotations

import importlib
import json
import re
import time
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils import timezone

from kernel.privacy import blind_index
from tenants.actions import building_domain
from tenants.models import Building
from tests.access.conftest import SYSTEM, make_host, make_pass, make_visit, make_visitor
from visit_platform.access.models import Pass
from visit_platform.audit.models import AuditEntry
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import MOBILE_INDEX, Visit, Visitor
from visit_platform.visits.visitor_session import SESSION_KEY
from workflows.actions import CODE_ATTEMPTS, send_decision_link, withdraw_request
from workflows.models import ActionLink, OneTimeCode

MOBILE = "13800000001"  # make_visitor()'s number
E164 = "+8613800000001"
OTHER_MOBILE = "13700000002"


def phone(schema: str = "alpha", language: str = "en") -> Client:
    client = Client(HTTP_HOST=building_domain(schema))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def texted_code(mobile: str = E164) -> str:
    """The code in the latest SMS to ``mobile``, as the visitor reads it."""
    texts = [
        n.text
        for n in Notification.objects.filter(purpose="one_time_code").order_by("-id")
        if n.recipient == mobile
    ]
    assert texts, "no code was texted"
    match = re.search(r"\b(\d{6})\b", texts[0])
    assert match is not None, texts[0]
    return match.group(1)


def ask_for_code(client: Client, mobile: str = MOBILE) -> None:
    response = client.post("/me/code/", {"mobile": mobile})
    assert response.status_code == 200, response.content.decode()
    assert 'data-step="code"' in response.content.decode()


def signed_in(client: Client, mobile: str = MOBILE) -> Client:
    ask_for_code(client, mobile)
    response = client.post("/me/sign-in/", {"mobile": mobile, "code": texted_code()})
    assert (response.status_code, response["Location"]) == (302, "/me/")
    return client


def shown_visit_ids(response: object) -> list[int]:
    body = response.content.decode()  # type: ignore[attr-defined]
    return [int(pk) for pk in re.findall(r'data-visit="(\d+)"', body)]


def is_sign_in_page(response: object) -> bool:
    return 'id="sign-in"' in response.content.decode()  # type: ignore[attr-defined]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- Signing in -------------------------------------------------------------------------------


def test_a_visitor_signs_in_with_the_texted_code_and_sees_their_visit(
    in_alpha: Building,
) -> None:
    host = make_host()
    visit = make_visit(host=host, status="pending_approval")
    client = phone()

    first = client.get("/me/")
    assert is_sign_in_page(first)
    assert first["Cache-Control"] == "no-store"
    signed_in(client)
    page = client.get("/me/")

    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert shown_visit_ids(page) == [visit.pk]
    body = page.content.decode()
    assert 'data-state="waiting"' in body
    assert "Waiting for approval" in body
    assert host.company.name in body
    assert "李*" in body and "李雷" not in body  # the host's name, masked
    assert 'data-action="cancel"' in body
    assert 'data-action="pass"' not in body


def test_the_session_holds_a_keyed_hash_of_the_number_never_the_number(
    in_alpha: Building,
) -> None:
    client = signed_in(phone())

    session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    stored = json.dumps(session.load())

    assert session[SESSION_KEY]["mobile"] == blind_index(E164, MOBILE_INDEX)
    assert session[SESSION_KEY]["schema"] == "alpha"
    assert "13800000001" not in stored
    assert "00000001" not in stored


def test_signing_in_gives_a_new_session_key(in_alpha: Building) -> None:
    planted = SessionStore()
    planted["planted"] = True
    planted.save()
    client = phone()
    client.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    ask_for_code(client)

    client.post("/me/sign-in/", {"mobile": MOBILE, "code": texted_code()})

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted.session_key
    assert SESSION_KEY not in SessionStore(session_key=planted.session_key).load()


def test_a_wrong_code_says_so_and_signs_nobody_in(in_alpha: Building) -> None:
    make_visit(status="pending_approval")
    client = phone()
    ask_for_code(client)

    response = client.post("/me/sign-in/", {"mobile": MOBILE, "code": wrong(texted_code())})

    assert response.status_code == 400
    assert "The code is not right." in response.content.decode()
    assert shown_visit_ids(client.get("/me/")) == []
    assert is_sign_in_page(client.get("/me/"))


def test_an_expired_code_says_so(in_alpha: Building) -> None:
    client = phone()
    ask_for_code(client)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post("/me/sign-in/", {"mobile": MOBILE, "code": texted_code()})

    assert response.status_code == 400
    assert "The code has expired; ask for a new one." in response.content.decode()
    assert is_sign_in_page(client.get("/me/"))


def test_a_code_used_once_does_not_sign_in_again(in_alpha: Building) -> None:
    make_visit(status="pending_approval")
    first = signed_in(phone())
    first.post("/me/sign-out/")
    second = phone()

    response = second.post("/me/sign-in/", {"mobile": MOBILE, "code": texted_code()})

    assert response.status_code == 400
    assert "The code has expired" in response.content.decode()
    assert shown_visit_ids(second.get("/me/")) == []
    assert is_sign_in_page(first.get("/me/"))


def test_after_too_many_wrong_codes_even_the_right_one_is_refused(in_alpha: Building) -> None:
    make_visit(status="pending_approval")
    client = phone()
    ask_for_code(client)
    code = texted_code()
    for _guess in range(CODE_ATTEMPTS):
        client.post("/me/sign-in/", {"mobile": MOBILE, "code": wrong(code)})

    response = client.post("/me/sign-in/", {"mobile": MOBILE, "code": code})

    assert response.status_code == 400
    assert "Too many wrong codes; ask for a new one." in response.content.decode()
    assert shown_visit_ids(client.get("/me/")) == []


def test_a_code_sent_to_one_number_does_not_open_another(in_alpha: Building) -> None:
    make_visit(visitor=make_visitor(name="李四", mobile=OTHER_MOBILE, id_number=""))
    client = phone()
    ask_for_code(client, MOBILE)

    response = client.post("/me/sign-in/", {"mobile": OTHER_MOBILE, "code": texted_code()})

    assert response.status_code == 400
    assert "The code has expired" in response.content.decode()
    assert shown_visit_ids(client.get("/me/")) == []
    assert OneTimeCode.objects.get().used_at is None  # the code for MOBILE is still unspent


@pytest.mark.parametrize(
    "mobile", ["", "12345", "1" * 33, "1" * 100_000, "<script>alert(1)</script>", "１３８"]
)
def test_what_is_not_a_mobile_number_gets_a_message_and_no_code(
    in_alpha: Building, mobile: str
) -> None:
    response = phone().post("/me/code/", {"mobile": mobile})

    assert response.status_code == 400
    assert "Enter a valid mobile number." in response.content.decode()
    assert "<script>alert" not in response.content.decode()
    assert OneTimeCode.objects.count() == Notification.objects.count() == 0


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "9" * 10_000, "12 345"])
def test_a_malformed_code_is_refused_without_spending_a_try(in_alpha: Building, code: str) -> None:
    client = phone()
    ask_for_code(client)

    response = client.post("/me/sign-in/", {"mobile": MOBILE, "code": code})

    assert response.status_code == 400
    assert "Enter the 6 digits of the code." in response.content.decode()
    assert OneTimeCode.objects.get().attempts == 0


def test_a_forged_mobile_in_the_code_step_is_refused(in_alpha: Building) -> None:
    client = phone()
    ask_for_code(client)

    response = client.post("/me/sign-in/", {"mobile": "x" * 5000, "code": texted_code()})

    assert response.status_code == 400
    assert "Enter a valid mobile number." in response.content.decode()
    assert OneTimeCode.objects.get().used_at is None


def test_asking_again_within_a_minute_shows_the_code_step_with_the_reason(
    in_alpha: Building,
) -> None:
    client = phone()
    ask_for_code(client)

    response = client.post("/me/code/", {"mobile": MOBILE})

    assert response.status_code == 429
    body = response.content.decode()
    assert "A code was sent less than a minute ago; wait a little." in body
    assert 'data-step="code"' in body
    assert Notification.objects.count() == 1


def test_too_many_codes_in_an_hour_says_so(in_alpha: Building) -> None:
    client = phone()
    for _code in range(5):
        ask_for_code(client)
        OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    response = client.post("/me/code/", {"mobile": MOBILE})

    assert response.status_code == 429
    assert "Too many codes for this number; try again later." in response.content.decode()
    assert Notification.objects.count() == 5


def test_only_post_sends_codes(in_alpha: Building) -> None:
    response = phone().get("/me/code/", {"mobile": MOBILE})

    assert response.status_code == 405
    assert OneTimeCode.objects.count() == 0


# --- The session: short, for this building, not forgeable --------------------------------------


def _session_of(client: Client) -> SessionStore:
    return SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_a_session_from_another_building_shows_and_changes_nothing_there(
    in_alpha: Building, beta: Building
) -> None:
    client = signed_in(phone("alpha"))
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    from django.db import connection

    connection.set_tenant(beta)
    waiting_in_beta = make_visit(status="pending_approval")  # the same number, in beta
    in_beta = phone("beta")
    in_beta.cookies[settings.SESSION_COOKIE_NAME] = session_cookie

    page = in_beta.get("/me/")
    cancel = in_beta.post(f"/me/visits/{waiting_in_beta.pk}/cancel/")
    opened = in_beta.post(f"/me/visits/{waiting_in_beta.pk}/pass/")

    assert is_sign_in_page(page)
    assert shown_visit_ids(page) == []
    assert cancel.status_code == opened.status_code == 403
    assert "Your sign-in has ended; sign in again. Nothing was changed." in (
        cancel.content.decode()
    )
    connection.set_tenant(beta)
    waiting_in_beta.refresh_from_db()
    assert waiting_in_beta.status == "pending_approval"


@pytest.mark.parametrize(
    "change",
    [
        {"mobile": blind_index("+8613700000002", MOBILE_INDEX)},  # someone else's number
        {"until": int(time.time()) + 10 * 3600},  # a longer sign-in
        {"schema": "beta"},
        {"proof": "0" * 64},
        {"until": "forever"},
        {"mobile": None},
    ],
)
def test_session_data_not_written_by_the_sign_in_opens_nothing(
    in_alpha: Building, change: dict[str, object]
) -> None:
    make_visit(visitor=make_visitor(name="李四", mobile=OTHER_MOBILE, id_number=""))
    make_visit(status="pending_approval")
    client = signed_in(phone())
    session = _session_of(client)
    session[SESSION_KEY] = {**session[SESSION_KEY], **change}
    session.save()

    page = client.get("/me/")

    assert is_sign_in_page(page)
    assert shown_visit_ids(page) == []


def test_a_made_up_session_cookie_opens_nothing(in_alpha: Building) -> None:
    make_visit(status="pending_approval")
    client = phone()
    client.cookies[settings.SESSION_COOKIE_NAME] = "forged0000000000000000000000000000"

    page = client.get("/me/")

    assert is_sign_in_page(page)
    assert shown_visit_ids(page) == []


def test_a_sign_in_ends_after_thirty_minutes(in_alpha: Building) -> None:
    make_visit(status="pending_approval")
    client = signed_in(phone())
    session = _session_of(client)
    data = session[SESSION_KEY]
    # Rewritten as the sign-in would have written it 31 minutes ago (proof included).
    from visit_platform.visits.visitor_session import _proof

    until = int(time.time()) - 60
    session[SESSION_KEY] = {**data, "until": until, "proof": _proof("alpha", data["mobile"], until)}
    session.save()

    assert is_sign_in_page(client.get("/me/"))


def test_signing_out_ends_the_sign_in(in_alpha: Building) -> None:
    make_visit(status="pending_approval")
    client = signed_in(phone())

    response = client.post("/me/sign-out/")

    assert response.status_code == 302
    assert is_sign_in_page(client.get("/me/"))


# --- What is shown --------------------------------------------------------------------------


def test_only_visits_of_the_visitors_own_number_are_shown(in_alpha: Building) -> None:
    mine = make_visit(status="pending_approval")
    also_mine = make_visit(
        visitor=make_visitor(name="韩梅梅", mobile="+86 138-0000-0001", id_number=""),
        status="approved",
    )
    make_visit(visitor=make_visitor(name="李四", mobile=OTHER_MOBILE, id_number=""))
    make_visit(visitor=make_visitor(name="王五", mobile="", id_number=""))

    page = signed_in(phone()).get("/me/")

    assert sorted(shown_visit_ids(page)) == sorted([mine.pk, also_mine.pk])
    assert "李四" not in page.content.decode()


def test_states_read_as_the_visitor_understands_them(in_alpha: Building) -> None:
    now = timezone.now()
    approved = make_visit(status="approved")
    make_pass(approved)
    refused = make_visit(status="rejected", starts=now - timedelta(days=1))
    Visit.objects.filter(pk=refused.pk).update(decision_reason="会议取消")
    ended = make_visit(status="approved", starts=now - timedelta(days=2), hours=2)
    inside = make_visit(status="checked_in")
    left = make_visit(status="checked_out", starts=now - timedelta(days=3), hours=2)
    old = make_visit(status="approved", starts=now - timedelta(days=200), hours=2)

    page = signed_in(phone()).get("/me/")

    body = page.content.decode()
    states = dict(re.findall(r'data-visit="(\d+)" data-state="(\w+)"', body))
    assert states == {
        str(approved.pk): "approved",
        str(refused.pk): "refused",
        str(ended.pk): "expired",
        str(inside.pk): "inside",
        str(left.pk): "left",
    }
    assert str(old.pk) not in states
    assert "会议取消" in body
    assert body.count('data-action="pass"') == 1


def test_the_page_speaks_chinese_by_default_and_english_when_chosen(in_alpha: Building) -> None:
    chinese = Client(HTTP_HOST=building_domain("alpha")).get("/me/")
    english = phone().get("/me/")

    assert '<html lang="zh-hans">' in chinese.content.decode()
    assert '<html lang="en">' in english.content.decode()
    assert "Send me a code" in english.content.decode()


def test_viewing_my_visits_writes_no_personal_data_to_the_audit_log(in_alpha: Building) -> None:
    make_visit(status="pending_approval")
    client = signed_in(phone())
    before = AuditEntry.objects.count()

    client.get("/me/")

    written = AuditEntry.objects.order_by("id")[before:]
    assert [entry.verb for entry in written] == ["visitor.visits_viewed"]
    text = json.dumps(
        [[e.object_repr, e.detail, e.actor_label] for e in written], ensure_ascii=False
    )
    for personal in ("13800000001", "00000001", "韩梅梅", "李雷", E164):
        assert personal not in text


# --- Cancelling -------------------------------------------------------------------------------


def test_a_waiting_request_is_cancelled_and_the_hosts_link_closes(in_alpha: Building) -> None:
    visit = make_visit(status="pending_approval")
    issued = send_decision_link(SYSTEM, visit)
    client = signed_in(phone())

    response = client.post(f"/me/visits/{visit.pk}/cancel/")

    assert (response.status_code, response["Location"]) == (302, "/me/")
    visit.refresh_from_db()
    assert visit.status == "cancelled"
    assert AuditEntry.objects.filter(verb="visit.cancelled", object_id=str(visit.pk)).exists()
    assert ActionLink.objects.get(visit=visit).used_at is not None
    host_page = phone().get(f"/a/{issued.code}/")
    assert host_page.status_code == 410
    assert "The visitor withdrew this request." in host_page.content.decode()
    after = client.get("/me/")
    assert 'data-state="cancelled"' in after.content.decode()
    assert "Your request was cancelled." in after.content.decode()


def test_cancelling_a_request_on_its_flow_cancels_the_approval_task(in_alpha: Building) -> None:
    from visit_platform.visits.actions import create_visit
    from workflows.actions import open_tasks_of, start_visit_flow

    start = timezone.now() + timedelta(hours=1)
    visit = create_visit(
        SYSTEM,
        scenario="request",
        visitor=make_visitor(),
        host=make_host(),
        valid_from=start,
        valid_until=start + timedelta(hours=2),
    )
    start_visit_flow(SYSTEM, visit)
    assert open_tasks_of(visit).exists()  # the host's approval waits
    assert ActionLink.objects.filter(visit=visit, used_at__isnull=True).exists()
    client = signed_in(phone())

    response = client.post(f"/me/visits/{visit.pk}/cancel/")

    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "cancelled"
    assert not open_tasks_of(visit).exists()
    assert not ActionLink.objects.filter(visit=visit, used_at__isnull=True).exists()


def test_another_visitors_visit_cannot_be_cancelled(in_alpha: Building) -> None:
    theirs = make_visit(
        visitor=make_visitor(name="李四", mobile=OTHER_MOBILE, id_number=""),
        status="pending_approval",
    )
    make_visit(status="pending_approval")
    client = signed_in(phone())

    response = client.post(f"/me/visits/{theirs.pk}/cancel/")
    missing = client.post("/me/visits/999999999/cancel/")

    assert response.status_code == missing.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending_approval"
    assert not AuditEntry.objects.filter(verb="visit.cancelled").exists()


def test_a_visit_decided_meanwhile_is_not_cancelled_and_the_visitor_is_told(
    in_alpha: Building,
) -> None:
    visit = make_visit(status="pending_approval")
    client = signed_in(phone())
    Visit.objects.filter(pk=visit.pk).update(status="approved")  # the host was quicker

    response = client.post(f"/me/visits/{visit.pk}/cancel/")

    assert response.status_code == 409
    assert "This visit can no longer be cancelled: it is approved." in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert not AuditEntry.objects.filter(verb="visit.cancelled").exists()


def test_cancelling_needs_a_sign_in_and_a_post(in_alpha: Building) -> None:
    visit = make_visit(status="pending_approval")

    anonymous = phone().post(f"/me/visits/{visit.pk}/cancel/")
    fetched = signed_in(phone()).get(f"/me/visits/{visit.pk}/cancel/")

    assert anonymous.status_code == 403
    assert fetched.status_code == 405
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def test_withdrawing_a_request_spends_only_its_own_open_links(in_alpha: Building) -> None:
    visit, other = make_visit(status="pending_approval"), make_visit(status="pending_approval")
    send_decision_link(SYSTEM, visit)
    send_decision_link(SYSTEM, other)

    assert withdraw_request(SYSTEM, visit) == 1

    assert ActionLink.objects.get(visit=visit).used_at is not None
    assert ActionLink.objects.get(visit=other).used_at is None
    assert withdraw_request(SYSTEM, visit) == 0


# --- The pass -------------------------------------------------------------------------------


def test_an_approved_visit_opens_its_pass_through_a_fresh_link(in_alpha: Building) -> None:
    from visit_platform.access.actions import issue_pass

    visit = make_visit(status="approved")
    old_code = issue_pass(SYSTEM, visit).link_code
    client = signed_in(phone())

    response = client.post(f"/me/visits/{visit.pk}/pass/")

    assert response.status_code == 302
    new_path = response["Location"]
    assert re.fullmatch(r"/p/[\w-]{20,}/", new_path)
    assert client.get(new_path).status_code == 200
    assert phone().get(f"/p/{old_code}/").status_code == 404
    pass_record = Pass.objects.get(visit=visit)
    assert new_path.split("/")[2] not in pass_record.link_hash
    assert AuditEntry.objects.filter(verb="pass.link_renewed").count() == 1


def test_a_visit_without_a_usable_pass_gets_no_link(in_alpha: Building) -> None:
    waiting = make_visit(status="pending_approval")
    revoked = make_visit(status="approved")
    Pass.objects.filter(pk=make_pass(revoked).pk).update(revoked_at=timezone.now())
    client = signed_in(phone())

    for visit in (waiting, revoked):
        response = client.post(f"/me/visits/{visit.pk}/pass/")
        assert response.status_code == 409
        assert "This visit has no pass that can be used." in response.content.decode()
    assert not AuditEntry.objects.filter(verb="pass.link_renewed").exists()


def test_another_visitors_pass_cannot_be_opened(in_alpha: Building) -> None:
    theirs = make_visit(visitor=make_visitor(name="李四", mobile=OTHER_MOBILE, id_number=""))
    make_pass(theirs)
    before = Pass.objects.get(visit=theirs).link_hash

    response = signed_in(phone()).post(f"/me/visits/{theirs.pk}/pass/")

    assert response.status_code == 404
    assert Pass.objects.get(visit=theirs).link_hash == before


# --- Links to the page, and the mobile's blind index ---------------------------------------------


def test_the_sent_page_and_the_pass_page_link_to_my_visits(in_alpha: Building) -> None:
    from visit_platform.access.actions import issue_pass

    code = issue_pass(SYSTEM, make_visit()).link_code

    sent = phone().get("/visit/request/sent/")
    pass_page = phone().get(f"/p/{code}/")

    assert 'href="/me/"' in sent.content.decode()
    assert 'href="/me/"' in pass_page.content.decode()


def test_visitors_known_before_get_their_mobiles_indexed(in_alpha: Building) -> None:
    visitor = make_visitor()
    assert visitor.mobile_index == blind_index(E164, MOBILE_INDEX)
    Visitor.objects.update(mobile_index="")
    migration = importlib.import_module(
        "visit_platform.visits.migrations.0006_visitor_mobile_index"
    )

    migration.index_mobiles(django_apps, None)

    visitor.refresh_from_db()
    assert visitor.mobile_index == blind_index(E164, MOBILE_INDEX)
