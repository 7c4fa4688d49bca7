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


# --- Links in the outbox (issue 16) ---------------------------------------------------------

LINKED_TEXT = (
    "【测试大厦】请打开http://alpha.localhost:8000/a/Code_1-x/查看。\n"
    "Also https://alpha.localhost/p/abc/?x=1&y=2. "
    "Not http://evil.example/a/ nor http://alpha.localhost.evil.example/a/ nor "
    "http://someone@alpha.localhost/a/ nor javascript:alert(1) nor "
    'http://alpha.localhost/"><script>alert(2)</script>'
)


def test_the_outbox_links_only_the_buildings_own_addresses(in_alpha: Building) -> None:
    send_notification(
        Actor.system("tests"),
        channel="sms",
        to="13812345678",
        purpose="pass_link",
        text=LINKED_TEXT,
    )

    page = client_for(in_alpha, admin_of(in_alpha)).get(PAGE).content.decode()

    assert (
        '请打开<a href="http://alpha.localhost:8000/a/Code_1-x/" target="_blank" rel="noopener">'
        "http://alpha.localhost:8000/a/Code_1-x/</a>查看。<br>"
    ) in page
    assert '<a href="https://alpha.localhost/p/abc/?x=1&amp;y=2" target="_blank"' in page
    assert page.count('target="_blank" rel="noopener">') == 3
    assert '<a href="http://alpha.localhost/" target="_blank"' in page
    assert "Not http://evil.example/a/ nor http://alpha.localhost.evil.example/a/ nor" in page
    assert "http://someone@alpha.localhost/a/ nor javascript:alert(1)" in page
    assert "<script>alert(2)</script>" not in page
    assert "&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_linked_text_escapes_everything_that_is_not_an_own_link() -> None:
    from visit_platform.notifications.views import linked_text

    hosts = {"alpha.localhost"}

    assert linked_text("<b>x</b> http://alpha.localhost:99999/a/", hosts) == (
        "&lt;b&gt;x&lt;/b&gt; http://alpha.localhost:99999/a/"
    )
    assert linked_text("ftp://alpha.localhost/a/ HTTP://ALPHA.localhost/a/.", hosts) == (
        'ftp://alpha.localhost/a/ <a href="HTTP://ALPHA.localhost/a/" target="_blank" '
        'rel="noopener">HTTP://ALPHA.localhost/a/</a>.'
    )
