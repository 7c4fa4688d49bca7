"""Overstays and the end of the day (issue 14, section 4): a visitor checked in at the gate
(the real gate decision) and still inside past their window plus the building's grace is
flagged once and their host told once, in WeChat when bound (through the sandbox), else by
SMS; at the building's local end of day the visits whose window is over are checked out as
"not seen leaving", once, in that building only."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tenants.models import Building
from tests.access.conftest import SYSTEM, make_gate, make_host, make_pass, make_visitor, slip_token
from tests.wechat.employees import bound_phone
from tests.wechat_office import WeChatOffice
from visit_platform.access.actions import (
    check_out_at_day_end,
    decide_scan,
    find_overstays,
    note_overstays,
    overstay_url,
)
from visit_platform.access.models import Gate, Pass
from visit_platform.access.tasks import check_overstays_task
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.models import Host
from visit_platform.notifications.actions import deliver_notification
from visit_platform.notifications.models import Notification
from visit_platform.visits.actions import create_visit
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db


def visit_inside(gate: Gate, start: datetime, end: datetime, host: Host | None = None) -> Pass:
    """A visit for ``start``-``end`` whose visitor entered through ``gate`` ten minutes in."""
    visit = create_visit(
        SYSTEM,
        scenario=Scenario.INVITE,
        visitor=make_visitor(),
        host=host or make_host(),
        valid_from=start,
        valid_until=end,
        status=VisitStatus.APPROVED,
    )
    pass_record = make_pass(visit)
    entered = decide_scan(
        gate=gate,
        token=slip_token(pass_record),
        direction="in",
        now=start + timedelta(minutes=10),
    )
    assert entered.granted, entered.reason
    return pass_record


def status_of(pass_record: Pass) -> tuple[str, bool, bool]:
    visit = Visit.objects.get(pk=pass_record.visit_id)
    pass_record.refresh_from_db()
    return visit.status, visit.left_unseen, pass_record.is_inside


def audited(verb: str) -> int:
    return AuditEntry.objects.filter(verb=verb).count()


def yesterday_at(building: Building, hour: int, minute: int = 0, days: int = 0) -> datetime:
    """The building's local clock reading ``hour:minute`` yesterday (plus ``days``)."""
    local = building.local_time(timezone.now())
    day = local.date() - timedelta(days=1) + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=local.tzinfo)


@pytest.fixture
def gate(in_alpha: Building) -> Gate:
    return make_gate(name="A1 闸机")


# --- Overstays --------------------------------------------------------------------------------


def test_an_overstay_is_flagged_once_and_the_bound_host_told_once_in_wechat(
    alpha: Building, wechat_office: WeChatOffice, gate: Gate
) -> None:
    host = make_host()
    phone = bound_phone(alpha, wechat_office, host)
    ended = timezone.now() - timedelta(hours=2)
    pass_record = visit_inside(gate, ended - timedelta(hours=3), ended, host)
    grace_over = ended + timedelta(minutes=30)

    within_grace = note_overstays(ended + timedelta(minutes=29))
    first = note_overstays(grace_over)
    second = note_overstays(grace_over + timedelta(minutes=10))
    [notice] = Notification.objects.filter(purpose="overstay")
    delivered = deliver_notification(notice.pk)
    [message] = wechat_office.sandbox.inbox(phone.openid)

    assert (within_grace, first, second) == (0, 1, 0)
    visit = Visit.objects.get(pk=pass_record.visit_id)
    assert visit.overstay_noted_at == grace_over
    assert visit.status == "checked_in"  # noted, not moved: they are still inside
    assert audited("visit.overstay_noted") == 1
    local = alpha.local_time(ended).strftime("%H:%M")
    assert (notice.channel, notice.recipient, notice.visit_id) == (
        "wechat",
        phone.openid,
        visit.pk,
    )
    assert notice.text == (
        f"【Alpha Tower】韩** 仍在楼内，其访问已于 {local} 结束。"
        f"延长访问或告知访客已离开：{overstay_url(visit)}"
    )
    assert delivered is not None and delivered.status == "sent"
    assert message.template_id == "tpl-overstay"
    assert message.url == overstay_url(visit)  # the template opens the host's answer page
    assert {key: value["value"] for key, value in message.data.items()} == {
        "visitor": "韩**",
        "time": local,
    }


def test_an_unbound_host_is_told_of_an_overstay_by_sms(alpha: Building, gate: Gate) -> None:
    host = make_host()
    ended = timezone.now() - timedelta(hours=1)
    visit_inside(gate, ended - timedelta(hours=2), ended, host)

    noted = note_overstays(ended + timedelta(minutes=45))

    [notice] = Notification.objects.filter(purpose="overstay")
    assert noted == 1
    assert (notice.channel, notice.recipient) == ("sms", host.mobile)
    assert "韩**" in notice.text and "仍在楼内" in notice.text


def test_the_buildings_grace_sets_when_a_stay_becomes_an_overstay(
    alpha: Building, gate: Gate
) -> None:
    alpha.overstay_grace_minutes = 90
    alpha.save(update_fields=["overstay_grace_minutes"])
    ended = timezone.now() - timedelta(hours=3)
    pass_record = visit_inside(gate, ended - timedelta(hours=2), ended, make_host())

    early = find_overstays(ended + timedelta(minutes=89))
    due = find_overstays(ended + timedelta(minutes=90))

    assert (early, due) == ([], [pass_record.visit_id])


def test_a_visitor_who_left_through_the_gate_is_no_overstay(alpha: Building, gate: Gate) -> None:
    ended = timezone.now() - timedelta(hours=2)
    pass_record = visit_inside(gate, ended - timedelta(hours=3), ended, make_host())
    left = decide_scan(
        gate=gate, token=slip_token(pass_record), direction="out", now=ended - timedelta(hours=1)
    )

    noted = note_overstays(ended + timedelta(hours=1))

    assert left.granted
    assert noted == 0
    assert Visit.objects.get(pk=pass_record.visit_id).overstay_noted_at is None
    assert not Notification.objects.filter(purpose="overstay").exists()
    assert audited("visit.overstay_noted") == 0


def test_a_visitor_whose_window_is_still_running_is_no_overstay(
    alpha: Building, gate: Gate
) -> None:
    now = timezone.now()
    visit_inside(gate, now - timedelta(hours=1), now + timedelta(hours=23), make_host())

    assert note_overstays(now + timedelta(hours=1)) == 0


# --- End of day -------------------------------------------------------------------------------


def test_visits_over_are_checked_out_unseen_only_at_the_buildings_local_day_end(
    alpha: Building, gate: Gate
) -> None:
    pass_record = visit_inside(gate, yesterday_at(alpha, 9), yesterday_at(alpha, 18), make_host())
    day_end = yesterday_at(alpha, 23)

    before = check_out_at_day_end(day_end - timedelta(minutes=1))
    status_before = status_of(pass_record)
    at = check_out_at_day_end(day_end)
    again = check_out_at_day_end(day_end + timedelta(minutes=5))

    assert (before, at, again) == (0, 1, 0)
    assert status_before == ("checked_in", False, True)
    assert status_of(pass_record) == ("checked_out", True, False)
    assert Visit.objects.get(pk=pass_record.visit_id).checked_out_at == day_end
    assert audited("visit.checked_out_unseen") == 1


def test_a_pass_still_running_at_day_end_is_left_inside(alpha: Building, gate: Gate) -> None:
    event_pass = visit_inside(gate, yesterday_at(alpha, 12), yesterday_at(alpha, 12, days=1))
    evening = visit_inside(gate, yesterday_at(alpha, 22), yesterday_at(alpha, 23, 30))

    at_day_end = check_out_at_day_end(yesterday_at(alpha, 23))
    after_evening = check_out_at_day_end(yesterday_at(alpha, 23, 31))

    assert (at_day_end, after_evening) == (0, 1)
    assert status_of(event_pass) == ("checked_in", False, True)
    assert status_of(evening) == ("checked_out", True, False)


def test_a_window_ending_after_midnight_waits_for_that_days_end(
    alpha: Building, gate: Gate
) -> None:
    late = visit_inside(gate, yesterday_at(alpha, 20), yesterday_at(alpha, 0, 30, days=1))

    next_morning = check_out_at_day_end(yesterday_at(alpha, 1, days=1))
    next_day_end = check_out_at_day_end(yesterday_at(alpha, 23, days=1))

    assert (next_morning, next_day_end) == (0, 1)
    assert status_of(late) == ("checked_out", True, False)


def test_each_building_checks_out_at_its_own_day_end_and_only_its_own_visits(
    alpha: Building, beta: Building
) -> None:
    alpha.day_end_time = time(20, 0)
    alpha.save(update_fields=["day_end_time"])
    connection.set_tenant(alpha)
    in_alpha = visit_inside(make_gate(), yesterday_at(alpha, 9), yesterday_at(alpha, 18))
    connection.set_tenant(beta)
    in_beta = visit_inside(make_gate(), yesterday_at(beta, 9), yesterday_at(beta, 18))

    connection.set_tenant(alpha)
    alpha_at_eight = check_out_at_day_end(yesterday_at(alpha, 20))
    alpha_status = status_of(in_alpha)
    connection.set_tenant(beta)
    beta_at_eight = check_out_at_day_end(yesterday_at(beta, 20))
    beta_status = status_of(in_beta)

    assert (alpha_at_eight, beta_at_eight) == (1, 0)
    assert alpha_status == ("checked_out", True, False)
    assert beta_status == ("checked_in", False, True)


def test_the_periodic_job_notes_overstays_and_checks_out_in_every_building(
    alpha: Building, beta: Building
) -> None:
    connection.set_tenant(alpha)
    in_alpha = visit_inside(
        make_gate(), yesterday_at(alpha, 9), yesterday_at(alpha, 18), make_host()
    )
    connection.set_tenant(beta)
    in_beta = visit_inside(make_gate(), yesterday_at(beta, 9), yesterday_at(beta, 18), make_host())
    connection.set_schema_to_public()

    reports = check_overstays_task.apply().get()
    again = check_overstays_task.apply().get()

    done = "1 overstay(s) noted, 0 escalated to security, 1 visit(s) checked out at day end"
    nothing = "0 overstay(s) noted, 0 escalated to security, 0 visit(s) checked out at day end"
    assert (reports["alpha"], reports["beta"]) == (done, done)
    assert (again["alpha"], again["beta"]) == (nothing, nothing)
    for building, pass_record in ((alpha, in_alpha), (beta, in_beta)):
        connection.set_tenant(building)
        visit = Visit.objects.get(pk=pass_record.visit_id)
        assert (visit.status, visit.left_unseen) == ("checked_out", True)
        assert visit.overstay_noted_at is not None
        assert Notification.objects.filter(purpose="overstay", visit=visit).count() == 1
