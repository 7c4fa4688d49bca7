"""The alerts page reads well for the kinds the platform raises: who a watchlist hit or an
overstay is about (full name for security, audited; masked for everyone else), a burst's
count, window and reasons, and the agent or controller that went silent."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from kernel.privacy import mask_name
from tenants.models import Building
from tests.access.conftest import make_agent, make_gate, make_visit, make_visitor
from tests.conftest import admin_of, client_for, member
from visit_platform.access.actions import raise_alert
from visit_platform.access.choices import AlertKind
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db

VISITOR = "欧阳娜娜"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def guard(alpha: Building) -> Client:
    return english(client_for(alpha, member(alpha, "guard@alpha.example", Role.SECURITY)))


@pytest.fixture
def property_admin(alpha: Building) -> Client:
    return english(client_for(alpha, admin_of(alpha)))


def watchlist_hit(key: str = "hit:1") -> int:
    visit = make_visit(visitor=make_visitor(name=VISITOR, mobile="13800000077"))
    raise_alert(AlertKind.WATCHLIST_HIT, key=key, gate=make_gate("东门"), visit=visit)
    return visit.pk


def test_security_sees_the_full_name_of_a_watchlist_hit_and_the_view_is_audited(
    in_alpha: Building, guard: Client
) -> None:
    visit_id = watchlist_hit()

    page = guard.get("/alerts/").content.decode()

    assert VISITOR in page and "Watchlisted person at a gate" in page
    entry = AuditEntry.objects.get(verb="alerts.visitors_viewed")
    assert entry.actor_label == "guard@alpha.example"
    assert entry.detail["visits"] == [visit_id]


def test_a_property_admin_sees_the_visitor_masked_and_nothing_is_audited(
    in_alpha: Building, property_admin: Client
) -> None:
    watchlist_hit()

    page = property_admin.get("/alerts/").content.decode()

    assert VISITOR not in page and mask_name(VISITOR) in page
    assert not AuditEntry.objects.filter(verb="alerts.visitors_viewed").exists()


def test_a_page_without_visitors_audits_nothing_for_security(
    in_alpha: Building, guard: Client
) -> None:
    raise_alert(AlertKind.DENIAL_BURST, key="burst:1", gate=make_gate("西门"))

    assert guard.get("/alerts/").status_code == 200
    assert not AuditEntry.objects.filter(verb="alerts.visitors_viewed").exists()


def test_an_overstay_names_its_visitor_too(in_alpha: Building, property_admin: Client) -> None:
    visit = make_visit(visitor=make_visitor(name=VISITOR, mobile="13800000078"))
    raise_alert(AlertKind.OVERSTAY, key="overstay:1", visit=visit)

    page = property_admin.get("/alerts/").content.decode()

    assert "Visitor overstaying" in page and mask_name(VISITOR) in page


def test_a_burst_shows_its_count_window_and_reasons(
    in_alpha: Building, property_admin: Client
) -> None:
    raise_alert(
        AlertKind.DENIAL_BURST,
        key="burst:2",
        gate=make_gate("西门"),
        details={"count": 5, "window_seconds": 60, "reasons": ["expired", "invalid_token"]},
    )

    page = property_admin.get("/alerts/").content.decode()

    assert "5 refusals within 60 seconds" in page
    assert "The pass has expired; The code is not a valid pass" in page


def test_a_burst_with_a_reason_code_unknown_today_still_renders(
    in_alpha: Building, property_admin: Client
) -> None:
    """Details are stored JSON: a reason code from an older or newer release is skipped."""
    raise_alert(
        AlertKind.DENIAL_BURST,
        key="burst:3",
        gate=make_gate("西门"),
        details={"count": 1, "window_seconds": 30, "reasons": ["<script>", "expired"]},
    )

    response = property_admin.get("/alerts/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 refusal within 30 seconds" in page and "<script>" not in page


def test_a_silent_agent_is_named(in_alpha: Building, guard: Client) -> None:
    agent, _key = make_agent("north lobby agent")
    raise_alert(AlertKind.AGENT_OFFLINE, key="agent:1", agent=agent)

    page = guard.get("/alerts/").content.decode()

    assert "Gate agent silent" in page and "north lobby agent" in page


def test_a_burst_reads_in_chinese_by_default(in_alpha: Building, alpha: Building) -> None:
    raise_alert(
        AlertKind.DENIAL_BURST,
        key="burst:4",
        gate=make_gate("西门"),
        details={"count": 5, "window_seconds": 60, "reasons": ["expired"]},
    )

    page = client_for(alpha, admin_of(alpha)).get("/alerts/").content.decode()

    assert "60 秒内拒绝通行 5 次" in page
