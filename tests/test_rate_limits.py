"""Rate limits on anonymous work (issue 15): SMS codes, visit requests, decision links and the
forms API are limited per client and per building; a building's texts have a daily ceiling.

The probe that found the hole texted codes to 12 new numbers from one client and made about
100 visit requests (each texting a host). Limits here are set small so that each test shows
where it bites; the defaults are in ``visit_platform/settings.py``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import redis
from django.conf import LazySettings
from django.db import connection
from django.test import Client

from forms.queries import current_version
from kernel import rate_limits
from tenants.actions import building_domain
from tenants.models import Building
from tests.conftest import admin_of
from tests.forms.conftest import make_host as make_form_host
from tests.forms.conftest import request_answers
from visit_platform.audit.actions import Actor
from visit_platform.notifications.actions import (
    TEXT_CEILING_ERROR,
    deliver_notification,
    send_notification,
)
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit

ABUSER = "203.0.113.66"
VISITOR = "198.51.100.7"


def phone(address: str, schema: str = "alpha") -> Client:
    client = Client(HTTP_HOST=building_domain(schema), REMOTE_ADDR=address)
    client.cookies["django_language"] = "en"
    return client


def limit(settings: LazySettings, scope: str, per_client: int, per_building: int) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: (per_client, per_building, 3600)}


def ask_code(client: Client, mobile: str, path: str = "/me/code/") -> Any:
    return client.post(path, {"mobile": mobile})


def codes_texted() -> int:
    return Notification.objects.filter(purpose="one_time_code").count()


def assert_too_many(response: Any) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600


# --- SMS codes --------------------------------------------------------------------------------


def test_one_client_cannot_text_codes_to_many_numbers(
    in_alpha: Building, settings: LazySettings
) -> None:
    """The probe's attack: codes to new numbers, one after another, from one client."""
    limit(settings, "sms_code", per_client=3, per_building=100)
    abuser = phone(ABUSER)

    answers = [ask_code(abuser, f"1390000000{n}") for n in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert_too_many(answers[3])
    assert "Too many attempts from this device" in answers[3].content.decode()
    assert codes_texted() == 3


def test_a_legitimate_visitor_still_gets_a_code_while_another_client_is_refused(
    in_alpha: Building, settings: LazySettings
) -> None:
    """One abuser spends their own limit, not the building's: a visitor in the same building
    on another address is texted their code."""
    limit(settings, "sms_code", per_client=2, per_building=10)
    abuser = phone(ABUSER)
    for n in range(6):
        ask_code(abuser, f"1390000000{n}")

    answer = ask_code(phone(VISITOR), "13800000001")

    assert answer.status_code == 200
    assert 'data-step="code"' in answer.content.decode()
    assert codes_texted() == 3


def test_the_building_limit_stops_many_clients_and_leaves_other_buildings_alone(
    alpha: Building, beta: Building, settings: LazySettings
) -> None:
    """Many addresses together are capped by the building's limit; the counters carry the
    building's schema, so Beta's visitors are not refused for Alpha's traffic."""
    limit(settings, "sms_code", per_client=5, per_building=3)
    connection.set_tenant(alpha)
    answers = [ask_code(phone(f"10.0.0.{n}"), f"1390000000{n}") for n in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert_too_many(answers[3])
    assert "This building receives too many requests" in answers[3].content.decode()
    connection.set_tenant(beta)
    assert ask_code(phone("10.0.0.9", "beta"), "13900000009").status_code == 200


@pytest.mark.parametrize("path", ["/wx/link/code/", "/wx/staff/code/"])
def test_the_wechat_code_pages_share_the_limit(
    in_alpha: Building, settings: LazySettings, path: str
) -> None:
    """Linking a visitor's WeChat and binding an employee's text codes as well."""
    limit(settings, "sms_code", per_client=2, per_building=100)
    abuser = phone(ABUSER)

    answers = [ask_code(abuser, "13900000001", path) for _ in range(3)]

    assert [a.status_code == 429 for a in answers] == [False, False, True]
    assert_too_many(answers[2])


def test_the_refusal_is_translated(in_alpha: Building, settings: LazySettings) -> None:
    limit(settings, "sms_code", per_client=0, per_building=100)
    chinese = phone(ABUSER)
    chinese.cookies["django_language"] = "zh-hans"

    answer = ask_code(chinese, "13900000001")

    assert answer.status_code == 429
    assert "请求过于频繁" in answer.content.decode()


# --- Visit requests ---------------------------------------------------------------------------


def submission() -> str:
    return json.dumps(
        {
            "version_id": current_version(Scenario.REQUEST).pk,
            "submission_id": str(uuid.uuid4()),
            "answers": request_answers(),
        }
    )


def test_visit_requests_from_one_client_are_limited_on_the_page_and_the_api(
    in_alpha: Building, settings: LazySettings
) -> None:
    """Each request texts a host: the page (also the WeChat form) and the API share a limit."""
    make_form_host()
    limit(settings, "visit_request", per_client=2, per_building=100)
    abuser = phone(ABUSER)
    api = "/api/forms/request/submissions"

    first = abuser.post(api, submission(), content_type="application/json")
    page = abuser.post("/visit/request/", {"visitor_name": "x"})
    third = abuser.post(api, submission(), content_type="application/json")

    assert first.status_code == 201
    assert page.status_code != 429  # counted, answered by the form
    assert_too_many(third)
    assert third.json()["code"] == "rate_limited"
    assert Visit.objects.count() == 1
    assert_too_many(abuser.post("/visit/request/", {"visitor_name": "x"}))


def test_a_legitimate_visit_request_passes_while_an_abuser_is_refused(
    in_alpha: Building, settings: LazySettings
) -> None:
    make_form_host()
    limit(settings, "visit_request", per_client=1, per_building=100)
    abuser = phone(ABUSER)
    api = "/api/forms/request/submissions"
    for _ in range(5):
        abuser.post(api, submission(), content_type="application/json")

    answer = phone(VISITOR).post(api, submission(), content_type="application/json")

    assert answer.status_code == 201
    assert Visit.objects.count() == 2


# --- Decision links and the forms API ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/a/{n}-guess/", "/o/1-{n}-guess/"])
def test_guessing_decision_links_is_limited(
    in_alpha: Building, settings: LazySettings, path: str
) -> None:
    limit(settings, "decision_link", per_client=3, per_building=100)
    abuser = phone(ABUSER)

    answers = [abuser.post(path.format(n=n), {"decision": "approve"}) for n in range(4)]

    assert [a.status_code == 429 for a in answers] == [False, False, False, True]
    assert_too_many(answers[3])
    assert phone(VISITOR).post(path.format(n=9), {"decision": "approve"}).status_code != 429


def test_the_forms_api_answers_429_in_json_with_retry_after(
    in_alpha: Building, settings: LazySettings
) -> None:
    limit(settings, "forms_api", per_client=2, per_building=100)
    abuser = phone(ABUSER)

    answers = [abuser.get("/api/forms/request") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert_too_many(answers[2])
    body = answers[2].json()
    assert body["code"] == "rate_limited"
    assert body["message"].startswith("Too many attempts")
    assert body["details"]["retry_after"] == int(answers[2]["Retry-After"])
    assert phone(VISITOR).get("/api/forms/request").status_code == 200


# --- Clients, and Redis away ------------------------------------------------------------------


def test_behind_a_proxy_clients_are_told_apart_by_the_configured_header(
    in_alpha: Building, settings: LazySettings
) -> None:
    """Every request through a proxy has the proxy's REMOTE_ADDR: without the header, one
    abuser would spend every visitor's limit."""
    limit(settings, "sms_code", per_client=1, per_building=100)
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    proxy = "10.1.1.1"

    abuser = ask_code(phone(proxy), "13900000001", "/me/code/")
    again = phone(proxy).post("/me/code/", {"mobile": "13900000002"}, HTTP_X_REAL_IP=ABUSER)
    twice = phone(proxy).post("/me/code/", {"mobile": "13900000003"}, HTTP_X_REAL_IP=ABUSER)
    visitor = phone(proxy).post("/me/code/", {"mobile": "13900000004"}, HTTP_X_REAL_IP=VISITOR)

    assert [abuser.status_code, again.status_code, twice.status_code] == [200, 200, 429]
    assert visitor.status_code == 200


@pytest.fixture
def redis_away(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that refuses connections (nothing listens on port 1)."""
    away = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(rate_limits, "_redis", lambda: away)


def test_without_redis_the_limits_fail_open_and_say_so(
    in_alpha: Building, settings: LazySettings, redis_away: None, caplog: Any
) -> None:
    """A Redis restart must not lock every visitor out; the log tells the operator."""
    limit(settings, "sms_code", per_client=1, per_building=1)

    answers = [ask_code(phone(ABUSER), f"1390000000{n}") for n in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "Rate limit sms_code not checked, Redis unavailable" in caplog.text


# --- The daily text ceiling -------------------------------------------------------------------


def queue_text(n: int) -> Notification:
    return send_notification(
        Actor.system("test"),
        channel="sms",
        to=f"1390000000{n}",
        purpose="approval_request",
        text=f"Visit request {n}",
    )


def test_past_the_daily_ceiling_texts_are_refused_and_the_property_admins_alerted_once(
    in_alpha: Building, settings: LazySettings
) -> None:
    settings.TEXTS_PER_BUILDING_PER_DAY = 2
    texts = [queue_text(n) for n in range(5)]

    delivered = [deliver_notification(text.pk) for text in texts]

    assert [d.status for d in delivered if d] == ["sent", "sent", "failed", "failed", "failed"]
    refused = delivered[2]
    assert refused is not None
    assert refused.error_code == TEXT_CEILING_ERROR
    assert refused.last_error.startswith("text_ceiling")
    alerts = Notification.objects.filter(purpose="text_ceiling")
    assert [(a.channel, a.recipient) for a in alerts] == [("email", admin_of(in_alpha).email)]
    assert "ceiling of 2 text messages" in alerts[0].text


def test_the_ceiling_is_per_building(
    alpha: Building, beta: Building, settings: LazySettings
) -> None:
    settings.TEXTS_PER_BUILDING_PER_DAY = 1
    connection.set_tenant(alpha)
    for n in range(2):
        deliver_notification(queue_text(n).pk)
    connection.set_tenant(beta)

    sent = deliver_notification(queue_text(5).pk)

    assert sent is not None and sent.status == "sent"


def test_without_redis_texts_still_go_out(
    in_alpha: Building, settings: LazySettings, redis_away: None
) -> None:
    settings.TEXTS_PER_BUILDING_PER_DAY = 0

    sent = deliver_notification(queue_text(1).pk)

    assert sent is not None and sent.status == "sent"
