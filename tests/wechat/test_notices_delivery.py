"""WeChat notices through the notification log: sent as template messages through the sandbox,
or, when WeChat cannot deliver them, failed with WeChat's code and sent by SMS instead, once."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tests.wechat_office import WeChatOffice
from visit_platform.audit.actions import Actor
from visit_platform.notifications.actions import deliver_notification, send_notice
from visit_platform.notifications.models import Notification

ACTOR = Actor.system("tests")
MOBILE = "+8613800138000"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_celery():
    """Deliveries are run by the test, not handed to a broker."""
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        from unittest import mock

        with mock.patch("visit_platform.notifications.actions._schedule_deliveries"):
            yield


def test_a_notice_to_a_known_openid_goes_as_a_template_message(
    in_alpha, wechat_office: WeChatOffice
):
    user = wechat_office.user("visitor")
    notice = send_notice(
        ACTOR,
        purpose="pass_link",
        text="Your pass: https://alpha.localhost/p/x/",
        mobile=MOBILE,
        openid=user.openid,
        data={"first": "通行证已签发"},
        url="https://alpha.localhost/p/x/",
    )
    assert notice.channel == "wechat"
    delivered = deliver_notification(notice.pk)
    assert delivered is not None and delivered.status == "sent" and delivered.error_code == 0
    [message] = wechat_office.sandbox.inbox(user.openid)
    assert message.template_id == "tpl-pass_link"
    assert message.url == "https://alpha.localhost/p/x/"
    assert message.data["first"]["value"] == "通行证已签发"
    assert not Notification.objects.filter(channel="sms").exists()


@pytest.mark.parametrize("errcode", [43004, 40003, 45009])
def test_a_template_message_wechat_refuses_falls_back_to_sms_once(
    in_alpha, wechat_office: WeChatOffice, errcode: int
):
    user = wechat_office.user("visitor")
    wechat_office.sandbox.fail_next(errcode, "/cgi-bin/message/template/send")
    notice = send_notice(
        ACTOR, purpose="decision", text="Refused: full", mobile=MOBILE, openid=user.openid
    )
    deliver_notification(notice.pk)
    deliver_notification(notice.pk)  # a second run of the task changes nothing
    notice.refresh_from_db()
    assert (notice.status, notice.error_code) == ("failed", errcode)
    [sms] = Notification.objects.filter(channel="sms")
    assert sms.fallback_of_id == notice.pk
    assert (sms.recipient, sms.text, sms.status) == (MOBILE, "Refused: full", "queued")
    assert wechat_office.sandbox.inbox(user.openid) == []


def test_a_notice_without_a_template_or_openid_goes_by_sms(in_alpha, wechat_office: WeChatOffice):
    wechat_office.account.templates = {}
    wechat_office.account.save()
    user = wechat_office.user()
    assert (
        send_notice(ACTOR, purpose="decision", text="t", mobile=MOBILE, openid=user.openid).channel
        == "sms"
    )
    assert send_notice(ACTOR, purpose="pass_link", text="t", mobile=MOBILE).channel == "sms"


def test_the_payload_and_the_openid_are_encrypted_at_rest(in_alpha, wechat_office: WeChatOffice):
    from django.db import connection

    user = wechat_office.user()
    notice = send_notice(
        ACTOR, purpose="decision", text="t", mobile=MOBILE, openid=user.openid, data={"k": "张三"}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT recipient, payload, fallback_to FROM notifications_notification WHERE id = %s",
            [notice.pk],
        )
        row = cursor.fetchone()
    assert user.openid not in row[0] and "张三" not in row[1] and MOBILE not in row[2]
    assert json.loads(notice.payload)["data"]["k"] == {"value": "张三"}
