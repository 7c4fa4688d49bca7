"""What people see: the visitor's pass page and its token, the printed slip, the visits page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.access.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    make_gate,
    make_host,
    make_visit,
    make_visitor,
    rotating_token,
    slip_token,
)
from tests.conftest import admin_of, client_for, member
from visit_platform.access import actions
from visit_platform.access.models import Pass
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host
from visit_platform.directory.roles import ROLE_PERMISSIONS, VIEW_COMPANY

pytestmark = pytest.mark.django_db

FULL_NAME = "韩梅梅"
MOBILE = "13800000001"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def issue(visit_options: dict | None = None, **pass_options: object) -> tuple[Pass, str]:
    issued = actions.issue_pass(SYSTEM, make_visit(**(visit_options or {})), **pass_options)
    return issued.pass_record, issued.link_code


@pytest.fixture
def visitor_client(alpha: Building) -> Client:
    """The visitor's phone: nobody signed in, English for readable assertions."""
    return english(client_for(alpha))


# --- The pass page --------------------------------------------------------------------------


def test_pass_page_shows_the_masked_name_and_never_the_full_name_id_number_or_mobile(
    in_alpha: Building, visitor_client: Client
) -> None:
    visitor = make_visitor(name=FULL_NAME, mobile=MOBILE, id_number=VALID_RESIDENT_ID)
    pass_record, code = issue({"visitor": visitor})

    response = visitor_client.get(f"/p/{code}/")

    page = text(response)
    assert response.status_code == 200
    assert "韩**" in page
    assert FULL_NAME not in page
    assert VALID_RESIDENT_ID not in page
    assert visitor.masked_id_number not in page
    assert MOBILE not in page and MOBILE[-4:] not in page
    assert '<div class="m-qr" id="qr"' in page and "<svg" in page
    assert "李雷" in page  # the host
    assert pass_record.visit.company.name in page
    assert ">Valid<" in page


def test_pass_page_is_kept_out_of_caches_and_referrers(
    in_alpha: Building, visitor_client: Client
) -> None:
    _pass_record, code = issue()

    page = visitor_client.get(f"/p/{code}/")
    token = visitor_client.get(f"/p/{code}/token.json")

    for response in (page, token):
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"


def test_pass_page_shows_the_window_in_the_buildings_time_zone(
    in_alpha: Building, visitor_client: Client
) -> None:
    start = datetime(2031, 3, 14, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    _pass_record, code = issue({"starts": start, "hours": 3})

    page = text(visitor_client.get(f"/p/{code}/"))

    assert "2031-03-14 09:30 – 12:30" in page
    assert "Asia/Shanghai" in page


@pytest.mark.parametrize("code", ["no-such-code-at-all-here", "x" * 65])
def test_unknown_link_shows_a_friendly_404(
    in_alpha: Building, visitor_client: Client, code: str
) -> None:
    response = visitor_client.get(f"/p/{code}/")

    assert response.status_code == 404
    assert "We could not find this pass" in text(response)
    assert visitor_client.get(f"/p/{code}/token.json").status_code == 404


def test_pass_page_refresh_interval_is_30_seconds_unless_asked_for_1_to_30(
    in_alpha: Building, visitor_client: Client
) -> None:
    _pass_record, code = issue()

    def interval(query: str) -> str:
        match = re.search(r'data-refresh="(\d+)"', text(visitor_client.get(f"/p/{code}/{query}")))
        assert match is not None
        return match.group(1)

    assert [
        interval(q) for q in ("", "?refresh=1", "?refresh=12", "?refresh=0", "?refresh=99")
    ] == [
        "30",
        "1",
        "12",
        "30",
        "30",
    ]


def test_token_json_returns_a_rotating_token_that_the_gate_grants(
    in_alpha: Building, visitor_client: Client
) -> None:
    pass_record, code = issue()
    gate = make_gate()

    response = visitor_client.get(f"/p/{code}/token.json")

    body = response.json()
    assert response.status_code == 200
    assert body["state"] == "valid"
    assert body["qr_svg"].startswith("<svg")
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timezone.now() < expires_at <= timezone.now() + timedelta(seconds=61)
    decision = actions.decide_scan(gate=gate, token=body["token"])
    assert (decision.granted, decision.reason) == (True, "granted")
    assert decision.event.pass_record_id == pass_record.pk


def _revoked() -> tuple[Pass, str]:
    pass_record, code = issue()
    actions.revoke_pass(SYSTEM, pass_record, "lost phone")
    return pass_record, code


def _expired() -> tuple[Pass, str]:
    return issue({"starts": timezone.now() - timedelta(hours=6), "hours": 2})


def _used_up() -> tuple[Pass, str]:
    """The only entry, then the exit: out of the building with nothing left to use."""
    pass_record, code = issue(max_uses=1)
    gate = make_gate()
    assert actions.decide_scan(gate=gate, token=slip_token(pass_record), direction="in").granted
    assert actions.decide_scan(gate=gate, token=slip_token(pass_record), direction="out").granted
    return pass_record, code


def _not_yet_valid() -> tuple[Pass, str]:
    return issue({"starts": timezone.now() + timedelta(days=1)})


@pytest.mark.parametrize(
    ("make", "state", "label"),
    [
        (_revoked, "revoked", "Revoked"),
        (_expired, "expired", "Expired"),
        (_used_up, "used_up", "Used up"),
        (_not_yet_valid, "not_yet_valid", "Not valid yet"),
    ],
)
def test_a_pass_that_cannot_be_used_shows_its_state_and_no_code(
    in_alpha: Building, visitor_client: Client, make, state: str, label: str
) -> None:
    _pass_record, code = make()

    page = visitor_client.get(f"/p/{code}/")
    body = visitor_client.get(f"/p/{code}/token.json").json()

    assert page.status_code == 200
    assert f'data-state="{state}"' in text(page)
    assert f'<span id="state-label">{label}</span>' in text(page)
    assert "<svg" not in text(page)
    assert body == {
        "token": None,
        "qr_svg": None,
        "expires_at": None,
        "state": state,
        "state_label": label,
        "message": body["message"],
    }


def test_a_single_use_visitor_inside_gets_a_code_that_lets_them_out_and_only_out(
    in_alpha: Building, visitor_client: Client
) -> None:
    """After the only entry the pass lets nobody in, but the gate lets every genuine pass out:
    the page must keep a code for the visitor inside, or they are stuck at the exit gate."""
    pass_record, code = issue(max_uses=1)
    gate = make_gate()
    assert actions.decide_scan(gate=gate, token=slip_token(pass_record), direction="in").granted

    page = visitor_client.get(f"/p/{code}/")
    body = visitor_client.get(f"/p/{code}/token.json").json()

    assert 'data-state="exit_only"' in text(page)
    assert "<svg" in text(page)
    assert "exit gate" in text(page)
    assert (body["state"], body["state_label"]) == ("exit_only", "Inside, exit only")
    assert body["qr_svg"].startswith("<svg")
    refused = actions.decide_scan(gate=gate, token=body["token"], direction="in")
    assert (refused.granted, refused.reason) == (False, "uses_exhausted")
    let_out = actions.decide_scan(gate=gate, token=body["token"], direction="out")
    assert (let_out.granted, let_out.reason) == (True, "granted")

    after = visitor_client.get(f"/p/{code}/token.json").json()
    assert (after["state"], after["token"], after["qr_svg"]) == ("used_up", None, None)


def test_a_visitor_inside_on_a_pass_that_expired_can_still_leave_by_it(
    in_alpha: Building, visitor_client: Client
) -> None:
    """The window closing while the visitor is inside changes nothing at the exit."""
    pass_record, code = issue()
    gate = make_gate()
    assert actions.decide_scan(gate=gate, token=slip_token(pass_record), direction="in").granted
    Pass.objects.filter(pk=pass_record.pk).update(
        valid_from=timezone.now() - timedelta(hours=3),
        valid_until=timezone.now() - timedelta(minutes=1),
    )

    body = visitor_client.get(f"/p/{code}/token.json").json()

    assert body["state"] == "exit_only"
    let_out = actions.decide_scan(gate=gate, token=body["token"], direction="out")
    assert let_out.granted
    assert visitor_client.get(f"/p/{code}/token.json").json()["state"] == "expired"


def test_pass_page_speaks_the_buildings_language_by_default(
    in_alpha: Building, alpha: Building
) -> None:
    _pass_record, code = _revoked()

    page = text(client_for(alpha).get(f"/p/{code}/"))

    assert '<html lang="zh-hans">' in page
    assert "已撤销" in page


# --- The printed slip -----------------------------------------------------------------------


def test_reception_prints_a_slip_as_a_pdf_and_it_is_audited(
    alpha: Building, in_alpha: Building
) -> None:
    receptionist = member(alpha, "reception@alpha.example", Role.RECEPTION)
    pass_record, _code = issue()

    response = client_for(alpha, receptionist).get(
        f"/passes/{pass_record.pk}/slip.pdf", follow=True
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert b"WenQuanYiZenHei" in response.content  # the Chinese font is embedded
    entry = AuditEntry.objects.get(verb="pass.slip_printed")
    assert (entry.actor, entry.object_id) == (receptionist, str(pass_record.pk))


def test_a_host_may_not_print_a_slip(alpha: Building, in_alpha: Building) -> None:
    host = make_host()
    pass_record, _code = issue({"host": host})
    host_user = member(alpha, "host@alpha.example", Role.HOST, host.company)

    response = client_for(alpha, host_user).get(f"/passes/{pass_record.pk}/slip.pdf")

    assert response.status_code == 403


def test_a_pass_of_another_building_is_not_found(alpha: Building, beta: Building) -> None:
    with schema_context("beta"):
        pass_record, _code = issue()
    receptionist = member(alpha, "reception@alpha.example", Role.RECEPTION)

    response = client_for(alpha, receptionist).get(f"/passes/{pass_record.pk}/slip.pdf")

    assert response.status_code == 404


def test_no_slip_is_printed_for_a_revoked_pass(alpha: Building, in_alpha: Building) -> None:
    pass_record, _code = _revoked()

    response = english(client_for(alpha, admin_of(alpha))).get(f"/passes/{pass_record.pk}/slip.pdf")

    assert response.status_code == 409
    assert "No slip for this pass" in text(response)


# --- The visits page ------------------------------------------------------------------------


@pytest.fixture
def two_companies(in_alpha: Building) -> dict[str, Host]:
    """A visit to each of two companies, each with a granted entry and a refused scan."""
    ours, theirs = make_host(), make_host()
    gate = make_gate("东门闸机")
    for host, name, mobile in ((ours, "韩梅梅", "13800000011"), (theirs, "王小明", "13800000012")):
        visit = make_visit(visitor=make_visitor(name=name, mobile=mobile, id_number=""), host=host)
        pass_record = actions.issue_pass(SYSTEM, visit).pass_record
        assert actions.decide_scan(gate=gate, token=slip_token(pass_record)).granted
        actions.revoke_pass(SYSTEM, pass_record, "test")
        assert not actions.decide_scan(gate=gate, token=rotating_token(pass_record)).granted
    return {"ours": ours, "theirs": theirs}


def test_company_admin_sees_only_their_companys_visits_and_events(
    alpha: Building, two_companies: dict[str, Host]
) -> None:
    boss = member(alpha, "boss@alpha.example", Role.COMPANY_ADMIN, two_companies["ours"].company)

    page = text(english(client_for(alpha, boss)).get("/visits/"))

    assert page.count("韩**") == 4  # the visit, its two events, and inside now
    assert "王**" not in page
    assert FULL_NAME not in page


def test_visits_page_shows_reasons_in_words_and_filters_refused_events(
    alpha: Building, two_companies: dict[str, Host]
) -> None:
    client = english(client_for(alpha, admin_of(alpha)))

    everything = text(client.get("/visits/"))
    refused = text(client.get("/visits/?denied=1"))

    assert everything.count('<td class="reason">Granted</td>') == 2
    assert everything.count('<td class="reason">The pass was revoked</td>') == 2
    assert refused.count('<td class="reason">Granted</td>') == 0
    assert refused.count('<td class="reason">The pass was revoked</td>') == 2
    assert ">revoked<" not in everything  # never the bare code


def test_print_slip_is_offered_only_for_a_pass_that_still_works(
    alpha: Building, two_companies: dict[str, Host]
) -> None:
    working = actions.issue_pass(SYSTEM, make_visit()).pass_record
    client = english(client_for(alpha, admin_of(alpha)))

    page = text(client.get("/visits/"))

    assert page.count("Print slip") == 1
    assert f'href="/passes/{working.pk}/slip.pdf"' in page
    assert page.count('<div class="muted">Revoked</div>') == 2


def test_visits_page_reasons_are_in_chinese_by_default(
    alpha: Building, two_companies: dict[str, Host]
) -> None:
    page = text(client_for(alpha, admin_of(alpha)).get("/visits/?denied=1"))

    assert '<td class="reason">通行证已被撤销</td>' in page


def test_visits_page_lists_who_is_inside_with_gate(alpha: Building, in_alpha: Building) -> None:
    visit = make_visit(visitor=make_visitor(name="李小龙", mobile="13800000021", id_number=""))
    pass_record = actions.issue_pass(SYSTEM, visit).pass_record
    assert actions.decide_scan(gate=make_gate("北门"), token=slip_token(pass_record)).granted

    page = text(english(client_for(alpha, admin_of(alpha))).get("/visits/"))

    inside = page.split('id="inside"', 1)[1].split('id="events"', 1)[0]
    assert "李**" in inside and "北门" in inside
    assert '<div class="value num" id="inside-count">1</div>' in page


def test_visits_page_counts_companions_among_the_people_inside(
    alpha: Building, in_alpha: Building
) -> None:
    """One scan admits a visitor and their companions: the count is of people, and the row
    says how many came with the visitor."""
    visit = make_visit(
        visitor=make_visitor(name="李小龙", mobile="13800000021", id_number=""), companions=2
    )
    pass_record = actions.issue_pass(SYSTEM, visit).pass_record
    assert actions.decide_scan(gate=make_gate("北门"), token=slip_token(pass_record)).granted

    page = text(english(client_for(alpha, admin_of(alpha))).get("/visits/"))

    assert '<div class="value num" id="inside-count">3</div>' in page
    assert "1 pass" in page
    inside = page.split('id="inside"', 1)[1].split('id="events"', 1)[0]
    assert "+2 companions" in inside


def test_pass_page_shows_the_zones_the_pass_opens(
    in_alpha: Building, visitor_client: Client
) -> None:
    _pass_record, code = issue(zones=["A座", "8"])

    page = text(visitor_client.get(f"/p/{code}/"))

    assert '<dd id="pass-zones">8、A座</dd>' in page


def test_visits_page_filters_by_status_scenario_and_text(
    alpha: Building, in_alpha: Building
) -> None:
    make_visit(visitor=make_visitor(name="周一", mobile="13800000031", id_number=""))
    make_visit(
        visitor=make_visitor(name="吴二", mobile="13800000032", id_number=""),
        status="pending_approval",
    )
    client = english(client_for(alpha, admin_of(alpha)))

    pending = text(client.get("/visits/?status=pending_approval"))
    by_name = text(client.get("/visits/?q=周一"))
    walk_ins = text(client.get("/visits/?scenario=walk_in"))

    assert "吴*" in pending and "周*" not in pending
    assert "周*" in by_name and "吴*" not in by_name
    assert "No visits match these filters." in walk_ins


def test_visits_page_is_forbidden_to_a_role_without_the_permission(
    alpha: Building, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.SECURITY, frozenset({VIEW_COMPANY}))
    guard = member(alpha, "guard@alpha.example", Role.SECURITY)

    response = client_for(alpha, guard).get("/visits/")

    assert response.status_code == 403


def test_viewing_the_visits_page_is_audited(alpha: Building, in_alpha: Building) -> None:
    admin: User = admin_of(alpha)

    client_for(alpha, admin).get("/visits/?q=韩&denied=1")

    entry = AuditEntry.objects.get(verb="visits.viewed")
    assert entry.actor == admin
    assert entry.detail == {
        "visits": 0,
        "events": 0,
        "inside": 0,
        "query": "韩",
        "denied_only": True,
    }


def test_visits_are_in_the_navigation_of_every_role_that_may_see_them(
    alpha: Building, in_alpha: Building
) -> None:
    page = text(english(client_for(alpha, admin_of(alpha))).get("/"))

    assert '<a href="/visits/"' in page
    assert "<span>Visits</span>" in page
