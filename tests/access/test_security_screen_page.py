"""The security screen's page (who may open it, what it carries) and the JSON answers of the
acknowledge endpoint the screen posts to."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.access.conftest import make_host
from tests.conftest import admin_of, client_for, member
from visit_platform.access import actions
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Alert
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def report(kind: str = AlertKind.DOOR_FORCED) -> Alert:
    alert, _replay = actions.record_alert(
        actions.ReportedAlert(event_id=uuid.uuid4(), kind=kind, occurred_at=timezone.now())
    )
    return alert


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def screen_config(response: Any) -> dict[str, Any]:
    found = re.search(
        r'<script id="security-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "the page carries its config in a json_script tag"
    return dict(json.loads(found.group(1)))


@pytest.fixture
def security(alpha: Building) -> User:
    return member(alpha, "guard@alpha.example", Role.SECURITY)


@pytest.fixture
def guard(alpha: Building, security: User) -> Client:
    return english(client_for(alpha, security))


# --- The page -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SECURITY, Role.PROPERTY_ADMIN, Role.OPERATOR])
def test_security_property_admins_and_operators_open_the_screen(alpha: Building, role: str) -> None:
    client = english(client_for(alpha, member(alpha, f"{role}@alpha.example", role)))

    response = client.get("/security/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Security screen</h1>" in page
    assert 'href="/security/"' in client.get("/").content.decode()  # in the navigation
    assert '<script src="/static/web/security_screen.js"></script>' in page
    assert " on" + "change=" not in page and "onclick=" not in page  # no inline handlers (CSP)


def test_the_config_names_the_socket_the_acknowledge_url_and_translated_alert_kinds(
    alpha: Building, security: User
) -> None:
    english_config = screen_config(english(client_for(alpha, security)).get("/security/"))
    chinese_config = screen_config(client_for(alpha, security).get("/security/"))

    assert english_config["socket_path"] == "/ws/occupancy/"
    assert english_config["acknowledge_url"] == "/alerts/0/acknowledge/"
    assert english_config["can_acknowledge"] is True
    assert english_config["alert_kinds"]["door_forced"] == "Door forced open"
    assert set(english_config["alert_kinds"]) == set(AlertKind.values)
    assert chinese_config["alert_kinds"]["door_forced"] != "Door forced open"
    assert chinese_config["texts"]["live"] != "Live"


def test_the_page_speaks_chinese_by_default(alpha: Building, security: User) -> None:
    page = client_for(alpha, security).get("/security/").content.decode()

    assert "<h1>安保大屏</h1>" in page
    assert "当前在场" in page


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.HOST, Role.COMPANY_ADMIN])
def test_other_roles_may_not_open_it_nor_see_it_in_the_navigation(
    alpha: Building, role: str
) -> None:
    company = None
    if role != Role.RECEPTION:
        with schema_context("alpha"):
            company = make_host().company
    client = client_for(alpha, member(alpha, f"{role}@alpha.example", role, company))

    assert client.get("/security/").status_code == 403
    assert 'href="/security/"' not in client.get("/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(alpha: Building) -> None:
    response = client_for(alpha).get("/security/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_another_buildings_admin_may_not_open_alphas_screen(
    alpha: Building, beta: Building
) -> None:
    beta_admin = admin_of(beta)

    assert client_for(alpha, beta_admin).get("/security/").status_code == 403
    assert client_for(beta, beta_admin).get("/security/").status_code == 200


# --- Acknowledging from the screen (JSON) ---------------------------------------------------


def post_json(client: Client, alert_pk: int, data: Any, **extra: Any) -> Any:
    return client.post(f"/alerts/{alert_pk}/acknowledge/", data, **JSON, **extra)


def test_acknowledging_for_the_screen_answers_json_and_is_audited(
    in_alpha: Building, guard: Client, security: User
) -> None:
    alert = report()

    response = post_json(guard, alert.pk, {"note": " Door closed again. "})

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alert.pk
    assert body["note"] == "Door closed again."
    assert body["acknowledged_at"]
    alert.refresh_from_db()
    assert alert.acknowledged_by == security
    assert (
        AuditEntry.objects.filter(verb="alert.acknowledged", object_id=str(alert.pk)).count() == 1
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, "note_required"),
        ({"note": "   "}, "note_required"),
        ({"note": "x" * 501}, "note_too_long"),
        ({"note": "x" * 200_000}, "note_too_long"),
        ({"nothing": "here"}, "note_required"),
    ],
)
def test_a_malformed_or_oversized_note_gets_a_json_error_and_changes_nothing(
    in_alpha: Building, guard: Client, data: dict[str, str], code: str
) -> None:
    alert = report()

    response = post_json(guard, alert.pk, data)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code
    assert response.json()["message"]
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert not AuditEntry.objects.filter(verb="alert.acknowledged").exists()


def test_a_body_that_is_not_a_form_is_refused_as_json(in_alpha: Building, guard: Client) -> None:
    alert = report()

    response = guard.post(
        f"/alerts/{alert.pk}/acknowledge/",
        data=b"\xff\xfe{not json",
        content_type="application/json",
        **JSON,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "note_required"
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_a_replayed_acknowledgement_gets_409_json_and_changes_nothing(
    alpha: Building, guard: Client
) -> None:
    with schema_context("alpha"):
        alert = report()
    first = post_json(guard, alert.pk, {"note": "Checked."})

    replay = post_json(guard, alert.pk, {"note": "Checked again."})
    by_someone_else = post_json(
        english(client_for(alpha, admin_of(alpha))), alert.pk, {"note": "Me too."}
    )

    assert first.status_code == 200
    for response in (replay, by_someone_else):
        assert response.status_code == 409
        assert response.json()["code"] == "alert_already_acknowledged"
        assert "guard@alpha.example" in response.json()["message"]
    with schema_context("alpha"):
        alert.refresh_from_db()
        assert alert.acknowledgement_note == "Checked."
        assert AuditEntry.objects.filter(verb="alert.acknowledged").count() == 1


def test_a_forged_post_without_csrf_gets_403_json_and_changes_nothing(
    alpha: Building, security: User
) -> None:
    with schema_context("alpha"):
        alert = report()
    browser = english(client_for(alpha, security))
    browser.handler.enforce_csrf_checks = True

    response = post_json(browser, alert.pk, {"note": "forged"})
    with_a_made_up_token = post_json(
        browser, alert.pk, {"note": "forged"}, HTTP_X_CSRFTOKEN="a" * 32
    )

    for refused in (response, with_a_made_up_token):
        assert refused.status_code == 403
        assert refused.json()["code"] == "csrf_failed"
    with schema_context("alpha"):
        assert Alert.objects.get(pk=alert.pk).acknowledged_at is None


def test_the_html_form_keeps_its_page_when_csrf_fails(alpha: Building, security: User) -> None:
    with schema_context("alpha"):
        alert = report()
    browser = client_for(alpha, security)
    browser.handler.enforce_csrf_checks = True

    response = browser.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "forged"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_no_such_alert_and_no_permission_answer_json(alpha: Building, guard: Client) -> None:
    with schema_context("alpha"):
        alert = report()
    reception = client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))

    missing = post_json(guard, 999_999, {"note": "x"})
    forbidden = post_json(reception, alert.pk, {"note": "x"})
    signed_out = post_json(client_for(alpha), alert.pk, {"note": "x"})

    assert (missing.status_code, missing.json()["code"]) == (404, "alert_not_found")
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    assert (signed_out.status_code, signed_out.json()["code"]) == (401, "not_signed_in")
    with schema_context("alpha"):
        assert Alert.objects.get(pk=alert.pk).acknowledged_at is None


def test_another_buildings_alert_cannot_be_acknowledged_from_this_screen(
    alpha: Building, beta: Building
) -> None:
    with schema_context("alpha"):
        alert = report()

    response = post_json(client_for(beta, admin_of(beta)), alert.pk, {"note": "not mine"})

    assert response.status_code == 404
    with schema_context("alpha"):
        assert Alert.objects.get(pk=alert.pk).acknowledged_at is None
