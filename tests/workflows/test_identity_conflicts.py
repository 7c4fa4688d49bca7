"""A document number already on file, typed with another name or mobile (ADR 0012): at the desk
reception sees both and decides; on the visitor's own form the visit keeps what was typed.
Either way the pass and the texts go to the mobile that was confirmed, never silently to the
stored one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from forms.actions import publish, save_draft
from forms.queries import current_version
from kernel.errors import ConflictError, DomainError
from kernel.privacy import blind_index
from tenants.models import Building
from tests.conftest import client_for, member
from tests.forms.conftest import building_form, draft_fields, make_host, request_answers
from tests.workflows.test_flows import link_in, open_task, register_walk_in
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.notifications.models import Notification
from visit_platform.visits.actions import register_visitor, settle_identity
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import MOBILE_INDEX, Visit, Visitor
from visit_platform.visits.queries import visits_of_mobile
from workflows.actions import add_to_watchlist
from workflows.models import VisitProcess

SYSTEM = Actor.system("tests")
DOCUMENT = "11010519491231002X"  # the document register_walk_in reads
STORED_MOBILE = "+8613600002222"
TYPED_MOBILE = "+8613500135000"


@pytest.fixture
def desk(alpha: Building, in_alpha: Building) -> Client:
    make_host("13900139000")
    return client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))


@pytest.fixture
def on_file(in_alpha: Building) -> Visitor:
    """赵敏, known by her resident ID and her own mobile."""
    return register_visitor(
        SYSTEM, name="赵敏", mobile=STORED_MOBILE, id_type="resident_id", id_number=DOCUMENT
    )


def walk_in_as_qian(desk: Client) -> Any:
    """Reception types 钱多多 with a new mobile and 赵敏's document number."""
    return register_walk_in(desk, visitor_name="钱多多", visitor_mobile="13500135000")


def settle_at_desk(desk: Client, keep: str) -> tuple[Visit, str]:
    """Register 钱多多 and settle the identity check with ``keep``: (visit, desk check URL)."""
    settled = desk.post(walk_in_as_qian(desk)["Location"], {"keep": keep})
    visit = Visit.objects.get(scenario="walk_in")
    assert settled["Location"] == f"/tasks/{open_task(visit, 'verify').pk}/"
    return visit, settled["Location"]


def text_the_pass(desk: Client, verify_url: str) -> None:
    """Screens 2 and 3: the host agrees, the face matches, the pass link goes by text."""
    checked = desk.post(
        verify_url,
        {
            "host_consent": "yes",
            "identity_check": "eye",
            "checked_by_eye": "on",
        },
    )
    desk.post(checked["Location"], {"how": "sms"})


def sms_to(number: str) -> list[str]:
    """Purposes of the texts sent to ``number`` (recipients are encrypted: compared here)."""
    return [
        note.purpose for note in Notification.objects.order_by("pk") if note.recipient == number
    ]


# --- At the desk (5.2.3) --------------------------------------------------------------------


def test_a_known_document_with_another_name_and_mobile_stops_at_the_identity_check(
    alpha: Building, desk: Client, on_file: Visitor
) -> None:
    registered = walk_in_as_qian(desk)

    visit = Visit.objects.get(scenario="walk_in")
    assert registered["Location"] == f"/reception/visits/{visit.pk}/identity/"
    page = desk.get(registered["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    # What is on file, masked; what was typed, as typed.
    assert "赵*" in html and "136 **** 2222" in html
    assert "钱多多" in html and "135 0013 5000" in html
    assert "赵敏" not in html and "13600002222" not in html
    assert 'data-test="identity-conflict"' in html
    # Nothing went anywhere yet: no flow, no host link, no text to either mobile.
    assert not VisitProcess.objects.filter(visit=visit).exists()
    assert not Notification.objects.exists()
    assert visit.visitor == on_file
    on_file.refresh_from_db()
    assert (on_file.name, on_file.mobile) == ("赵敏", STORED_MOBILE)


def test_reception_updates_the_record_and_the_pass_link_goes_to_the_typed_mobile(
    alpha: Building, desk: Client, on_file: Visitor
) -> None:
    visit, verify_url = settle_at_desk(desk, "typed")

    on_file.refresh_from_db()
    assert (on_file.name, on_file.mobile) == ("钱多多", TYPED_MOBILE)
    assert on_file.mobile_index == blind_index(TYPED_MOBILE, MOBILE_INDEX)
    entry = AuditEntry.objects.get(verb="visitor.identity_updated")
    assert entry.object_id == str(on_file.pk)
    assert entry.detail == {
        "visit": visit.pk,
        "before": {"name": "赵*", "mobile": "+86136****2222"},
        "after": {"name": "钱**", "mobile": "+86135****5000"},
    }
    verify_page = desk.get(verify_url).content.decode()
    # Reception sees the visitor's whole name on its task pages (ADR 0027), the new one.
    assert "钱多多" in verify_page and "赵*" not in verify_page and "赵敏" not in verify_page

    text_the_pass(desk, verify_url)

    assert sms_to(TYPED_MOBILE) == ["pass_link"]
    assert sms_to(STORED_MOBILE) == []
    assert client_for(alpha).get(link_in("pass_link", "/p/")).status_code == 200


def test_reception_keeps_the_details_on_file_and_the_pass_goes_to_the_mobile_on_file(
    alpha: Building, desk: Client, on_file: Visitor
) -> None:
    visit, verify_url = settle_at_desk(desk, "stored")

    on_file.refresh_from_db()
    assert (on_file.name, on_file.mobile) == ("赵敏", STORED_MOBILE)
    assert (visit.contact_name, visit.contact_mobile, visit.visitor_mobile) == (
        "",
        "",
        STORED_MOBILE,
    )
    entry = AuditEntry.objects.get(verb="visit.identity_confirmed")
    assert entry.object_id == str(visit.pk)
    assert entry.detail == {
        "kept": "stored",
        "stored": {"name": "赵*", "mobile": "+86136****2222"},
        "typed": {"name": "钱**", "mobile": "+86135****5000"},
    }
    assert not AuditEntry.objects.filter(verb="visitor.identity_updated").exists()

    text_the_pass(desk, verify_url)

    assert sms_to(STORED_MOBILE) == ["pass_link"]
    assert sms_to(TYPED_MOBILE) == []


def test_an_unknown_choice_is_refused_on_the_page_and_changes_nothing(
    alpha: Building, desk: Client, on_file: Visitor
) -> None:
    identity_url = walk_in_as_qian(desk)["Location"]

    refused = desk.post(identity_url, {"keep": "both"})

    visit = Visit.objects.get(scenario="walk_in")
    assert refused.status_code == 400
    assert 'data-code="identity_choice_invalid"' in refused.content.decode()
    assert visit.has_identity_conflict
    assert not VisitProcess.objects.filter(visit=visit).exists()
    assert not AuditEntry.objects.filter(verb__startswith="visitor.identity").exists()


def test_the_second_of_two_decisions_is_told_it_was_settled(
    alpha: Building, desk: Client, on_file: Visitor
) -> None:
    walk_in_as_qian(desk)
    visit = Visit.objects.get(scenario="walk_in")
    settle_identity(SYSTEM, visit, keep="stored")

    with pytest.raises(ConflictError) as caught:
        settle_identity(SYSTEM, visit, keep="typed")

    assert caught.value.code == "identity_settled"
    on_file.refresh_from_db()
    assert on_file.name == "赵敏"
    # A colleague arriving at the page late is carried on to the desk check.
    late = desk.post(f"/reception/visits/{visit.pk}/identity/", {"keep": "typed"})
    assert late["Location"] == f"/tasks/{open_task(visit, 'verify').pk}/"
    on_file.refresh_from_db()
    assert on_file.name == "赵敏"


def test_the_same_details_typed_again_need_no_decision(
    alpha: Building, desk: Client, on_file: Visitor
) -> None:
    registered = register_walk_in(desk, visitor_name="赵敏", visitor_mobile="13600002222")

    visit = Visit.objects.get(scenario="walk_in")
    assert registered["Location"] == f"/tasks/{open_task(visit, 'verify').pk}/"
    assert not visit.has_identity_conflict
    assert not AuditEntry.objects.filter(verb="visit.identity_differs").exists()


def test_a_refused_decision_for_another_visit_is_not_found(
    alpha: Building, desk: Client, on_file: Visitor
) -> None:
    with pytest.raises(DomainError):
        settle_identity(SYSTEM, Visit(pk=0), keep="stored")
    assert desk.get("/reception/visits/999999/identity/").status_code == 404


# --- On the visitor's own form (5.2.2) ------------------------------------------------------


def publish_request_form_with_a_document() -> None:
    """The request form as a building that asks for a document has it."""
    walk_in = {spec["key"]: spec for spec in draft_fields(Scenario.WALK_IN)}
    fields = [*draft_fields(Scenario.REQUEST), walk_in["id_document"], walk_in["privacy_consent"]]
    definition = building_form(Scenario.REQUEST)
    save_draft(SYSTEM, definition, fields)
    publish(SYSTEM, definition)


def apply_as_qian(building: Building) -> Any:
    """钱多多 applies with her own mobile and 赵敏's document number."""
    return apply(
        building,
        visitor_name="钱多多",
        visitor_mobile="13500135000",
        id_document={"type": "resident_id", "number": DOCUMENT},
        privacy_consent=True,
    )


def apply(building: Building, **answers: Any) -> Any:
    body = {
        "version_id": current_version(Scenario.REQUEST).pk,
        "submission_id": str(uuid.uuid4()),
        "answers": request_answers(**answers),
    }
    return client_for(building).post(
        "/api/forms/request/submissions", json.dumps(body), content_type="application/json"
    )


def test_a_request_with_a_known_document_keeps_what_the_visitor_typed(
    alpha: Building, on_file: Visitor
) -> None:
    host = make_host()
    publish_request_form_with_a_document()

    response = apply_as_qian(alpha)

    assert response.status_code == 201, response.content
    body = response.content.decode()
    assert "赵" not in body and "2222" not in body  # nothing of the visitor on file
    visit = Visit.objects.get(pk=response.json()["visit_id"])
    on_file.refresh_from_db()
    assert (on_file.name, on_file.mobile) == ("赵敏", STORED_MOBILE)  # not overwritten
    assert visit.visitor == on_file  # the document is matched, for the watchlist
    assert (visit.visitor_name, visit.visitor_mobile) == ("钱多多", TYPED_MOBILE)
    differs = AuditEntry.objects.get(verb="visit.identity_differs")
    assert differs.detail == {"name_differs": True, "mobile_differs": True}
    # The host is asked about the person who applied.
    host_text = Notification.objects.get(purpose="approval_request").text
    assert sms_to(host.mobile) == ["approval_request"]
    assert "钱**" in host_text and "赵" not in host_text

    approved = client_for(alpha).post(link_in("approval_request", "/a/"), {"decision": "approve"})

    assert approved.status_code == 200
    assert sms_to(TYPED_MOBILE) == ["pass_link"]
    assert sms_to(STORED_MOBILE) == []
    # On the visitors' own pages the visit belongs to the mobile it was made with.
    assert list(visits_of_mobile(blind_index(TYPED_MOBILE, MOBILE_INDEX))) == [visit]
    assert not visits_of_mobile(blind_index(STORED_MOBILE, MOBILE_INDEX)).exists()


def test_a_request_with_a_known_mobile_and_another_name_keeps_the_typed_name(
    alpha: Building, in_alpha: Building
) -> None:
    make_host()
    known = register_visitor(SYSTEM, name="韩梅梅", mobile="13800138000")

    visit_id = apply(alpha, visitor_name="Han Meimei", visitor_mobile="13800138000").json()[
        "visit_id"
    ]

    visit = Visit.objects.get(pk=visit_id)
    known.refresh_from_db()
    assert known.name == "韩梅梅"
    assert (visit.visitor, visit.visitor_name, visit.visitor_mobile) == (
        known,
        "Han Meimei",
        "+8613800138000",
    )


def test_the_mobile_typed_for_a_visit_is_screened_against_the_watchlist(
    alpha: Building, on_file: Visitor
) -> None:
    make_host()
    publish_request_form_with_a_document()
    add_to_watchlist(SYSTEM, reason="theft", mobile=TYPED_MOBILE)

    response = apply_as_qian(alpha)

    visit = Visit.objects.get(pk=response.json()["visit_id"])
    assert visit.status == "rejected"
    assert VisitProcess.objects.get(visit=visit).watchlist_hit is True
    assert not Notification.objects.filter(purpose="approval_request").exists()
