"""Notices to visitors (issue 13, 7): the pass, a refusal with its reason, an expired request
and the reminder before the visit go to the WeChat linked to the visit's mobile as template
messages (through the sandbox), with the SMS text as the fallback once; a visitor whose mobile
is not linked gets the SMS as before."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from django.utils import timezone

from tenants.models import Building
from tests.access.conftest import make_pass, make_visit, make_visitor
from tests.conftest import client_for
from tests.forms.conftest import make_host as make_form_host
from tests.wechat.visitor_phone import E164, in_wechat, link_wechat, phone, request_form_data
from tests.wechat_office import WeChatOffice
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.notifications.actions import deliver_notification
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import Visit
from workflows.actions import expire_request, remind_visitor, remind_visitors
from workflows.models import VisitProcess
from workflows.tasks import remind_visitors_task

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


@pytest.fixture
def linked(in_alpha: Building, wechat_office: WeChatOffice) -> str:
    """The openid of a WeChat user linked (over HTTP, with a code) to the visitor's mobile."""
    user = wechat_office.user("visitor")
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))
    return user.openid


def applied(*, wechat: bool = True, office: WeChatOffice | None = None, openid: str = "") -> Visit:
    """The visitor applies with the request form (inside WeChat when ``openid`` is given)."""
    make_form_host()
    client = in_wechat(office, openid, "/visit/request/") if office else phone(wechat=False)
    response = client.post("/visit/request/", request_form_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    return Visit.objects.get(scenario="request")


def decide(decision: str, reason: str = "") -> None:
    """The host decides through the link texted to them."""
    text = Notification.objects.filter(purpose="approval_request").latest("pk").text
    found = re.search(r"https?://[^\s]+(/a/[^\s/]+/)", text)
    assert found, text
    data = {"decision": decision, **({"reason": reason} if reason else {})}
    assert client_for(Building.objects.get(schema_name="alpha")).post(
        found.group(1), data
    ).status_code in (200, 302)


def test_the_pass_of_a_linked_visitor_arrives_in_wechat_and_opens_the_pass_page(
    linked: str, wechat_office: WeChatOffice
) -> None:
    visit = applied(office=wechat_office, openid=linked)

    decide("approve")

    notice = Notification.objects.get(purpose="pass_link")
    assert (notice.channel, notice.recipient, notice.visit_id) == ("wechat", linked, visit.pk)
    assert "/p/" in notice.text  # the SMS should WeChat fail
    delivered = deliver_notification(notice.pk)
    assert delivered is not None and delivered.status == "sent"
    [message] = wechat_office.sandbox.inbox(linked)
    assert message.template_id == "tpl-pass_link"
    assert message.url.startswith("http://alpha.localhost/p/")
    assert message.data["visitor"]["value"] == "韩**"
    assert message.data["building"]["value"] == "Alpha Tower"
    assert message.data["host"]["value"].startswith("李*")
    # One date, or two for a window that runs past midnight (the test's clock decides which).
    window = r"\d{4}-\d\d-\d\d \d\d:\d\d–(\d{4}-\d\d-\d\d )?\d\d:\d\d"
    assert re.fullmatch(window, message.data["window"]["value"]), message.data["window"]
    page = phone().get(urlsplit(message.url).path)
    assert page.status_code == 200 and 'data-state="not_yet_valid"' in page.content.decode()
    assert not Notification.objects.filter(purpose="pass_link", channel="sms").exists()


def test_a_pass_wechat_cannot_deliver_falls_back_to_sms_once(
    linked: str, wechat_office: WeChatOffice
) -> None:
    applied(office=wechat_office, openid=linked)
    decide("approve")
    notice = Notification.objects.get(purpose="pass_link")
    wechat_office.sandbox.fail_next(43004, "/cgi-bin/message/template/send")

    deliver_notification(notice.pk)
    deliver_notification(notice.pk)

    notice.refresh_from_db()
    assert (notice.status, notice.error_code) == ("failed", 43004)
    [sms] = Notification.objects.filter(purpose="pass_link", channel="sms")
    assert (sms.fallback_of_id, sms.recipient, sms.text) == (notice.pk, E164, notice.text)
    assert re.search(r"http://alpha\.localhost/p/[^\s/]+/", sms.text)
    assert wechat_office.sandbox.inbox(linked) == []


def test_a_visitor_whose_mobile_is_not_linked_gets_the_pass_by_sms(
    in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    applied(wechat=False)

    decide("approve")

    [notice] = Notification.objects.filter(purpose="pass_link")
    assert (notice.channel, notice.recipient) == ("sms", E164)
    assert "/p/" in notice.text


def test_a_refusal_reaches_the_linked_wechat_with_its_reason(
    linked: str, wechat_office: WeChatOffice
) -> None:
    applied(office=wechat_office, openid=linked)

    decide("reject", "出差")

    notice = Notification.objects.get(purpose="decision")
    assert notice.channel == "wechat" and "出差" in notice.text
    deliver_notification(notice.pk)
    [message] = wechat_office.sandbox.inbox(linked)
    assert message.template_id == "tpl-decision"
    assert message.data["reason"]["value"] == "出差"
    assert not Pass.objects.exists()


def test_an_expired_request_is_told_to_the_linked_wechat(
    linked: str, wechat_office: WeChatOffice
) -> None:
    visit = applied(office=wechat_office, openid=linked)

    expire_request(VisitProcess.objects.get(visit=visit))

    notice = Notification.objects.get(purpose="decision")
    assert (notice.channel, notice.recipient) == ("wechat", linked)
    assert "未在时限内得到处理" in notice.text  # in the building's language


# --- The reminder before the visit ------------------------------------------------------------


def approved_visit(starts_in: timedelta, *, decided_ago: timedelta | None = None) -> Visit:
    visit = make_visit(status="approved", starts=timezone.now() + starts_in, hours=2)
    make_pass(visit)
    if decided_ago is not None:
        Visit.objects.filter(pk=visit.pk).update(decided_at=timezone.now() - decided_ago)
    return visit


def test_a_visit_starting_within_two_hours_is_reminded_once_in_wechat(
    linked: str, wechat_office: WeChatOffice
) -> None:
    due = approved_visit(timedelta(hours=1), decided_ago=timedelta(days=1))
    approved_visit(timedelta(hours=5))  # not yet
    approved_visit(timedelta(minutes=30), decided_ago=timedelta(minutes=10))  # pass just sent
    make_visit(status="pending_approval", starts=timezone.now() + timedelta(hours=1))
    make_visit(status="approved", starts=timezone.now() + timedelta(hours=1))  # no pass

    first = remind_visitors()
    again = remind_visitors()

    assert (first, again) == (1, 0)
    [notice] = Notification.objects.filter(purpose="reminder")
    assert (notice.channel, notice.recipient, notice.visit_id) == ("wechat", linked, due.pk)
    assert "http://alpha.localhost/me/" in notice.text
    deliver_notification(notice.pk)
    [message] = wechat_office.sandbox.inbox(linked)
    assert (message.template_id, message.url) == ("tpl-reminder", "http://alpha.localhost/wx/me/")
    due.refresh_from_db()
    assert due.visitor_reminded_at is not None
    assert AuditEntry.objects.filter(verb="visit.visitor_reminded").count() == 1


def test_an_unlinked_visitor_is_reminded_by_sms(in_alpha: Building, wechat_office) -> None:
    approved_visit(timedelta(hours=1))

    assert remind_visitors() == 1

    [notice] = Notification.objects.filter(purpose="reminder")
    assert (notice.channel, notice.recipient) == ("sms", E164)


def test_a_visit_is_reminded_once_even_when_two_runs_race(in_alpha: Building) -> None:
    visit = approved_visit(timedelta(hours=1))
    now = timezone.now()

    assert remind_visitor(SYSTEM, visit.pk, now) is True
    assert remind_visitor(SYSTEM, visit.pk, now) is False
    assert Notification.objects.filter(purpose="reminder").count() == 1


def test_the_periodic_job_reminds_in_every_building(in_alpha: Building) -> None:
    approved_visit(timedelta(hours=1))

    reports = remind_visitors_task.apply().get()

    assert reports["alpha"] == "1 reminded"
    assert reports["beta"] == "0 reminded"
    assert remind_visitors_task.apply().get()["alpha"] == "0 reminded"


@override_settings(VISITOR_REMINDER_HOURS=0)
def test_no_reminder_when_the_building_turns_them_off(in_alpha: Building) -> None:
    approved_visit(timedelta(hours=1))

    assert remind_visitors() == 0
    assert not Notification.objects.filter(purpose="reminder").exists()


def test_a_visitor_without_a_mobile_is_marked_reminded_and_sent_nothing(
    in_alpha: Building,
) -> None:
    visit = make_visit(
        visitor=make_visitor(name="王五", mobile="", id_number=""),
        status="approved",
        starts=timezone.now() + timedelta(hours=1),
    )
    make_pass(visit)

    assert remind_visitors() == 1
    assert remind_visitors() == 0
    assert not Notification.objects.exists()
