"""Reception's day (/today/), the desk's check-in, the console's search by mobile, name and
document number, who sees full names, the slip's issuer, and one audit row per print."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tenants.models import Building, User
from tests.access.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    make_gate,
    make_host,
    make_visit,
    make_visitor,
    slip_token,
)
from tests.conftest import admin_of, client_for, member
from visit_platform.access import actions
from visit_platform.access.actions import arrivals, decision
from visit_platform.access.models import Pass
from visit_platform.access.views import slip_issuer
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.roles import ROLE_PERMISSIONS, SEE_VISITOR_NAMES, sees_full_names
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db

NAME = "韩梅梅"
MOBILE = "13800000001"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def expected_visit(**options: Any) -> tuple[Visit, Pass]:
    visit = make_visit(**options)
    return visit, actions.issue_pass(SYSTEM, visit).pass_record


@pytest.fixture
def receptionist(alpha: Building) -> User:
    return member(alpha, "desk@alpha.example", Role.RECEPTION)


@pytest.fixture
def desk(alpha: Building, receptionist: User) -> Client:
    return english(client_for(alpha, receptionist))


def page_text(response: Any) -> str:
    return str(response.content.decode())


# --- Who sees full names ----------------------------------------------------------------------


def test_only_reception_and_security_see_full_names() -> None:
    holders = {
        role for role, permissions in ROLE_PERMISSIONS.items() if SEE_VISITOR_NAMES in permissions
    }

    assert holders == {Role.RECEPTION, Role.SECURITY}


def test_reception_sees_the_full_name_on_the_visits_page_and_the_view_is_audited_so(
    alpha: Building, in_alpha: Building, desk: Client, receptionist: User
) -> None:
    expected_visit()

    page = page_text(desk.get("/visits/"))

    assert NAME in page
    entry = AuditEntry.objects.filter(verb="visits.viewed").latest("pk")
    assert (entry.actor, entry.detail["full_names"]) == (receptionist, True)
    assert sees_full_names(receptionist)


def test_a_property_admin_keeps_the_masked_name_on_the_visits_page(
    alpha: Building, in_alpha: Building
) -> None:
    expected_visit()

    page = page_text(english(client_for(alpha, admin_of(alpha))).get("/visits/"))

    assert "韩**" in page
    assert NAME not in page
    assert "full_names" not in AuditEntry.objects.filter(verb="visits.viewed").latest("pk").detail


# --- Search -----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["13800000001", "138 0000 0001", "+86 138-0000-0001"])
def test_the_visits_page_finds_a_visitor_by_mobile_written_any_way(
    in_alpha: Building, desk: Client, typed: str
) -> None:
    expected_visit()
    other = make_visitor(name="欧阳锋", mobile="13900000009", id_number="")
    make_visit(visitor=other)

    page = page_text(desk.get("/visits/", {"q": typed}))

    assert NAME in page
    assert "欧阳锋" not in page


@pytest.mark.parametrize("typed", [NAME, f" {NAME[0]} {NAME[1:]} "])
def test_the_visits_page_finds_a_visitor_by_full_name_spaces_aside(
    in_alpha: Building, desk: Client, typed: str
) -> None:
    expected_visit()
    make_visit(visitor=make_visitor(name="欧阳锋", mobile="13900000009", id_number=""))

    page = page_text(desk.get("/visits/", {"q": typed}))

    assert NAME in page
    assert "欧阳锋" not in page


def test_part_of_a_name_finds_nobody_since_names_are_encrypted(
    in_alpha: Building, desk: Client
) -> None:
    expected_visit()

    response = desk.get("/visits/", {"q": NAME[1:]})

    assert NAME not in page_text(response)
    assert "type the whole name: part of a name finds nobody" in page_text(response)


def test_an_english_name_is_found_whatever_its_case(in_alpha: Building, desk: Client) -> None:
    expected_visit()
    make_visit(visitor=make_visitor(name="John Smith", mobile="13900000009", id_number=""))

    page = page_text(desk.get("/visits/", {"q": "JOHN   smith"}))

    assert "John Smith" in page
    assert NAME not in page


def test_the_visits_page_finds_a_visitor_by_document_number_through_its_blind_index(
    in_alpha: Building, desk: Client
) -> None:
    expected_visit()
    make_visit(visitor=make_visitor(name="欧阳锋", mobile="13900000009", id_number=""))

    page = page_text(desk.get("/visits/", {"q": VALID_RESIDENT_ID.lower()}))

    assert NAME in page
    assert "欧阳锋" not in page


def test_part_of_a_document_number_finds_nobody(in_alpha: Building, desk: Client) -> None:
    expected_visit()

    page = page_text(desk.get("/visits/", {"q": VALID_RESIDENT_ID[:10]}))

    assert NAME not in page


@pytest.mark.parametrize("path", ["/visits/", "/today/"])
def test_an_oversized_search_is_refused_with_a_readable_message(
    in_alpha: Building, desk: Client, path: str
) -> None:
    expected_visit()

    response = desk.get(path, {"q": "1" * 51})

    assert response.status_code == 200
    assert "Search for at most 50 characters" in page_text(response)
    assert NAME not in page_text(response)


def test_a_search_with_control_characters_is_refused(in_alpha: Building, desk: Client) -> None:
    response = desk.get("/today/", {"q": "韩\u202e梅"})

    assert "characters nobody types" in page_text(response)


def test_reception_finds_todays_visitor_by_mobile(in_alpha: Building, desk: Client) -> None:
    expected_visit()
    make_visit(visitor=make_visitor(name="欧阳锋", mobile="13900000009", id_number=""))

    page = page_text(desk.get("/today/", {"q": "138-0000-0001"}))

    assert NAME in page
    assert "欧阳锋" not in page


# --- Reception's day ----------------------------------------------------------------------------


def test_todays_page_lists_expected_arrived_and_left_visitors_of_today_only(
    in_alpha: Building, desk: Client, receptionist: User
) -> None:
    expected_visit()
    make_visit(
        visitor=make_visitor(name="欧阳锋", mobile="13900000009", id_number=""),
        status=VisitStatus.CHECKED_IN,
    )
    make_visit(
        visitor=make_visitor(name="慕容复", mobile="13900000008", id_number=""),
        status=VisitStatus.CHECKED_OUT,
    )
    make_visit(
        visitor=make_visitor(name="段誉", mobile="13900000007", id_number=""),
        starts=timezone.now() + timedelta(days=2),
    )

    response = desk.get("/today/")
    page = page_text(response)

    assert response.status_code == 200
    assert [NAME in page, "欧阳锋" in page, "慕容复" in page, "段誉" in page] == [
        True,
        True,
        True,
        False,
    ]
    assert 'data-state="expected"' in page and 'data-state="left"' in page
    entry = AuditEntry.objects.filter(verb="visits.viewed").latest("pk")
    assert entry.detail == {"visits": 3, "page": "today", "full_names": True}
    arrived = page_text(desk.get("/today/", {"state": "arrived"}))
    assert "欧阳锋" in arrived and NAME not in arrived


def test_a_property_admin_sees_todays_page_with_masked_names(
    alpha: Building, in_alpha: Building
) -> None:
    expected_visit()

    page = page_text(english(client_for(alpha, admin_of(alpha))).get("/today/"))

    assert "韩**" in page and NAME not in page
    assert 'data-test="check-in"' in page


def test_security_sees_todays_page_but_may_not_check_in(
    alpha: Building, in_alpha: Building
) -> None:
    visit, _pass = expected_visit()
    guard = english(client_for(alpha, member(alpha, "guard@alpha.example", Role.SECURITY)))

    page = page_text(guard.get("/today/"))

    assert NAME in page
    assert 'data-test="check-in"' not in page
    assert guard.post(f"/today/{visit.pk}/check-in/").status_code == 403
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.APPROVED


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, Role.HOST])
def test_a_company_admin_or_host_may_neither_see_todays_page_nor_check_in(
    alpha: Building, in_alpha: Building, role: str
) -> None:
    host = make_host()
    visit, _pass = expected_visit(host=host)
    client = client_for(alpha, member(alpha, "company@alpha.example", role, host.company))

    assert client.get("/today/").status_code == 403
    assert client.post(f"/today/{visit.pk}/check-in/").status_code == 403
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.APPROVED


def test_the_navigation_offers_todays_page_to_reception(in_alpha: Building, desk: Client) -> None:
    assert 'href="/today/"' in page_text(desk.get("/visits/"))


# --- Check in and print -------------------------------------------------------------------------


def test_one_tap_checks_the_visitor_in_and_opens_the_slip(
    in_alpha: Building, desk: Client, receptionist: User, django_capture_on_commit_callbacks: Any
) -> None:
    visit, pass_record = expected_visit()

    response = desk.post(f"/today/{visit.pk}/check-in/")

    assert response.status_code == 302
    assert response["Location"] == f"/passes/{pass_record.pk}/slip.pdf"
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CHECKED_IN and visit.checked_in_at is not None
    entry = AuditEntry.objects.get(verb="visit.checked_in_at_desk")
    assert (entry.actor, entry.object_id) == (receptionist, str(visit.pk))
    pass_record.refresh_from_db()
    assert (pass_record.uses, pass_record.is_inside) == (0, False)  # the gates' to count


def test_a_second_tap_or_a_replayed_post_arrives_nobody_again(
    in_alpha: Building, desk: Client
) -> None:
    visit, _pass = expected_visit()
    desk.post(f"/today/{visit.pk}/check-in/")
    arrived_at = Visit.objects.get(pk=visit.pk).checked_in_at

    again = desk.post(f"/today/{visit.pk}/check-in/")

    assert again.status_code == 302  # the slip again, to print a second copy
    assert AuditEntry.objects.filter(verb="visit.checked_in_at_desk").count() == 1
    assert Visit.objects.get(pk=visit.pk).checked_in_at == arrived_at


def test_the_desk_check_in_tells_the_host_once_and_the_gate_does_not_again(
    in_alpha: Building, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[Any] = []
    monkeypatch.setattr(arrivals, "announce_arrival", lambda *args: told.append(args))
    monkeypatch.setattr(decision, "announce_arrival", lambda *args: told.append(args))
    visit, pass_record = expected_visit()
    actor = Actor.system("desk")

    actions.check_in_at_desk(actor, visit.pk)
    actions.check_in_at_desk(actor, visit.pk)
    entry = actions.decide_scan(gate=make_gate(), token=slip_token(pass_record), direction="in")

    assert entry.granted
    assert [args[1] for args in told] == [None]  # the desk's, not the gate's
    pass_record.refresh_from_db()
    assert (pass_record.uses, pass_record.is_inside) == (1, True)


def test_a_single_use_pass_still_admits_once_at_the_gate_after_the_desk_check_in(
    in_alpha: Building,
) -> None:
    visit = make_visit()
    pass_record = actions.issue_pass(SYSTEM, visit, max_uses=1).pass_record
    actions.check_in_at_desk(SYSTEM, visit.pk)
    gate = make_gate()

    first = actions.decide_scan(gate=gate, token=slip_token(pass_record), direction="in")
    second = actions.decide_scan(gate=gate, token=slip_token(pass_record), direction="in")

    assert (first.granted, second.granted) == (True, False)


def test_the_host_is_told_the_visitor_checked_in_at_reception(in_alpha: Building) -> None:
    visit, _pass = expected_visit()
    actions.check_in_at_desk(SYSTEM, visit.pk)

    notice = arrivals.tell_host_of_arrival(visit.pk, None, timezone.now())

    assert notice is not None
    assert "reception" in notice.text or "前台" in notice.text


@pytest.mark.parametrize(
    ("status", "code"),
    [(VisitStatus.PENDING_APPROVAL, "not_expected"), (VisitStatus.CHECKED_OUT, "not_expected")],
)
def test_a_visit_that_is_not_expected_is_refused_readably_and_nothing_changes(
    in_alpha: Building, desk: Client, status: str, code: str
) -> None:
    visit = make_visit(status=status)

    response = desk.post(f"/today/{visit.pk}/check-in/")

    assert response.status_code == 409
    assert f'data-code="{code}"' in page_text(response)
    assert "not expected now" in page_text(response)
    assert Visit.objects.get(pk=visit.pk).status == status
    assert not AuditEntry.objects.filter(verb="visit.checked_in_at_desk").exists()


def test_a_visit_without_a_pass_is_refused(in_alpha: Building, desk: Client) -> None:
    visit = make_visit()

    response = desk.post(f"/today/{visit.pk}/check-in/")

    assert response.status_code == 409
    assert "has no pass" in page_text(response)


def test_a_revoked_pass_is_not_checked_in(in_alpha: Building, desk: Client) -> None:
    visit, pass_record = expected_visit()
    actions.revoke_pass(SYSTEM, pass_record, "test")

    response = desk.post(f"/today/{visit.pk}/check-in/")

    assert response.status_code == 409
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.APPROVED


@pytest.mark.parametrize(
    ("pk", "status"), [("99999999", 404), ("9" * 25, 404), ("abc", 404), ("-1", 404), ("1%00", 400)]
)
def test_a_malformed_or_unknown_visit_changes_nothing(
    in_alpha: Building, desk: Client, pk: str, status: int
) -> None:
    visit, _pass = expected_visit()

    assert desk.post(f"/today/{pk}/check-in/").status_code == status
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.APPROVED


def test_a_check_in_without_a_csrf_token_is_refused(
    alpha: Building, in_alpha: Building, receptionist: User
) -> None:
    visit, _pass = expected_visit()
    forged = client_for(alpha, receptionist)
    forged.handler.enforce_csrf_checks = True

    assert forged.post(f"/today/{visit.pk}/check-in/").status_code == 403
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.APPROVED


def test_a_check_in_is_only_posted(in_alpha: Building, desk: Client) -> None:
    visit, _pass = expected_visit()

    assert desk.get(f"/today/{visit.pk}/check-in/").status_code == 405
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.APPROVED


# --- The slip: its issuer and one audit row per print --------------------------------------------


def test_a_print_fetched_again_and_again_is_audited_once(
    in_alpha: Building, desk: Client, receptionist: User
) -> None:
    _visit, pass_record = expected_visit()

    first = desk.get(f"/passes/{pass_record.pk}/slip.pdf")
    print_url = first["Location"]
    fetches = [desk.get(print_url) for _ in range(3)]  # the viewer loads it again to print

    assert first.status_code == 302 and "print=" in print_url
    assert [fetch.status_code for fetch in fetches] == [200, 200, 200]
    assert fetches[0].content.startswith(b"%PDF")
    entry = AuditEntry.objects.get(verb="pass.slip_printed")
    assert (entry.actor, entry.object_id, entry.detail["full_names"]) == (
        receptionist,
        str(pass_record.pk),
        True,
    )


def test_two_prints_are_two_audit_rows(in_alpha: Building, desk: Client) -> None:
    _visit, pass_record = expected_visit()

    for _ in range(2):
        desk.get(f"/passes/{pass_record.pk}/slip.pdf", follow=True)

    assert AuditEntry.objects.filter(verb="pass.slip_printed").count() == 2


@pytest.mark.parametrize("ticket", ["forged", "x" * 400, "e30:1abc:def"])
def test_a_forged_print_ticket_gets_a_fresh_print_and_no_pdf(
    in_alpha: Building, desk: Client, ticket: str
) -> None:
    _visit, pass_record = expected_visit()

    response = desk.get(f"/passes/{pass_record.pk}/slip.pdf", {"print": ticket})

    assert response.status_code == 302
    assert ticket not in response["Location"]
    assert not AuditEntry.objects.filter(verb="pass.slip_printed").exists()


def test_another_users_print_ticket_is_not_reused(
    alpha: Building, in_alpha: Building, desk: Client
) -> None:
    _visit, pass_record = expected_visit()
    print_url = desk.get(f"/passes/{pass_record.pk}/slip.pdf")["Location"]
    admin = client_for(alpha, admin_of(alpha))

    response = admin.get(print_url)

    assert response.status_code == 302 and response["Location"] != print_url


def test_the_slip_names_the_receptionist_who_registered_the_visit_as_its_issuer(
    in_alpha: Building, receptionist: User
) -> None:
    receptionist.display_name = "前台小王"
    receptionist.save()
    visit, pass_record = expected_visit()
    Visit.objects.filter(pk=visit.pk).update(registered_by=receptionist, invited_by=None)
    pass_record = Pass.objects.select_related("visit").get(pk=pass_record.pk)

    assert pass_record.issued_by is None  # the flow issued it
    assert slip_issuer(pass_record) == "前台小王"


def test_the_slip_names_the_inviting_host_by_their_directory_name(
    alpha: Building, in_alpha: Building
) -> None:
    host = make_host()
    user = member(alpha, "host-user@alpha.example", Role.HOST, host.company)
    host.user = user
    host.save()
    visit, pass_record = expected_visit(host=host)
    Visit.objects.filter(pk=visit.pk).update(invited_by=user)
    pass_record = Pass.objects.select_related("visit").get(pk=pass_record.pk)

    assert slip_issuer(pass_record) == host.name
