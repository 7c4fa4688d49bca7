"""Revoking one pass from the console: who may, what a bad or replayed post does, and that the
revocation reaches the gates (the online decision and the agents' revocation list)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from kernel.privacy import mask_name
from tenants.models import Building, User
from tests.access.conftest import make_agent, make_gate, make_pass, make_visit, slip_token
from tests.conftest import admin_of, client_for, member
from visit_platform.access.actions import revoke_pass
from visit_platform.access.models import Pass
from visit_platform.access.queries import revocation_list
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.visits.choices import VisitStatus
from workflows.timeline import visit_timeline

pytestmark = pytest.mark.django_db


def revoke_url(pass_record: Pass | int) -> str:
    pk = pass_record if isinstance(pass_record, int) else pass_record.pk
    return f"/passes/{pk}/revoke/"


def timeline_url(pass_record: Pass) -> str:
    return f"/visits/{pass_record.visit_id}/timeline/"


@pytest.fixture
def guard(in_alpha: Building) -> User:
    return member(in_alpha, "guard@alpha.example", Role.SECURITY)


def test_security_revokes_a_pass_with_a_reason_and_it_is_audited(
    in_alpha: Building, guard: User
) -> None:
    pass_record = make_pass()

    response = client_for(in_alpha, guard).post(
        revoke_url(pass_record), {"reason": "  lost phone  "}
    )

    assert response.status_code == 302
    assert response["Location"] == timeline_url(pass_record)
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is not None
    assert pass_record.revoke_reason == "lost phone"
    entry = AuditEntry.objects.get(verb="pass.revoked", object_id=str(pass_record.pk))
    assert entry.actor == guard
    assert entry.detail["reason"] == "lost phone"


def test_the_timeline_says_who_revoked_the_pass(in_alpha: Building, guard: User) -> None:
    pass_record = make_pass()
    client = client_for(in_alpha, guard)
    client.post(revoke_url(pass_record), {"reason": "lost phone"})

    steps = visit_timeline(pass_record.visit)

    revoked = [step for step in steps if str(step.what) == str(_("Pass revoked"))]
    assert [(step.by, step.detail) for step in revoked] == [("guard@alpha.example", "lost phone")]


def test_a_property_admin_may_revoke_too(in_alpha: Building) -> None:
    pass_record = make_pass()

    response = client_for(in_alpha, admin_of(in_alpha)).post(
        revoke_url(pass_record), {"reason": "visit called off"}
    )

    assert response.status_code == 302
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is not None


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.COMPANY_ADMIN, Role.HOST])
def test_other_roles_may_not_revoke(in_alpha: Building, role: str) -> None:
    pass_record = make_pass()
    company = pass_record.visit.host.company if role != Role.RECEPTION else None
    user = member(in_alpha, f"{role}@alpha.example", role, company=company)

    response = client_for(in_alpha, user).post(revoke_url(pass_record), {"reason": "no"})

    assert response.status_code == 403
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is None
    assert not AuditEntry.objects.filter(verb="pass.revoked").exists()


def test_the_timeline_offers_the_revoke_button_only_to_those_who_may(
    in_alpha: Building, guard: User
) -> None:
    pass_record = make_pass()
    reception = member(in_alpha, "desk@alpha.example", Role.RECEPTION)
    form = f'action="{revoke_url(pass_record)}"'

    shown = client_for(in_alpha, guard).get(timeline_url(pass_record)).content.decode()
    hidden = client_for(in_alpha, reception).get(timeline_url(pass_record)).content.decode()

    assert form in shown and 'name="reason" required' in shown and "data-confirm=" in shown
    assert f'data-pass="{pass_record.pk}"' in hidden
    assert form not in hidden


def test_a_revoked_pass_shows_its_reason_and_no_button(in_alpha: Building, guard: User) -> None:
    pass_record = make_pass()
    revoke_pass(Actor.system("tests"), pass_record, "lost phone")

    page = client_for(in_alpha, guard).get(timeline_url(pass_record)).content.decode()

    assert "lost phone" in page
    assert f'action="{revoke_url(pass_record)}"' not in page


def test_a_get_is_not_allowed(in_alpha: Building, guard: User) -> None:
    pass_record = make_pass()

    response = client_for(in_alpha, guard).get(revoke_url(pass_record))

    assert response.status_code == 405
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is None


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_a_missing_or_oversized_reason_is_refused_and_changes_nothing(
    in_alpha: Building, guard: User, reason: str
) -> None:
    pass_record = make_pass()
    client = client_for(in_alpha, guard)

    response = client.post(revoke_url(pass_record), {"reason": reason}, follow=True)

    assert response.status_code == 200
    messages = [m.message for m in response.context["messages"]]
    assert len(messages) == 1 and messages[0]
    assert response.redirect_chain == [(timeline_url(pass_record), 302)]
    pass_record.refresh_from_db()
    assert (pass_record.revoked_at, pass_record.revoke_reason) == (None, "")
    assert not AuditEntry.objects.filter(verb="pass.revoked").exists()


def test_a_replayed_post_changes_nothing_more(in_alpha: Building, guard: User) -> None:
    pass_record = make_pass()
    client = client_for(in_alpha, guard)
    client.post(revoke_url(pass_record), {"reason": "lost phone"})
    pass_record.refresh_from_db()
    first = pass_record.revoked_at

    again = client.post(revoke_url(pass_record), {"reason": "another reason"})

    assert again.status_code == 302
    pass_record.refresh_from_db()
    assert (pass_record.revoked_at, pass_record.revoke_reason) == (first, "lost phone")
    assert AuditEntry.objects.filter(verb="pass.revoked").count() == 1


@pytest.mark.parametrize("pk", [0, 987654321, 2**63, 10**30])
def test_a_forged_pass_number_is_not_found(in_alpha: Building, guard: User, pk: int) -> None:
    response = client_for(in_alpha, guard).post(revoke_url(pk), {"reason": "x"})

    assert response.status_code == 404


def test_a_pass_of_another_building_is_not_found(
    in_alpha: Building, beta: Building, guard: User
) -> None:
    pass_record = make_pass()

    intruder = member(beta, "guard@beta.example", Role.SECURITY)
    response = client_for(beta, intruder).post(revoke_url(pass_record), {"reason": "x"})

    assert response.status_code == 404
    with schema_context("alpha"):
        pass_record.refresh_from_db()
    assert pass_record.revoked_at is None


def test_a_post_without_its_csrf_token_is_refused(in_alpha: Building, guard: User) -> None:
    pass_record = make_pass()
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    client.force_login(guard, backend="visit_platform.directory.backends.MembershipBackend")

    response = client.post(revoke_url(pass_record), {"reason": "lost phone"})

    assert response.status_code == 403
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is None


def test_a_pass_revoked_in_the_console_is_refused_at_the_gate_and_listed_for_agents(
    in_alpha: Building, guard: User
) -> None:
    pass_record = make_pass()
    gate = make_gate()
    _agent, key = make_agent()
    agent = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    before = agent.get("/api/gate/revocations")

    client_for(in_alpha, guard).post(revoke_url(pass_record), {"reason": "lost phone"})
    scan = agent.post(
        "/api/gate/scans",
        {"gate_id": gate.pk, "token": slip_token(pass_record), "event_id": str(uuid.uuid4())},
        content_type="application/json",
    )
    after = agent.get("/api/gate/revocations", HTTP_IF_NONE_MATCH=before["ETag"])

    assert before.json()["pass_ids"] == []
    assert (scan.status_code, scan.json()["granted"], scan.json()["reason"]) == (
        200,
        False,
        "revoked",
    )
    assert after.status_code == 200
    assert after.json()["pass_ids"] == [pass_record.pk] == revocation_list().pass_ids
    pass_record.visit.refresh_from_db()
    assert pass_record.visit.status == VisitStatus.APPROVED


def test_a_pass_already_over_offers_no_button(in_alpha: Building, guard: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    visit = make_visit(starts=timezone.now() - timedelta(hours=6), hours=2)
    pass_record = make_pass(visit)

    page = client_for(in_alpha, guard).get(timeline_url(pass_record)).content.decode()

    assert f'data-pass="{pass_record.pk}"' in page
    assert f'action="{revoke_url(pass_record)}"' not in page


def test_security_sees_the_whole_name_on_the_timeline_and_the_view_is_audited(
    in_alpha: Building, guard: User
) -> None:
    pass_record = make_pass()
    name = pass_record.visit.visitor_name
    admin = admin_of(in_alpha)

    seen_by_guard = client_for(in_alpha, guard).get(timeline_url(pass_record)).content.decode()
    seen_by_admin = client_for(in_alpha, admin).get(timeline_url(pass_record)).content.decode()

    assert name in seen_by_guard
    assert name not in seen_by_admin and mask_name(name) in seen_by_admin
    entry = AuditEntry.objects.get(verb="visits.viewed", actor=guard)
    assert entry.detail == {
        "page": "timeline",
        "visits": [pass_record.visit_id],
        "full_names": True,
    }
    assert not AuditEntry.objects.filter(verb="visits.viewed", actor=admin).exists()
