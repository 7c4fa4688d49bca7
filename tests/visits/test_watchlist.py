"""The watchlist flow (黑名单): proposed entries change nothing; approved ones (by another
person) refuse the person at every gate, revoke their passes, refuse their waiting visits and
change the gate agents' digest; removal and expiry let them in again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from viewflow.workflow import STATUS
from viewflow.workflow.models import Task

from kernel.errors import ConflictError, DomainError, PermissionDeniedError
from tenants.models import Building, User
from tests.access.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    make_agent,
    make_gate,
    make_pass,
    make_visit,
    make_visitor,
    slip_token,
)
from tests.conftest import admin_of, member
from visit_platform.access.actions import decide_scan, issue_pass
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.visits.choices import VisitStatus, WatchlistStatus
from visit_platform.visits.models import WatchlistEntry
from visit_platform.visits.queries import (
    is_watchlisted,
    watchlist_shown_status,
    watchlist_with_status,
)
from workflows import actions as workflow_actions
from workflows.actions import watchlist as watchlist_actions
from workflows.flows import watchlist as flow

MOBILE = "13800000001"  # the mobile make_visitor() gives


@pytest.fixture
def people(in_alpha: Building) -> dict[str, Actor]:
    return {
        "security": Actor(member(in_alpha, "guard@alpha.example", Role.SECURITY)),
        "admin": Actor(admin_of(in_alpha)),
        "second_admin": Actor(member(in_alpha, "second@alpha.example", Role.PROPERTY_ADMIN)),
    }


def scan(pass_record: Pass) -> tuple[bool, str]:
    decision = decide_scan(gate=make_gate(), token=slip_token(pass_record))
    return decision.granted, decision.reason


def propose(actor: Actor, **fields: Any) -> WatchlistEntry:
    return watchlist_actions.propose_entry(actor, reason=fields.pop("reason", "骚扰业主"), **fields)


def review_tasks(entry: WatchlistEntry) -> list[Task]:
    return list(
        Task.objects.filter(
            process__artifact_object_id=entry.pk, flow_task=flow.WatchlistFlow.review
        )
    )


# --- Proposing changes nothing ---------------------------------------------------------------


def test_a_proposed_entry_is_not_enforced_and_waits_in_the_property_admins_queue(
    people: dict[str, Actor],
) -> None:
    pass_record = make_pass()

    entry = propose(people["security"], mobile=MOBILE)

    assert entry.status == WatchlistStatus.PROPOSED
    assert entry.is_active is False
    assert scan(pass_record) == (True, "granted")
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is None
    [task] = review_tasks(entry)
    assert task.status == STATUS.NEW
    assert task.owner_permission == "visits.approve_watchlistentry"
    assert flow.review_queue() == [entry.pk]


def test_the_id_number_is_kept_only_as_its_blind_index_and_a_masked_copy(
    people: dict[str, Actor],
) -> None:
    visitor = make_visitor()

    entry = propose(people["security"], id_type="resident_id", id_number=VALID_RESIDENT_ID.lower())

    assert entry.id_number_index == visitor.id_number_index
    assert entry.id_number_masked == "1101**********002X"
    assert entry.birth_date is not None and entry.birth_date.isoformat() == "1949-12-31"
    assert VALID_RESIDENT_ID not in str(WatchlistEntry.objects.filter(pk=entry.pk).values().get())


# --- Approval enforces ------------------------------------------------------------------------


def test_approval_refuses_the_existing_pass_at_the_gate_revokes_it_and_no_new_pass_is_issued(
    people: dict[str, Actor],
) -> None:
    visit = make_visit()
    pass_record = make_pass(visit)
    entry = propose(people["security"], mobile=MOBILE)

    watchlist_actions.review(people["admin"], entry, approve=True, reason="核实")

    entry.refresh_from_db()
    assert (entry.status, entry.is_active, entry.approved_by) == (
        WatchlistStatus.ENFORCED,
        True,
        people["admin"].user,
    )
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is not None
    assert scan(pass_record) == (False, "watchlisted")
    with pytest.raises(DomainError) as refused:
        issue_pass(SYSTEM, visit)
    assert refused.value.code == "watchlisted"
    assert is_watchlisted(visit.visitor) is True
    [task] = review_tasks(entry)
    assert (task.status, task.owner) == (STATUS.DONE, people["admin"].user)
    assert task.process.status == "DONE"


def test_approval_refuses_the_persons_visits_waiting_for_approval_with_a_neutral_reason(
    people: dict[str, Actor],
) -> None:
    waiting = make_visit(status=VisitStatus.PENDING_APPROVAL)
    other = make_visit(
        visitor=make_visitor("李四", "13900000002", ""), status=VisitStatus.PENDING_APPROVAL
    )
    entry = propose(people["security"], mobile=MOBILE)

    watchlist_actions.review(people["admin"], entry, approve=True)

    waiting.refresh_from_db()
    other.refresh_from_db()
    assert waiting.status == VisitStatus.REJECTED
    assert "watchlist" not in waiting.decision_reason.lower()
    assert "黑名单" not in waiting.decision_reason
    assert other.status == VisitStatus.PENDING_APPROVAL


def test_approval_changes_the_gate_agents_watchlist_digest_and_revocation_list(
    people: dict[str, Actor],
) -> None:
    pass_record = make_pass()
    _agent, key = make_agent()
    agent = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    before = {name: agent.get(f"/api/gate/{name}") for name in ("watchlist", "revocations")}
    entry = propose(people["security"], mobile=MOBILE)
    proposed = agent.get("/api/gate/watchlist", HTTP_IF_NONE_MATCH=before["watchlist"]["ETag"])

    watchlist_actions.review(people["admin"], entry, approve=True)

    after = {
        name: agent.get(f"/api/gate/{name}", HTTP_IF_NONE_MATCH=before[name]["ETag"])
        for name in ("watchlist", "revocations")
    }
    assert proposed.status_code == 304
    assert after["watchlist"].status_code == after["revocations"].status_code == 200
    assert after["watchlist"].json()["pass_ids"] == [pass_record.pk]
    assert after["revocations"].json()["pass_ids"] == [pass_record.pk]
    scanned = agent.post(
        "/api/gate/scans",
        data=json.dumps({"gate_id": make_gate().pk, "token": slip_token(pass_record)}),
        content_type="application/json",
    )
    assert (scanned.json()["granted"], scanned.json()["reason"]) == (False, "watchlisted")


# --- Four eyes, races, rejection --------------------------------------------------------------


def test_a_property_admin_cannot_approve_their_own_proposal_but_another_can(
    people: dict[str, Actor],
) -> None:
    pass_record = make_pass()
    entry = propose(people["admin"], mobile=MOBILE)

    with pytest.raises(PermissionDeniedError) as refused:
        watchlist_actions.review(people["admin"], entry, approve=True)

    assert refused.value.code == "own_proposal"
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.PROPOSED
    [task] = review_tasks(entry)
    assert (task.status, task.owner) == (STATUS.NEW, None)  # rolled back with the refusal
    assert scan(pass_record) == (True, "granted")
    watchlist_actions.review(people["second_admin"], entry, approve=True)
    assert scan(pass_record) == (False, "watchlisted")


def test_security_cannot_decide_a_proposal(people: dict[str, Actor]) -> None:
    entry = propose(people["admin"], mobile=MOBILE)

    with pytest.raises(PermissionDeniedError):
        watchlist_actions.review(people["security"], entry, approve=False, reason="不同意")

    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.PROPOSED


def test_a_proposal_is_decided_once_and_the_second_reviewer_is_told(
    people: dict[str, Actor],
) -> None:
    entry = propose(people["security"], mobile=MOBILE)
    seen_by_second = WatchlistEntry.objects.get(pk=entry.pk)

    watchlist_actions.review(people["admin"], entry, approve=True)
    with pytest.raises(ConflictError) as late:
        watchlist_actions.review(
            people["second_admin"], seen_by_second, approve=False, reason="不同意"
        )
    with pytest.raises(ConflictError) as twice:
        workflow_actions.approve_watchlist_entry(people["second_admin"], seen_by_second)

    assert late.value.code == twice.value.code == "already_decided"
    assert "Enforced" in late.value.message or "已生效" in late.value.message
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.ENFORCED
    assert (
        AuditEntry.objects.filter(verb="watchlist.approved", object_id=str(entry.pk)).count() == 1
    )
    assert not AuditEntry.objects.filter(verb="watchlist.rejected").exists()


def test_a_rejected_proposal_changes_nothing_and_needs_a_reason(
    people: dict[str, Actor],
) -> None:
    pass_record = make_pass()
    entry = propose(people["security"], mobile=MOBILE)

    with pytest.raises(DomainError) as no_reason:
        watchlist_actions.review(people["admin"], entry, approve=False, reason="  ")
    watchlist_actions.review(people["admin"], entry, approve=False, reason="证据不足")

    assert no_reason.value.code == "reason_required"
    entry.refresh_from_db()
    assert (entry.status, entry.is_active, entry.review_reason) == (
        WatchlistStatus.REJECTED,
        False,
        "证据不足",
    )
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is None
    assert scan(pass_record) == (True, "granted")
    [task] = review_tasks(entry)
    assert task.status == STATUS.DONE


def test_the_proposer_may_withdraw_their_own_proposal_by_rejecting_it(
    people: dict[str, Actor],
) -> None:
    entry = propose(people["admin"], mobile=MOBILE)

    watchlist_actions.review(people["admin"], entry, approve=False, reason="提交有误")

    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.REJECTED


# --- Removal ----------------------------------------------------------------------------------


def enforced_entry(people: dict[str, Actor]) -> WatchlistEntry:
    entry = propose(people["security"], mobile=MOBILE)
    return watchlist_actions.review(people["admin"], entry, approve=True)


def test_an_entry_stays_enforced_until_its_removal_is_approved_then_a_new_pass_is_admitted(
    people: dict[str, Actor],
) -> None:
    visit = make_visit()
    old_pass = make_pass(visit)
    entry = enforced_entry(people)

    entry = watchlist_actions.propose_removal(people["security"], entry, reason="误报")
    assert entry.status == WatchlistStatus.REMOVAL_PROPOSED
    assert scan(old_pass) == (False, "watchlisted")
    with pytest.raises(PermissionDeniedError):
        watchlist_actions.review(people["security"], entry, approve=True)

    entry = watchlist_actions.review(people["admin"], entry, approve=True, reason="同意移除")

    assert (entry.status, entry.is_active) == (WatchlistStatus.REMOVED, False)
    assert is_watchlisted(visit.visitor) is False
    old_pass.refresh_from_db()
    assert old_pass.revoked_at is not None  # revoked stays revoked
    new_pass = make_pass(visit)
    assert scan(new_pass) == (True, "granted")
    verbs = list(
        AuditEntry.objects.filter(object_id=str(entry.pk), verb__startswith="watchlist.")
        .order_by("pk")
        .values_list("verb", "actor_label")
    )
    assert verbs == [
        ("watchlist.proposed", "guard@alpha.example"),
        ("watchlist.approved", "admin@alpha.example"),
        ("watchlist.enforced", "admin@alpha.example"),
        ("watchlist.removal_proposed", "guard@alpha.example"),
        ("watchlist.removed", "admin@alpha.example"),
    ]


def test_the_removal_proposer_cannot_approve_the_removal(people: dict[str, Actor]) -> None:
    entry = enforced_entry(people)
    entry = watchlist_actions.propose_removal(people["admin"], entry, reason="误报")

    with pytest.raises(PermissionDeniedError):
        watchlist_actions.review(people["admin"], entry, approve=True)
    entry = watchlist_actions.review(people["second_admin"], entry, approve=True)

    assert entry.status == WatchlistStatus.REMOVED


def test_a_rejected_removal_keeps_the_entry_enforced(people: dict[str, Actor]) -> None:
    pass_record = make_pass(make_visit(visitor=make_visitor("王五", "13900000003", "")))
    entry = watchlist_actions.review(
        people["admin"], propose(people["security"], mobile="13900000003"), approve=True
    )
    entry = watchlist_actions.propose_removal(people["security"], entry, reason="误报")

    entry = watchlist_actions.review(people["admin"], entry, approve=False, reason="仍有风险")

    assert (entry.status, entry.is_active, entry.removal_reason) == (
        WatchlistStatus.ENFORCED,
        True,
        "",
    )
    assert scan(pass_record) == (False, "watchlisted")


def test_only_an_enforced_entry_can_be_proposed_for_removal(people: dict[str, Actor]) -> None:
    entry = propose(people["security"], mobile=MOBILE)

    with pytest.raises(ConflictError) as refused:
        watchlist_actions.propose_removal(people["security"], entry, reason="误报")

    assert refused.value.code == "not_enforced"


# --- Expiry -----------------------------------------------------------------------------------


def test_an_entry_past_its_end_date_no_longer_refuses_and_shows_as_expired(
    people: dict[str, Actor],
) -> None:
    visit = make_visit()
    entry = propose(
        people["security"], mobile=MOBILE, expires_at=timezone.now() + timedelta(days=1)
    )
    entry = watchlist_actions.review(people["admin"], entry, approve=True)
    assert watchlist_shown_status(entry) == "enforced"

    # The end date passes (moved back rather than waiting for it).
    WatchlistEntry.objects.filter(pk=entry.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    entry.refresh_from_db()

    assert watchlist_shown_status(entry) == "expired"
    assert list(watchlist_with_status("expired")) == [entry]
    assert not watchlist_with_status("enforced").exists()
    assert is_watchlisted(visit.visitor) is False
    assert scan(make_pass(visit)) == (True, "granted")


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "identity_required"),
        ({"name": "张三"}, "identity_required"),
        ({"mobile": "12345"}, "mobile_invalid"),
        ({"mobile": "1" * 40}, "mobile_invalid"),
        ({"id_type": "resident_id", "id_number": "110105194912310021"}, "id_number_invalid"),
        ({"id_number": "E12345678"}, "id_type_invalid"),
        ({"id_type": "spaceship", "id_number": "E12345678"}, "id_type_invalid"),
        ({"name": "张" * 101, "mobile": MOBILE}, "name_too_long"),
        ({"mobile": MOBILE, "reason": ""}, "reason_required"),
        ({"mobile": MOBILE, "reason": "x" * 2001}, "reason_too_long"),
        ({"mobile": MOBILE, "expires_at": timezone.now() - timedelta(hours=1)}, "expiry_in_past"),
    ],
)
def test_a_bad_proposal_is_refused_with_a_code_and_writes_nothing(
    people: dict[str, Actor], fields: dict[str, Any], code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        propose(people["security"], **fields)

    assert refused.value.code == code
    assert not WatchlistEntry.objects.exists()
    assert not Task.objects.exists()


def test_the_same_person_is_not_proposed_twice(people: dict[str, Actor]) -> None:
    first = propose(people["security"], mobile=MOBILE)

    with pytest.raises(ConflictError) as again:
        propose(people["admin"], mobile="+86 138 0000 0001", reason="重复")

    assert again.value.code == "already_listed"
    assert list(WatchlistEntry.objects.values_list("pk", flat=True)) == [first.pk]


def test_programs_write_entries_directly_but_people_must_propose(
    people: dict[str, Actor],
) -> None:
    with pytest.raises(PermissionDeniedError):
        workflow_actions.add_to_watchlist(people["admin"], reason="直接", mobile=MOBILE)

    entry = workflow_actions.add_to_watchlist(SYSTEM, reason="导入", mobile=MOBILE)

    assert entry.status == WatchlistStatus.ENFORCED


def test_a_user_of_another_building_cannot_review_here(
    people: dict[str, Actor], beta: Building
) -> None:
    outsider = User.objects.get(email="admin@beta.example")
    entry = propose(people["security"], mobile=MOBILE)

    with pytest.raises(PermissionDeniedError):
        watchlist_actions.review(Actor(outsider), entry, approve=True)

    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.PROPOSED


def test_the_review_waits_in_the_property_admins_viewflow_queue_not_in_securitys(
    people: dict[str, Actor],
) -> None:
    entry = propose(people["security"], mobile=MOBILE)
    [task] = review_tasks(entry)

    admins_queue = Task.objects.queue([flow.WatchlistFlow], people["second_admin"].user)
    guards_queue = Task.objects.queue([flow.WatchlistFlow], people["security"].user)

    assert list(admins_queue) == [task]
    assert list(guards_queue) == []
