"""The gate decision: every reason code, each with a token or state built to trigger it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from django_tenants.utils import schema_context

from kernel import pass_tokens as tokens
from tenants.models import Building
from tests.access.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    make_gate,
    make_host,
    make_pass,
    make_visit,
    make_visitor,
    rotating_token,
    slip_token,
)
from visit_platform.access.actions import (
    ReportedPassage,
    decide_scan,
    record_passage,
    revoke_pass,
    rotate_signing_key,
)
from visit_platform.access.choices import Reason
from visit_platform.access.models import AccessEvent, Gate, Pass, SigningKey
from visit_platform.access.queries import authenticate_agent
from visit_platform.directory.models import Company
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import is_watchlisted
from workflows.actions import add_to_watchlist


def building_private_key() -> Ed25519PrivateKey:
    key = SigningKey.objects.get(retired_at__isnull=True)
    return tokens.private_key_from_pem(key.private_key)


def claims_for(pass_id: int, **changes: Any) -> tokens.TokenClaims:
    values: dict[str, Any] = {
        "kind": tokens.TokenKind.SLIP,
        "building_tag": tokens.building_tag("alpha"),
        "key_id": SigningKey.objects.get(retired_at__isnull=True).key_id,
        "pass_id": pass_id,
        "not_after": int((timezone.now() + timedelta(hours=1)).timestamp()),
    }
    values.update(changes)
    return tokens.TokenClaims(**values)


def scan(gate: Gate, token: str, **options: Any) -> tuple[bool, str]:
    decision = decide_scan(gate=gate, token=token, **options)
    return decision.granted, decision.reason


def state(pass_record: Pass) -> tuple[int, bool, str]:
    pass_record.refresh_from_db()
    return pass_record.uses, pass_record.is_inside, pass_record.visit.status


# --- Granted ------------------------------------------------------------------------------


def test_valid_rotating_token_is_granted(gate: Gate, pass_record: Pass) -> None:
    assert scan(gate, rotating_token(pass_record)) == (True, "granted")
    assert state(pass_record) == (1, True, "checked_in")


def test_exit_scan_checks_the_visit_out(gate: Gate, pass_record: Pass) -> None:
    scan(gate, slip_token(pass_record))

    assert scan(gate, slip_token(pass_record), direction="out") == (True, "granted")
    assert state(pass_record) == (1, False, "checked_out")


def test_exit_is_granted_even_when_the_pass_has_since_expired(in_alpha: Building) -> None:
    gate = make_gate(direction="out")
    pass_record = make_pass(make_visit(starts=timezone.now() - timedelta(hours=5), hours=4))

    assert scan(gate, slip_token(pass_record))[0] is True


def test_every_decision_is_recorded_with_its_reason(gate: Gate, pass_record: Pass) -> None:
    scan(gate, slip_token(pass_record))
    scan(gate, "not a token")

    assert list(
        AccessEvent.objects.order_by("id").values_list("granted", "reason", "pass_record_id")
    ) == [(True, "granted", pass_record.pk), (False, "invalid_token", None)]


# --- Denied: the token ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token", ["", "not a token", "HELLO WORLD", "%" * 126, "A" * 300, "\x00\x01binary"]
)
def test_garbage_is_denied_as_invalid_token(gate: Gate, token: str) -> None:
    assert scan(gate, token) == (False, "invalid_token")


def test_truncated_token_is_denied_as_invalid_token(gate: Gate, pass_record: Pass) -> None:
    assert scan(gate, slip_token(pass_record)[:-6]) == (False, "invalid_token")


def test_token_signed_with_another_key_is_denied_as_invalid_signature(
    gate: Gate, pass_record: Pass
) -> None:
    forged = tokens.sign_token(claims_for(pass_record.pk), Ed25519PrivateKey.generate())

    assert scan(gate, forged) == (False, "invalid_signature")
    assert state(pass_record) == (0, False, "approved")


def test_token_with_a_key_id_this_building_never_had_is_denied_as_unknown_key(
    gate: Gate, pass_record: Pass
) -> None:
    token = tokens.sign_token(claims_for(pass_record.pk, key_id=4242), building_private_key())

    assert scan(gate, token) == (False, "unknown_key")


def test_token_of_another_building_is_denied_as_wrong_building(in_alpha: Building) -> None:
    with schema_context("beta"):
        beta_token = slip_token(make_pass())
    gate = make_gate()

    assert scan(gate, beta_token) == (False, "wrong_building")


def test_rotating_token_replayed_after_its_minute_is_denied_as_token_expired(
    gate: Gate, pass_record: Pass
) -> None:
    screenshot = rotating_token(pass_record, now=timezone.now() - timedelta(minutes=2))

    assert scan(gate, screenshot) == (False, "token_expired")
    assert state(pass_record) == (0, False, "approved")


def test_token_for_a_pass_that_does_not_exist_is_denied_as_unknown_pass(gate: Gate) -> None:
    token = tokens.sign_token(claims_for(987654), building_private_key())

    assert scan(gate, token) == (False, "unknown_pass")


def test_token_signed_by_a_retired_key_still_verifies(gate: Gate, pass_record: Pass) -> None:
    printed_slip = slip_token(pass_record)
    rotate_signing_key(SYSTEM)

    assert scan(gate, printed_slip) == (True, "granted")
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


# --- Denied: the pass and the visit ---------------------------------------------------------


def test_revoked_pass_is_denied(gate: Gate, pass_record: Pass) -> None:
    revoke_pass(SYSTEM, pass_record, "lost")

    assert scan(gate, slip_token(pass_record)) == (False, "revoked")


def test_pass_of_a_cancelled_visit_is_denied_as_not_approved(gate: Gate, pass_record: Pass) -> None:
    Visit.objects.filter(pk=pass_record.visit_id).update(status="cancelled")

    assert scan(gate, slip_token(pass_record)) == (False, "not_approved")


def test_pass_before_its_window_is_denied_as_not_yet_valid(in_alpha: Building) -> None:
    gate = make_gate()
    pass_record = make_pass(make_visit(starts=timezone.now() + timedelta(hours=2)))

    assert scan(gate, slip_token(pass_record)) == (False, "not_yet_valid")


def test_pass_after_its_window_is_denied_as_expired(gate: Gate, pass_record: Pass) -> None:
    later = pass_record.valid_until + timedelta(minutes=1)

    assert scan(gate, slip_token(pass_record), now=later) == (False, "expired")


def test_single_use_pass_admits_once_then_is_denied_as_uses_exhausted(in_alpha: Building) -> None:
    gate = make_gate()
    pass_record = make_pass(max_uses=1)

    first = scan(gate, slip_token(pass_record))
    scan(gate, slip_token(pass_record), direction="out")
    second = scan(gate, slip_token(pass_record))

    assert (first, second) == ((True, "granted"), (False, "uses_exhausted"))
    assert state(pass_record)[0] == 1


def test_watchlisting_a_visitor_revokes_their_pass_and_the_next_scan_says_watchlisted(
    gate: Gate, pass_record: Pass
) -> None:
    visitor = pass_record.visit.visitor

    add_to_watchlist(
        SYSTEM, reason="骚扰业主", id_type="resident_id", id_number="11010519491231002x"
    )

    pass_record.refresh_from_db()
    assert pass_record.revoked_at is not None
    assert scan(gate, slip_token(pass_record)) == (False, "watchlisted")
    assert visitor.visits.get().status == "approved"


def test_watchlist_entry_matching_the_mobile_is_enforced(gate: Gate, pass_record: Pass) -> None:
    add_to_watchlist(SYSTEM, reason="推销", mobile="+86 138 0000 0001")

    assert scan(gate, slip_token(pass_record)) == (False, "watchlisted")


def test_unapproved_or_expired_watchlist_entries_are_not_enforced(
    gate: Gate, pass_record: Pass
) -> None:
    add_to_watchlist(SYSTEM, reason="待审核", mobile="13800000001", approve=False)
    add_to_watchlist(
        SYSTEM,
        reason="已过期",
        mobile="13800000001",
        expires_at=timezone.now() - timedelta(days=1),
    )

    pass_record.refresh_from_db()
    assert pass_record.revoked_at is None
    assert scan(gate, slip_token(pass_record)) == (True, "granted")


# The decision matches the watchlist in SQL (WATCHLISTED_SQL); is_watchlisted() and every flow
# match it through the ORM. Each row: the visitor, the entry, whether they match.
BORN_1949 = date(1949, 12, 31)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
WATCHLIST_MATCHES: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "same ID number": ({}, {"id_type": "resident_id", "id_number": VALID_RESIDENT_ID}, True),
    "same mobile": ({}, {"mobile": "13800000001"}, True),
    "same name and birth date": ({}, {"name": "韩梅梅", "birth_date": BORN_1949}, True),
    "same name, other birth date": ({}, {"name": "韩梅梅", "birth_date": date(1990, 1, 1)}, False),
    "other mobile": ({}, {"mobile": "13900000009"}, False),
    "no mobile on either side": (
        {"mobile": ""},
        {"id_type": "resident_id", "id_number": "110105194912310038"},
        False,
    ),
    "not approved": ({}, {"mobile": "13800000001", "approve": False}, False),
    "expired": ({}, {"mobile": "13800000001", "expires_at": LONG_AGO}, False),
}


@pytest.mark.parametrize(
    ("visitor_options", "entry", "matches"),
    WATCHLIST_MATCHES.values(),
    ids=WATCHLIST_MATCHES.keys(),
)
def test_the_decision_and_is_watchlisted_agree_on_who_is_watchlisted(
    gate: Gate, visitor_options: dict[str, Any], entry: dict[str, Any], matches: bool
) -> None:
    visitor = make_visitor(**visitor_options)
    pass_record = make_pass(make_visit(visitor=visitor))
    add_to_watchlist(SYSTEM, reason="比对", **entry)

    granted, reason = scan(gate, slip_token(pass_record))

    assert is_watchlisted(visitor) is matches
    assert (reason == "watchlisted") is matches
    assert granted is not matches


def test_pass_for_other_zones_is_denied_as_wrong_zone(in_alpha: Building) -> None:
    gate = make_gate(zone="B座", checks_zone=True)
    pass_record = make_pass(zones=["A座"])

    assert scan(gate, slip_token(pass_record)) == (False, "wrong_zone")


@pytest.mark.parametrize(
    ("pass_zones", "gate_zone", "expected"),
    [
        ([], "大堂", (True, "granted")),
        ([], "", (True, "granted")),
        (["A座", "B座"], "B座", (True, "granted")),
        (["A座东"], "A座", (False, "wrong_zone")),
        (["A座"], "", (True, "granted")),
    ],
    ids=["no zones: any gate", "no zones, no zone", "one of its zones", "a longer name", "common"],
)
def test_zones_are_matched_whole(
    in_alpha: Building, pass_zones: list[str], gate_zone: str, expected: tuple[bool, str]
) -> None:
    gate = make_gate(zone=gate_zone, checks_zone=True)
    pass_record = make_pass(zones=pass_zones)

    assert scan(gate, slip_token(pass_record)) == expected


def test_pass_for_the_gate_s_zone_is_granted(in_alpha: Building) -> None:
    gate = make_gate(zone="A座", checks_zone=True)
    pass_record = make_pass(zones=["A座", "B座"])

    assert scan(gate, slip_token(pass_record)) == (True, "granted")


def test_second_entry_without_an_exit_is_denied_as_anti_passback(
    gate: Gate, pass_record: Pass
) -> None:
    Building.objects.filter(schema_name="alpha").update(anti_passback=True)

    first = scan(gate, slip_token(pass_record))
    second = scan(gate, slip_token(pass_record))
    scan(gate, slip_token(pass_record), direction="out")
    third = scan(gate, slip_token(pass_record))

    assert (first, second, third) == (
        (True, "granted"),
        (False, "anti_passback"),
        (True, "granted"),
    )
    assert state(pass_record)[0] == 2


def test_without_anti_passback_a_second_entry_is_granted(gate: Gate, pass_record: Pass) -> None:
    assert [scan(gate, slip_token(pass_record))[0] for _ in range(2)] == [True, True]


# --- Denied: the gate -----------------------------------------------------------------------


def test_entry_requested_at_an_exit_only_gate_is_denied_as_wrong_direction(
    pass_record: Pass,
) -> None:
    gate = make_gate(direction="out")

    assert scan(gate, slip_token(pass_record), direction="in") == (False, "wrong_direction")


def test_gate_out_of_service_is_denied_as_gate_inactive(gate: Gate, pass_record: Pass) -> None:
    Gate.objects.filter(pk=gate.pk).update(is_active=False)
    gate.refresh_from_db()

    assert scan(gate, slip_token(pass_record)) == (False, "gate_inactive")


def test_every_reason_code_is_covered_by_this_module() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    uncovered = [
        code for code in Reason.values if code not in ("passage",) and f'"{code}")' not in source
    ]

    assert uncovered == []


# --- Idempotency and passages ---------------------------------------------------------------


def test_repeated_event_id_gets_the_first_answer_and_changes_nothing(
    gate: Gate, pass_record: Pass
) -> None:
    event_id = uuid.uuid4()
    first = decide_scan(gate=gate, token=slip_token(pass_record), event_id=event_id)
    again = decide_scan(gate=gate, token=slip_token(pass_record), event_id=event_id)

    assert (first.replayed, again.replayed) == (False, True)
    assert again.event.pk == first.event.pk
    assert state(pass_record)[0] == 1
    assert AccessEvent.objects.count() == 1


def test_anonymous_exit_passage_is_counted_without_a_visitor(gate: Gate) -> None:
    decision = record_passage(ReportedPassage(uuid.uuid4(), gate, "out", timezone.now()))

    assert (decision.granted, decision.reason, decision.event.pass_record_id) == (
        True,
        "passage",
        None,
    )


def test_a_passage_on_a_test_pulse_is_recorded_as_a_test_passage(gate: Gate) -> None:
    decision = record_passage(
        ReportedPassage(uuid.uuid4(), gate, "in", timezone.now(), reason="test_passage")
    )

    assert (decision.granted, decision.reason, decision.event.pass_record_id) == (
        True,
        "test_passage",
        None,
    )


def test_offline_granted_entry_uses_the_pass_and_checks_the_visit_in(
    gate: Gate, pass_record: Pass
) -> None:
    passage = ReportedPassage(
        uuid.uuid4(), gate, "in", timezone.now(), pass_id=pass_record.pk, reason="granted"
    )

    record_passage(passage)
    record_passage(passage)

    assert state(pass_record) == (1, True, "checked_in")
    assert AccessEvent.objects.filter(mode="offline").count() == 1


def test_visitor_registered_twice_with_the_same_id_is_one_visitor(in_alpha: Building) -> None:
    first = make_visitor()
    second = make_visitor(mobile="13800000999")

    assert first.pk == second.pk


def test_rotate_signing_key_command_switches_new_tokens_to_the_new_key(
    pass_record: Pass, capsys: Any
) -> None:
    from django.core.management import call_command

    call_command("rotate_signing_key", "--building", "alpha")

    claims = tokens.parse_token(slip_token(pass_record)).claims
    assert claims.key_id == 2
    assert "now signs with key 2" in capsys.readouterr().out


def test_create_gate_agent_command_prints_a_key_that_authenticates(
    in_alpha: Building, capsys: Any
) -> None:
    from django.core.management import call_command

    call_command("create_gate_agent", "--building", "alpha", "--name", "Lobby")

    key = capsys.readouterr().out.strip().splitlines()[-1]
    agent = authenticate_agent(key)
    assert agent is not None and agent.name == "Lobby"
    assert key.split(".", 1)[1] not in agent.key_hash
    assert authenticate_agent(key[:-1] + ("A" if key[-1] != "A" else "B")) is None


def test_a_pass_opens_the_zones_of_the_company_visited_by_default(in_alpha: Building) -> None:
    """Without zones from a policy, a pass opens its company's floors and the common gates,
    not the rest of the building (the test host's company is on floor 8)."""
    pass_record = make_pass()
    assert pass_record.zones == ["8"]

    assert scan(make_gate(name="9F", zone="9", checks_zone=True), slip_token(pass_record)) == (
        False,
        "wrong_zone",
    )
    assert scan(make_gate(name="大堂", zone=""), slip_token(pass_record)) == (True, "granted")
    # A lobby that names its zone for the screens but does not check it is still common.
    assert scan(make_gate(name="大堂 2", zone="大堂"), slip_token(pass_record)) == (True, "granted")
    assert scan(make_gate(name="8F", zone="8", checks_zone=True), slip_token(pass_record)) == (
        True,
        "granted",
    )


def test_a_company_with_no_floors_or_zone_gives_passes_for_every_zone(in_alpha: Building) -> None:
    host = make_host()
    Company.objects.filter(pk=host.company_id).update(floors="", zone="")
    host.company.refresh_from_db()
    pass_record = make_pass(make_visit(host=host))

    assert pass_record.zones == []
    assert scan(make_gate(zone="9", checks_zone=True), slip_token(pass_record)) == (True, "granted")
