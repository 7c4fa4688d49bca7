"""The notification log in the console: who may see it, and when it may show a message's text."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tenants.models import Building
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.directory.choices import Role
from visit_platform.notifications.actions import send_notification

PAGE = "/notifications/"
SECRET_TEXT = "【测试大厦】您的验证码是 482913。<script>alert(1)</script>"


@pytest.fixture
def queued(in_alpha: Building) -> None:
    send_notification(
        Actor.system("tests"),
        channel="sms",
        to="13812345678",
        purpose="one_time_code",
        text=SECRET_TEXT,
    )


def test_in_development_the_log_shows_the_masked_number_and_the_text(
    alpha: Building, queued: None
) -> None:
    response = client_for(alpha, admin_of(alpha)).get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert "+86138****5678" in page
    assert "13812345678" not in page
    assert "482913" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


@override_settings(SMS_GATEWAY_URL="https://sms.gateway.example/v1/messages")
def test_where_messages_really_go_out_the_log_never_shows_their_text(
    alpha: Building, queued: None
) -> None:
    response = client_for(alpha, admin_of(alpha)).get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert "+86138****5678" in page
    assert "482913" not in page


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.SECURITY, Role.HOST])
def test_other_roles_may_not_see_the_log(alpha: Building, role: str) -> None:
    company = None
    if role == Role.HOST:
        from django_tenants.utils import schema_context

        from visit_platform.directory.actions import create_company

        with schema_context("alpha"):
            company = create_company(Actor.system("tests"), name="日志测试企业", floors="3")
    user = member(alpha, f"{role}.log@alpha.example", role, company)

    response = client_for(alpha, user).get(PAGE)

    assert response.status_code == 403


def test_an_unknown_status_filter_is_ignored(alpha: Building, queued: None) -> None:
    response = client_for(alpha, admin_of(alpha)).get(PAGE, {"status": "<b>nope</b>"})

    assert response.status_code == 200
    assert "+86138****5678" in response.content.decode()
