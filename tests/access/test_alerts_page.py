"""The console's alerts page: who sees it, its filters, and acknowledging an alert with a note."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from kernel.errors import ConflictError, DomainError
from tenants.models import Building, User
from tests.access.conftest import make_gate, make_host
from tests.conftest import admin_of, client_for, member
from visit_platform.access import actions
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Alert, Gate
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db


def report(
    kind: str = AlertKind.DOOR_FORCED, gate: Gate | None = None, at: datetime | None = None
) -> Alert:
    """An alert as a gate agent reports it."""
    alert, _replay = actions.record_alert(
        actions.ReportedAlert(
            event_id=uuid.uuid4(), kind=kind, occurred_at=at or timezone.now(), gate=gate
        )
    )
    return alert


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


@pytest.fixture
def security(alpha: Building) -> User:
    return member(alpha, "guard@alpha.example", Role.SECURITY)


@pytest.fixture
def guard(alpha: Building, security: User) -> Client:
    return english(client_for(alpha, security))


def acknowledge(client: Client, alert: Alert, note: str, query: str = ""):  # type: ignore[no-untyped-def]
    return client.post(f"/alerts/{alert.pk}/acknowledge/{query}", {"note": note})


# --- Who may see it -------------------------------------------------------------------------


def test_security_and_property_admins_see_the_alerts_page(alpha: Building, guard: Client) -> None:
    with schema_context("alpha"):
        report(gate=make_gate("东门"))

    for client in (guard, english(client_for(alpha, admin_of(alpha)))):
        response = client.get("/alerts/")
        assert response.status_code == 200
        assert "Door forced open" in page_of(response)
        assert "东门" in page_of(response)
        assert 'href="/alerts/"' in page_of(response)  # in the navigation


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.HOST, Role.COMPANY_ADMIN])
def test_other_roles_may_neither_see_nor_acknowledge(alpha: Building, role: str) -> None:
    company = None
    with schema_context("alpha"):
        alert = report()
        if role != Role.RECEPTION:
            company = make_host().company
    client = english(client_for(alpha, member(alpha, f"{role}@alpha.example", role, company)))

    listing = client.get("/alerts/")
    posted = acknowledge(client, alert, "checked")

    assert listing.status_code == 403
    assert 'href="/alerts/"' not in page_of(client.get("/"))
    assert posted.status_code == 403
    with schema_context("alpha"):
        assert Alert.objects.get(pk=alert.pk).acknowledged_at is None


def test_anonymous_visitors_are_sent_to_sign_in(alpha: Building) -> None:
    with schema_context("alpha"):
        alert = report()
    client = client_for(alpha)

    assert client.get("/alerts/").status_code == 302
    assert acknowledge(client, alert, "checked").status_code == 302
    with schema_context("alpha"):
        assert Alert.objects.get(pk=alert.pk).acknowledged_at is None


def test_another_buildings_admin_sees_none_of_alphas_alerts(
    alpha: Building, beta: Building
) -> None:
    with schema_context("alpha"):
        alert = report(gate=make_gate("阿尔法东门"))
    beta_admin = admin_of(beta)

    on_alpha = client_for(alpha, beta_admin).get("/alerts/")
    on_beta = client_for(beta, beta_admin).get("/alerts/")
    posted_on_beta = acknowledge(client_for(beta, beta_admin), alert, "checked")

    assert on_alpha.status_code == 403
    assert "阿尔法东门" not in page_of(on_alpha)
    assert on_beta.status_code == 200 and "阿尔法东门" not in page_of(on_beta)
    # Same primary key, other building: there is no such alert in beta.
    assert posted_on_beta.status_code == 404
    with schema_context("alpha"):
        assert Alert.objects.get(pk=alert.pk).acknowledged_at is None


# --- The list and its filters ---------------------------------------------------------------


def test_open_alerts_come_first_newest_first_then_acknowledged_ones(
    in_alpha: Building, guard: Client, security: User
) -> None:
    now = timezone.now()
    old_open = report(gate=make_gate("gate-old-open"), at=now - timedelta(hours=3))
    acknowledged = report(gate=make_gate("gate-acknowledged"), at=now - timedelta(minutes=1))
    new_open = report(gate=make_gate("gate-new-open"), at=now - timedelta(hours=1))
    actions.acknowledge_alert(Actor(user=security), acknowledged, "Checked the door: closed.")

    page = page_of(guard.get("/alerts/"))

    rows = [f"{name}</td>" for name in ("gate-new-open", "gate-old-open", "gate-acknowledged")]
    positions = [page.index(row) for row in rows]
    assert positions == sorted(positions)
    assert f'id="alert-{new_open.pk}"' in page and f'id="alert-{old_open.pk}"' in page


def test_filters_by_kind_gate_state_and_local_dates(
    in_alpha: Building, guard: Client, security: User
) -> None:
    east, west = make_gate("east-gate"), make_gate("west-gate")
    # Days are the building's local days: 23:30 there on 1 March is 1 March, whatever UTC says.
    zone = ZoneInfo(in_alpha.time_zone or settings.TIME_ZONE)
    late_local = datetime(2026, 3, 1, 23, 30, tzinfo=zone)
    forced_east = report(AlertKind.DOOR_FORCED, east, at=late_local)
    alarm_west = report(AlertKind.ALARM, west, at=late_local + timedelta(days=2))
    actions.acknowledge_alert(Actor(user=security), alarm_west, "Reset the alarm.")

    by_kind = page_of(guard.get("/alerts/?kind=alarm"))
    by_gate = page_of(guard.get(f"/alerts/?gate={east.pk}"))
    open_only = page_of(guard.get("/alerts/?state=open"))
    acknowledged_only = page_of(guard.get("/alerts/?state=acknowledged"))
    on_the_first = page_of(guard.get("/alerts/?from=2026-03-01&to=2026-03-01"))
    from_the_second = page_of(guard.get("/alerts/?from=2026-03-02"))

    assert "west-gate</td>" in by_kind and "east-gate</td>" not in by_kind
    assert "east-gate</td>" in by_gate and "west-gate</td>" not in by_gate
    assert "east-gate</td>" in open_only and "west-gate</td>" not in open_only
    assert "west-gate</td>" in acknowledged_only and "east-gate</td>" not in acknowledged_only
    assert "east-gate</td>" in on_the_first and "west-gate</td>" not in on_the_first
    assert "west-gate</td>" in from_the_second and "east-gate</td>" not in from_the_second
    assert forced_east.pk


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=meteor", "Unknown alert kind"),
        ("gate=abc", "No such gate"),
        ("gate=999999", "No such gate"),
        ("gate=99999999999999999999999", "No such gate"),
        ("gate=١٢", "No such gate"),
        ("state=closed", "Unknown state"),
        ("from=2026-13-45", "is not a date"),
        ("to=yesterday", "is not a date"),
        ("from=2026-03-05&to=2026-03-01", "The start date is after the end date"),
        ("page=-3", ""),
    ],
)
def test_bad_filter_values_get_a_readable_message_and_the_page_still_works(
    in_alpha: Building, guard: Client, query: str, message: str
) -> None:
    report(gate=make_gate("still-listed"))

    response = guard.get(f"/alerts/?{query}")

    assert response.status_code == 200
    assert message in page_of(response)
    assert "still-listed" in page_of(response)


def test_the_list_is_paginated(in_alpha: Building, guard: Client) -> None:
    for _index in range(26):
        report()

    first, second = guard.get("/alerts/"), guard.get("/alerts/?page=2")

    assert "Page 1 of 2" in page_of(first)
    assert page_of(first).count('<tr id="alert-') == 25
    assert page_of(second).count('<tr id="alert-') == 1


def test_times_are_in_the_buildings_local_time(in_alpha: Building, guard: Client) -> None:
    moment = datetime(2026, 3, 1, 1, 2, 3, tzinfo=UTC)
    report(at=moment)
    local = moment.astimezone(ZoneInfo(in_alpha.time_zone or settings.TIME_ZONE))
    assert local.utcoffset()  # the test means something only away from UTC

    assert local.strftime("%Y-%m-%d %H:%M:%S") in page_of(guard.get("/alerts/"))


# --- Acknowledging --------------------------------------------------------------------------


def test_acknowledging_with_a_note_closes_the_alert_and_is_audited(
    in_alpha: Building, guard: Client, security: User
) -> None:
    alert = report(gate=make_gate("north"))

    response = acknowledge(guard, alert, "  Door checked, closed again.  ", "?state=open")

    assert response.status_code == 302
    assert response["Location"] == "/alerts/?state=open"
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert alert.acknowledged_by == security
    assert alert.acknowledgement_note == "Door checked, closed again."
    entry = AuditEntry.objects.get(verb="alert.acknowledged", object_id=str(alert.pk))
    assert entry.actor == security
    assert entry.detail["note"] == "Door checked, closed again."
    page = page_of(guard.get("/alerts/"))
    assert "By guard@alpha.example at" in page
    assert "Door checked, closed again." in page
    assert f'action="/alerts/{alert.pk}/acknowledge/' not in page


@pytest.mark.parametrize(
    ("note", "message"),
    [("", "Write a note"), ("   ", "Write a note"), ("x" * 501, "at most 500 characters")],
)
def test_an_empty_or_oversized_note_is_refused_and_changes_nothing(
    in_alpha: Building, guard: Client, note: str, message: str
) -> None:
    alert = report()

    response = acknowledge(guard, alert, note)

    assert response.status_code == 400
    assert message in page_of(response)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None and alert.acknowledged_by is None
    assert alert.acknowledgement_note == ""
    assert not AuditEntry.objects.filter(verb="alert.acknowledged").exists()
    with pytest.raises(DomainError) as refused:
        actions.acknowledge_alert(Actor.system("tests"), alert, note)
    assert refused.value.details == {"field": "note"}


def test_a_second_acknowledgement_is_refused_and_says_who_was_first(
    alpha: Building, guard: Client
) -> None:
    with schema_context("alpha"):
        alert = report()
    other = english(client_for(alpha, admin_of(alpha)))

    first = acknowledge(guard, alert, "I went to look.")
    second = acknowledge(other, alert, "So did I.")

    assert first.status_code == 302
    assert second.status_code == 409
    assert "already acknowledged by guard@alpha.example" in page_of(second)
    with schema_context("alpha"):
        alert.refresh_from_db()
        assert alert.acknowledgement_note == "I went to look."
        assert AuditEntry.objects.filter(verb="alert.acknowledged").count() == 1


def test_the_action_lets_one_of_two_stale_copies_through(
    in_alpha: Building, security: User
) -> None:
    """Both people loaded the alert while it was open: the conditional UPDATE decides."""
    copy_one = Alert.objects.get(pk=report().pk)
    copy_two = Alert.objects.get(pk=copy_one.pk)

    actions.acknowledge_alert(Actor(user=security), copy_one, "first")
    with pytest.raises(ConflictError):
        actions.acknowledge_alert(Actor.system("tests"), copy_two, "second")

    assert Alert.objects.get(pk=copy_one.pk).acknowledgement_note == "first"


def test_a_replayed_post_changes_nothing_more(in_alpha: Building, guard: Client) -> None:
    alert = report()
    acknowledge(guard, alert, "Checked.")
    alert.refresh_from_db()
    first_time = alert.acknowledged_at

    replay = acknowledge(guard, alert, "Checked.")

    assert replay.status_code == 409
    alert.refresh_from_db()
    assert alert.acknowledged_at == first_time
    assert AuditEntry.objects.filter(verb="alert.acknowledged").count() == 1


def test_a_forged_post_without_the_csrf_token_is_refused(alpha: Building, security: User) -> None:
    with schema_context("alpha"):
        alert = report()
    browser = client_for(alpha, security)
    browser.handler.enforce_csrf_checks = True

    response = acknowledge(browser, alert, "forged")

    assert response.status_code == 403
    with schema_context("alpha"):
        assert Alert.objects.get(pk=alert.pk).acknowledged_at is None


def test_acknowledging_needs_a_post_and_an_existing_alert(
    in_alpha: Building, guard: Client
) -> None:
    alert = report()

    assert guard.get(f"/alerts/{alert.pk}/acknowledge/").status_code == 405
    assert guard.post("/alerts/999999/acknowledge/", {"note": "x"}).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_page_speaks_chinese_by_default(alpha: Building, security: User) -> None:
    with schema_context("alpha"):
        report()

    page = page_of(client_for(alpha, security).get("/alerts/"))

    assert "<h1>警报</h1>" in page
    assert ">确认</button>" in page
