"""The host's arrival notice (seed 003): the visitor's first entry at the gate hands the notice
to a worker after commit (the gate's path composes nothing and never calls WeChat), and the
worker tells the host once per visit, in WeChat when bound (through the sandbox), else by SMS,
in the building's language. The hand-off goes through a real Redis broker."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from tenants.models import Building
from tests.access.conftest import make_gate, make_host, make_pass, make_visit, slip_token
from tests.notifications.conftest import RedisServer
from tests.notifications.conftest import broker as broker
from tests.wechat.employees import bound_phone
from tests.wechat_office import WeChatOffice
from visit_platform.access.actions import ReportedPassage, decide_scan, record_passage
from visit_platform.access.actions.arrivals import sweep_missed_arrivals
from visit_platform.access.models import Gate, Pass
from visit_platform.access.tasks import tell_host_of_arrival_task
from visit_platform.notifications.actions import deliver_notification
from visit_platform.notifications.models import Notification

pytestmark = pytest.mark.django_db


def arrivals_queued(server: RedisServer) -> list[list[Any]]:
    """The arrival notices handed to the broker: each one's arguments."""
    return [
        args
        for name, args, schema in server.queued()
        if name == "tell_host_of_arrival_task" and schema == "alpha"
    ]


def run_queued(server: RedisServer) -> None:
    """Do what a worker would with each queued arrival notice (in this test's transaction)."""
    for args in arrivals_queued(server):
        tell_host_of_arrival_task(*args)


def scan_in(
    gate: Gate,
    pass_record: Pass,
    capture: Any,
    *,
    direction: str = "in",
    now: datetime | None = None,
) -> bool:
    with capture(execute=True):
        decision = decide_scan(
            gate=gate, token=slip_token(pass_record), direction=direction, now=now
        )
    return decision.granted


@pytest.fixture
def gate(in_alpha: Building) -> Gate:
    return make_gate(name="A1 闸机")


def test_the_first_entry_tells_the_bound_host_in_wechat_once(
    alpha: Building,
    wechat_office: WeChatOffice,
    broker: RedisServer,
    gate: Gate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    host = make_host()
    phone = bound_phone(alpha, wechat_office, host)
    pass_record = make_pass(make_visit(host=host))
    now = timezone.now()

    entered = scan_in(gate, pass_record, django_capture_on_commit_callbacks, now=now)
    [queued] = arrivals_queued(broker)
    run_queued(broker)
    run_queued(broker)  # the task run twice (a redelivery): still one notice
    [notice] = Notification.objects.filter(purpose="arrival")
    delivered = deliver_notification(notice.pk)
    [message] = wechat_office.sandbox.inbox(phone.openid)

    assert entered
    assert queued == [pass_record.visit_id, gate.pk, now.isoformat()]
    assert (notice.channel, notice.recipient, notice.visit_id) == (
        "wechat",
        phone.openid,
        pass_record.visit_id,
    )
    local = alpha.local_time(now).strftime("%H:%M")
    assert notice.text == f"【Alpha Tower】韩** 已于 {local} 到达 A1 闸机。"
    assert delivered is not None and delivered.status == "sent"
    assert message.template_id == "tpl-arrival"
    assert {key: value["value"] for key, value in message.data.items()} == {
        "visitor": "韩**",
        "gate": "A1 闸机",
        "time": local,
    }


def test_later_entries_of_the_same_visit_tell_nobody_again(
    alpha: Building,
    wechat_office: WeChatOffice,
    broker: RedisServer,
    gate: Gate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    host = make_host()
    bound_phone(alpha, wechat_office, host)
    pass_record = make_pass(make_visit(host=host))
    now = timezone.now()

    first = scan_in(gate, pass_record, django_capture_on_commit_callbacks, now=now)
    out = scan_in(
        gate,
        pass_record,
        django_capture_on_commit_callbacks,
        direction="out",
        now=now + timedelta(minutes=1),
    )
    again = scan_in(
        gate, pass_record, django_capture_on_commit_callbacks, now=now + timedelta(minutes=30)
    )
    run_queued(broker)

    assert (first, out, again) == (True, True, True)
    assert len(arrivals_queued(broker)) == 1
    assert Notification.objects.filter(purpose="arrival").count() == 1


def test_an_unbound_host_is_told_by_sms_in_the_buildings_language(
    alpha: Building,
    broker: RedisServer,
    gate: Gate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    host = make_host()
    pass_record = make_pass(make_visit(host=host))

    scan_in(gate, pass_record, django_capture_on_commit_callbacks)
    with translation.override("en"):  # whoever runs the worker, the building speaks Chinese
        run_queued(broker)

    [notice] = Notification.objects.filter(purpose="arrival")
    assert (notice.channel, notice.recipient) == ("sms", host.mobile)
    assert "已于" in notice.text and "A1 闸机" in notice.text and "韩**" in notice.text


def test_an_arrival_wechat_cannot_deliver_falls_back_to_sms_once(
    alpha: Building,
    wechat_office: WeChatOffice,
    broker: RedisServer,
    gate: Gate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    host = make_host()
    bound_phone(alpha, wechat_office, host)
    pass_record = make_pass(make_visit(host=host))
    wechat_office.sandbox.fail_next(43004, "/cgi-bin/message/template/send")

    scan_in(gate, pass_record, django_capture_on_commit_callbacks)
    run_queued(broker)
    [notice] = Notification.objects.filter(purpose="arrival", channel="wechat")
    deliver_notification(notice.pk)

    notice.refresh_from_db()
    assert (notice.status, notice.error_code) == ("failed", 43004)
    [sms] = Notification.objects.filter(purpose="arrival", channel="sms")
    assert (sms.fallback_of_id, sms.recipient, sms.text) == (notice.pk, host.mobile, notice.text)


def test_a_refused_scan_or_a_replayed_event_announces_nothing(
    alpha: Building,
    broker: RedisServer,
    gate: Gate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    host = make_host()
    early = make_pass(make_visit(host=host, starts=timezone.now() + timedelta(days=1)))
    pass_record = make_pass(make_visit(host=host))
    event_id = uuid.uuid4()

    refused = scan_in(gate, early, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        decide_scan(gate=gate, token=slip_token(pass_record), direction="in", event_id=event_id)
        replay = decide_scan(
            gate=gate, token=slip_token(pass_record), direction="in", event_id=event_id
        )

    assert not refused and replay.replayed
    assert len(arrivals_queued(broker)) == 1  # the one genuine first entry


def test_an_offline_entry_reported_later_tells_the_host_once(
    alpha: Building,
    broker: RedisServer,
    gate: Gate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    host = make_host()
    pass_record = make_pass(make_visit(host=host))
    when = timezone.now() - timedelta(minutes=3)
    passage = ReportedPassage(
        event_id=uuid.uuid4(),
        gate=gate,
        direction="in",
        occurred_at=when,
        pass_id=pass_record.pk,
        reason="granted",
    )

    with django_capture_on_commit_callbacks(execute=True):
        record_passage(passage)
        record_passage(passage)  # the agent sends its journal again

    assert arrivals_queued(broker) == [[pass_record.visit_id, gate.pk, when.isoformat()]]
    run_queued(broker)
    [notice] = Notification.objects.filter(purpose="arrival")
    assert alpha.local_time(when).strftime("%H:%M") in notice.text


def test_a_visit_without_a_host_tells_nobody(alpha: Building, in_alpha: Building) -> None:
    """An event's attendee has no host: the organiser is not told of every arrival."""
    visit = make_visit()
    visit.host = None
    visit.save()

    tell_host_of_arrival_task(visit.pk, make_gate(name="B2").pk, timezone.now().isoformat())

    assert not Notification.objects.filter(purpose="arrival").exists()


def test_an_arrival_the_broker_never_got_is_told_by_the_sweep_once(
    alpha: Building,
    wechat_office: WeChatOffice,
    broker: RedisServer,
    gate: Gate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The gate committed while the broker was away (a real Redis, stopped), so no worker
    got the notice: the sweep writes it, once, and not before the worker's minute has
    passed."""
    host = make_host()
    phone = bound_phone(alpha, wechat_office, host)
    pass_record = make_pass(make_visit(host=host))
    entered_at = timezone.now()
    broker.stop()
    assert scan_in(gate, pass_record, django_capture_on_commit_callbacks, now=entered_at)

    too_soon = sweep_missed_arrivals(now=entered_at + timedelta(seconds=10))
    swept = sweep_missed_arrivals(now=entered_at + timedelta(minutes=2))
    again = sweep_missed_arrivals(now=entered_at + timedelta(minutes=3))
    too_late = sweep_missed_arrivals(now=entered_at + timedelta(hours=2))

    assert (too_soon, swept, again, too_late) == (0, 1, 0, 0)
    [notice] = Notification.objects.filter(purpose="arrival")
    assert (notice.visit_id, notice.recipient) == (pass_record.visit_id, phone.openid)
    assert gate.name in notice.text
