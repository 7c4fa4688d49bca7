"""Answering an overstay (issue 14, section 4): the periodic job tells the host with a link to
a page where they extend the visit or say the visitor left, tells the visitor when the
building says so, and hands an overstay nobody answered in time to security as one alert.
The page refuses forged, expired, replayed and stale links, and double submits, and then
changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from kernel.errors import DomainError
from tenants.models import Building
from tests.access.conftest import make_gate, make_host, set_building_at_midday, slip_token
from tests.access.test_overstays import visit_inside
from tests.conftest import client_for
from visit_platform.access.actions import (
    decide_scan,
    escalate_overstays,
    extend_visit,
    extension_choices,
    note_overstays,
    overstay_url,
)
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Alert, Gate, Pass
from visit_platform.access.tasks import check_overstays_task
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


def set_building(building: Building, **values: object) -> None:
    for name, value in values.items():
        setattr(building, name, value)
    building.save(update_fields=list(values))


def noted_visit(gate: Gate, noted_minutes_ago: int, *, ended_hours_ago: int = 3) -> Pass:
    """A visitor inside whose window ended ``ended_hours_ago`` and whose overstay was noted
    (host told) ``noted_minutes_ago``."""
    now = timezone.now()
    ended = now - timedelta(hours=ended_hours_ago)
    pass_record = visit_inside(gate, ended - timedelta(hours=2), ended, make_host())
    Visit.objects.filter(pk=pass_record.visit_id).update(
        overstay_noted_at=now - timedelta(minutes=noted_minutes_ago)
    )
    return pass_record


def link_of(pass_record: Pass) -> str:
    """The path of the answer page the host's notice carries."""
    notice = Notification.objects.filter(purpose="overstay", visit_id=pass_record.visit_id).last()
    if notice is None:
        return re.sub(r"^https?://[^/]+", "", overstay_url(visit_of(pass_record)))
    match = re.search(r"https?://[^/\s]+(/o/[\w-]+/)", notice.text)
    assert match, notice.text
    return match.group(1)


def visit_of(pass_record: Pass) -> Visit:
    return Visit.objects.get(pk=pass_record.visit_id)


def audited(verb: str) -> int:
    return AuditEntry.objects.filter(verb=verb).count()


@pytest.fixture(autouse=True)
def at_midday(alpha: Building, beta: Building) -> None:
    """Both buildings read about 13:00, whatever hour the suite runs at, so their 23:00 day end
    neither checks out the tests' visits nor cuts their extensions short."""
    set_building_at_midday(alpha)
    set_building_at_midday(beta)


@pytest.fixture
def gate(in_alpha: Building) -> Gate:
    return make_gate(name="A1 闸机")


@pytest.fixture
def phone(alpha: Building) -> Client:
    """The host's phone: no login, the link is the authority."""
    return client_for(alpha)


# --- The periodic job: notices and escalation -------------------------------------------------


def test_the_job_tells_the_host_with_a_link_and_the_visitor_where_the_building_says_so(
    alpha: Building, beta: Building
) -> None:
    set_building(alpha, overstay_tells_visitor=True)
    ended = timezone.now() - timedelta(minutes=45)
    connection.set_tenant(alpha)
    in_alpha = visit_inside(make_gate(), ended - timedelta(hours=2), ended, make_host())
    connection.set_tenant(beta)
    in_beta = visit_inside(make_gate(), ended - timedelta(hours=2), ended, make_host())
    connection.set_schema_to_public()

    reports = check_overstays_task.apply().get()

    assert reports["alpha"].startswith("1 overstay(s) noted, 0 escalated")
    assert reports["beta"].startswith("1 overstay(s) noted, 0 escalated")
    connection.set_tenant(alpha)
    [host_notice] = Notification.objects.filter(purpose="overstay", visit_id=in_alpha.visit_id)
    [visitor_notice] = Notification.objects.filter(purpose="overstay_visitor")
    assert "/o/" in host_notice.text
    assert (visitor_notice.channel, visitor_notice.recipient) == (
        "sms",
        Visit.objects.get(pk=in_alpha.visit_id).visitor_mobile,
    )
    assert visitor_notice.visit_id == in_alpha.visit_id
    assert "访问已于" in visitor_notice.text and "谢谢" in visitor_notice.text
    assert "韩" not in visitor_notice.text  # a polite text, no names
    connection.set_tenant(beta)  # the setting is off there: the host only
    assert Notification.objects.filter(purpose="overstay", visit_id=in_beta.visit_id).count() == 1
    assert not Notification.objects.filter(purpose="overstay_visitor").exists()


def test_an_unanswered_overstay_becomes_one_alert_for_security_after_the_deadline_only(
    alpha: Building, gate: Gate
) -> None:
    set_building(alpha, overstay_escalation_minutes=30)
    overdue = noted_visit(gate, noted_minutes_ago=31)
    not_yet = noted_visit(gate, noted_minutes_ago=29)
    connection.set_schema_to_public()

    first = check_overstays_task.apply().get()
    again = check_overstays_task.apply().get()

    assert first["alpha"].startswith("0 overstay(s) noted, 1 escalated to security")
    assert again["alpha"].startswith("0 overstay(s) noted, 0 escalated to security")
    connection.set_tenant(alpha)
    [alert] = Alert.objects.all()
    assert (alert.kind, alert.visit_id) == (AlertKind.OVERSTAY, overdue.visit_id)
    assert alert.acknowledged_at is None  # stays on the screen until someone acknowledges it
    assert (
        alert.details["noted_at"]
        == alpha.local_time(
            visit_of(overdue).overstay_noted_at  # type: ignore[arg-type]
        ).isoformat()
    )
    assert audited("alert.raised") == 1
    assert escalate_overstays(timezone.now() + timedelta(minutes=2)) == 1  # now the other
    assert Alert.objects.get(visit_id=not_yet.visit_id).kind == AlertKind.OVERSTAY


def test_no_alert_when_the_host_extended_or_said_they_left_or_they_went_out(
    alpha: Building, gate: Gate, phone: Client
) -> None:
    set_building(alpha, overstay_escalation_minutes=30)
    extended = noted_visit(gate, noted_minutes_ago=20)
    said_left = noted_visit(gate, noted_minutes_ago=20)
    went_out = noted_visit(gate, noted_minutes_ago=20)

    phone.post(link_of(extended), {"answer": "extend", "minutes": "30"})
    phone.post(link_of(said_left), {"answer": "left"})
    decide_scan(gate=gate, token=slip_token(went_out), direction="out")
    escalated = escalate_overstays(timezone.now() + timedelta(minutes=11))

    assert escalated == 0
    assert not Alert.objects.exists()


def test_an_extended_visit_is_an_overstay_again_after_its_new_end(
    alpha: Building, gate: Gate, phone: Client
) -> None:
    pass_record = noted_visit(gate, noted_minutes_ago=5)
    old_link = link_of(pass_record)

    phone.post(old_link, {"answer": "extend", "minutes": "30"})
    new_end = visit_of(pass_record).valid_until
    early = note_overstays(new_end + timedelta(minutes=29))
    again = note_overstays(new_end + timedelta(minutes=31))

    assert (early, again) == (0, 1)
    visit = visit_of(pass_record)
    assert visit.overstay_noted_at == new_end + timedelta(minutes=31)
    assert overstay_url(visit).endswith(link_of(pass_record))  # a new link for the new overstay
    assert link_of(pass_record) != old_link
    assert phone.get(old_link).status_code == 410


# --- The host's page --------------------------------------------------------------------------


def test_the_page_offers_extensions_and_extending_moves_the_visit_and_its_passes(
    alpha: Building, gate: Gate, phone: Client
) -> None:
    pass_record = noted_visit(gate, noted_minutes_ago=5)
    link = link_of(pass_record)
    offered = extension_choices(visit_of(pass_record))

    page = phone.get(link)
    done = phone.post(link, {"answer": "extend", "minutes": "60"})

    assert page.status_code == 200
    assert "韩**" in page.content.decode() and "韩梅梅" not in page.content.decode()
    assert page.content.decode().count('name="minutes"') == len(offered) > 0
    assert page["Cache-Control"] == "no-store"
    assert done.status_code == 200
    visit = visit_of(pass_record)
    pass_record.refresh_from_db()
    assert visit.overstay_noted_at is None
    assert visit.status == "checked_in"
    assert timedelta(minutes=58) < visit.valid_until - timezone.now() <= timedelta(minutes=60)
    assert pass_record.valid_until == visit.valid_until
    [entry] = AuditEntry.objects.filter(verb="visit.extended")
    assert entry.actor_label == "host 李雷 (overstay link)"


def test_saying_the_visitor_left_checks_them_out_as_said_by_the_host(
    alpha: Building, gate: Gate, phone: Client
) -> None:
    pass_record = noted_visit(gate, noted_minutes_ago=5)

    done = phone.post(link_of(pass_record), {"answer": "left"})

    assert done.status_code == 200
    visit = visit_of(pass_record)
    pass_record.refresh_from_db()
    assert (visit.status, visit.left_on_word_of, visit.left_unseen) == (
        "checked_out",
        "host",
        False,
    )
    assert visit.checked_out_at is not None
    assert pass_record.is_inside is False
    assert audited("visit.checked_out_on_word") == 1


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        ({"answer": "extend", "minutes": "30"}, {"answer": "extend", "minutes": "30"}, 410),
        ({"answer": "extend", "minutes": "30"}, {"answer": "left"}, 410),
        ({"answer": "left"}, {"answer": "left"}, 410),
        ({"answer": "left"}, {"answer": "extend", "minutes": "60"}, 410),
    ],
)
def test_a_second_answer_on_the_same_link_changes_nothing(
    alpha: Building,
    gate: Gate,
    phone: Client,
    first: dict[str, str],
    second: dict[str, str],
    code: int,
) -> None:
    pass_record = noted_visit(gate, noted_minutes_ago=5)
    link = link_of(pass_record)
    phone.post(link, first)
    after_first = visit_of(pass_record)
    audit_rows = AuditEntry.objects.count()

    replayed = phone.post(link, second)

    assert replayed.status_code == code
    assert (
        "没有任何更改" in replayed.content.decode()
        or "Nothing was changed" in replayed.content.decode()
    )
    visit = visit_of(pass_record)
    assert (visit.status, visit.valid_until, visit.checked_out_at) == (
        after_first.status,
        after_first.valid_until,
        after_first.checked_out_at,
    )
    assert AuditEntry.objects.count() == audit_rows


def test_forged_malformed_and_other_buildings_links_name_nothing(
    alpha: Building, beta: Building, gate: Gate, phone: Client
) -> None:
    pass_record = noted_visit(gate, noted_minutes_ago=5)
    link = link_of(pass_record)
    code = link.split("/")[2]
    pk, stamp, mac = code.split("-")
    forged = [
        f"/o/{pk}-{stamp}-{'0' * len(mac)}/",
        f"/o/{pk}-{int(stamp) + 1}-{mac}/",  # another moment, same signature
        f"/o/{int(pk) + 1}-{stamp}-{mac}/",
        f"/o/{pk}-{mac}/",
        f"/o/{code}{'a' * 5000}/",
    ]

    answers = [phone.post(path, {"answer": "left"}).status_code for path in forged]
    # A NUL in the address is refused at the edge, before any view (issue 15).
    nul = phone.post("/o/%00/", {"answer": "left"}).status_code
    elsewhere = client_for(beta).post(link, {"answer": "left"})
    connection.set_tenant(alpha)

    assert answers == [404] * len(forged)
    assert nul == 400
    assert elsewhere.status_code == 404
    assert visit_of(pass_record).status == "checked_in"
    assert audited("visit.checked_out_on_word") == 0


def test_an_expired_link_or_a_visitor_no_longer_inside_is_told_and_changes_nothing(
    alpha: Building, gate: Gate, phone: Client
) -> None:
    stale = noted_visit(gate, noted_minutes_ago=13 * 60, ended_hours_ago=14)
    gone = noted_visit(gate, noted_minutes_ago=5)
    decide_scan(gate=gate, token=slip_token(gone), direction="out")

    expired = phone.post(link_of(stale), {"answer": "extend", "minutes": "30"})
    left = phone.get(link_of(gone))

    assert expired.status_code == 410
    assert left.status_code == 410
    assert visit_of(stale).overstay_noted_at is not None
    assert audited("visit.extended") == 0


@pytest.mark.parametrize(
    "data",
    [
        {"answer": "extend", "minutes": "45"},  # not offered
        {"answer": "extend", "minutes": "-30"},
        {"answer": "extend", "minutes": "abc"},
        {"answer": "extend", "minutes": "9" * 5000},
        {"answer": "extend"},
        {"answer": "leave"},
        {"answer": "x" * 100_000},
        {},
    ],
)
def test_bad_answers_are_refused_on_the_page_and_change_nothing(
    alpha: Building, gate: Gate, phone: Client, data: dict[str, str]
) -> None:
    pass_record = noted_visit(gate, noted_minutes_ago=5)
    before = visit_of(pass_record)

    answer = phone.post(link_of(pass_record), data)

    assert answer.status_code == 400
    assert 'role="alert"' in answer.content.decode()
    visit = visit_of(pass_record)
    assert (visit.status, visit.valid_until, visit.overstay_noted_at) == (
        before.status,
        before.valid_until,
        before.overstay_noted_at,
    )


def test_extensions_stop_at_the_buildings_end_of_day(alpha: Building, gate: Gate) -> None:
    local_now = alpha.local_time(timezone.now())
    day_end = (local_now + timedelta(minutes=45)).replace(second=0, microsecond=0)
    set_building(alpha, day_end_time=day_end.time())
    pass_record = noted_visit(gate, noted_minutes_ago=5)

    choices = extension_choices(visit_of(pass_record))

    assert sorted(choices) == [30, 60]  # 60 and 120 minutes both end at the day end
    assert choices[60] == day_end
    with pytest.raises(DomainError) as refused:
        extend_visit(SYSTEM, visit_of(pass_record), day_end + timedelta(minutes=1))
    assert refused.value.code == "extension_past_day_end"
