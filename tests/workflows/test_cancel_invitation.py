"""A host calls off an approved invitation (取消邀请) before the visitor comes: the visit is
cancelled, its passes stop opening the gate, the visitor is told once, and the audit log says
the host did it. A visitor who has come, a visit that is over, or a second try change
nothing and say why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from kernel.errors import ConflictError
from tenants.models import Building
from tests.access.conftest import SYSTEM, make_gate, make_host, make_pass, make_visit, slip_token
from visit_platform.access.actions import decide_scan
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.actions import cancel_invitation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def host_speaks_english() -> Iterator[None]:
    """The host acts in English; what the visitor is sent is in the building's language."""
    with translation.override("en"):
        yield


@pytest.fixture
def invitation(in_alpha: Building) -> Visit:
    """An approved invitation for tomorrow, with its pass (and a second one, rare but
    possible: a pass issued again)."""
    visit = make_visit(host=make_host(), starts=timezone.now() + timedelta(days=1))
    make_pass(visit)
    make_pass(visit)
    return visit


def host_actor(visit: Visit) -> Actor:
    return Actor.system(f"host {visit.host.name}")


def test_an_approved_invitation_is_cancelled_and_its_passes_refused_at_the_gate(
    invitation: Visit,
) -> None:
    actor = host_actor(invitation)

    cancelled = cancel_invitation(actor, invitation)

    assert cancelled.status == VisitStatus.CANCELLED
    passes = list(Pass.objects.filter(visit=invitation))
    assert len(passes) == 2
    assert all(p.revoked_at is not None for p in passes)
    assert {p.revoke_reason for p in passes} == {"Invitation cancelled by the host"}
    gate = make_gate()
    for pass_record in passes:
        decision = decide_scan(
            gate=gate,
            token=slip_token(pass_record),
            now=invitation.valid_from + timedelta(minutes=5),
        )
        assert (decision.granted, decision.reason) == (False, "revoked")
    entry = AuditEntry.objects.get(verb="visit.cancelled_by_host")
    assert entry.object_id == str(invitation.pk) and entry.actor_label == actor.name
    assert AuditEntry.objects.filter(verb="pass.revoked").count() == 2


def test_the_visitor_is_told_once_in_the_buildings_language(
    invitation: Visit, alpha: Building
) -> None:
    before = Notification.objects.count()

    cancel_invitation(host_actor(invitation), invitation)

    told = Notification.objects.order_by("pk")[before:]
    assert len(told) == 1
    (notice,) = told
    assert notice.purpose == "decision" and notice.visit_id == invitation.pk
    day = timezone.localtime(invitation.valid_from).strftime("%Y-%m-%d")
    assert alpha.name in notice.text and invitation.host.company.name in notice.text
    assert day in notice.text
    assert "取消" in notice.text  # alpha speaks Chinese, whatever the host's language


def test_a_replayed_cancellation_says_so_and_changes_nothing(invitation: Visit) -> None:
    actor = host_actor(invitation)
    cancel_invitation(actor, invitation)
    counts = (Notification.objects.count(), AuditEntry.objects.count())

    with pytest.raises(ConflictError) as refused:
        cancel_invitation(actor, invitation)

    assert refused.value.code == "already_cancelled"
    assert (Notification.objects.count(), AuditEntry.objects.count()) == counts


def test_an_arrival_a_moment_before_wins(invitation: Visit) -> None:
    """The host's page was loaded before the visitor came through the gate: the visit the
    host acts on is stale, and the conditional UPDATE sees the arrival."""
    stale = Visit.objects.get(pk=invitation.pk)
    pass_record = Pass.objects.filter(visit=invitation).first()
    assert pass_record is not None
    entered = decide_scan(
        gate=make_gate(),
        token=slip_token(pass_record),
        direction="in",
        now=invitation.valid_from + timedelta(minutes=5),
    )
    assert entered.granted
    before = Notification.objects.count()

    with pytest.raises(ConflictError) as refused:
        cancel_invitation(host_actor(invitation), stale)

    assert refused.value.code == "not_cancellable"
    assert refused.value.message.endswith("it is inside.")
    invitation.refresh_from_db()
    assert invitation.status == VisitStatus.CHECKED_IN
    assert not Pass.objects.filter(visit=invitation, revoked_at__isnull=False).exists()
    assert Notification.objects.count() == before


def test_an_invitation_used_at_a_gate_cannot_be_cancelled(invitation: Visit) -> None:
    """An entry counted while the visit still reads approved (a journal replayed by a gate
    agent, say) is enough: the visitor has come."""
    Pass.objects.filter(visit=invitation).update(uses=1)

    with pytest.raises(ConflictError) as refused:
        cancel_invitation(host_actor(invitation), invitation)

    assert refused.value.code == "already_used"
    invitation.refresh_from_db()
    assert invitation.status == VisitStatus.APPROVED
    assert not AuditEntry.objects.filter(verb="visit.cancelled_by_host").exists()


def test_a_visit_that_is_over_cannot_be_cancelled(in_alpha: Building) -> None:
    visit = make_visit(starts=timezone.now() - timedelta(hours=5), hours=2)
    make_pass(visit)

    with pytest.raises(ConflictError) as refused:
        cancel_invitation(SYSTEM, visit)

    assert refused.value.code == "visit_over"
    visit.refresh_from_db()
    assert visit.status == VisitStatus.APPROVED


def test_a_waiting_invitation_is_cancelled_as_the_visitor_would(in_alpha: Building) -> None:
    visit = make_visit(status=VisitStatus.PENDING_APPROVAL)

    cancel_invitation(SYSTEM, visit)

    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED
    assert AuditEntry.objects.filter(verb="visit.cancelled").count() == 1
    assert not AuditEntry.objects.filter(verb="visit.cancelled_by_host").exists()
