"""The console's security settings page (issue 14): property admins change the building's
overstay, end-of-day and gate-alert settings through one audited action; bad input is refused
on the page and changes nothing; other roles cannot open it."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db

URL = "/settings/security/"

GOOD = {
    "overstay_grace_minutes": "45",
    "overstay_escalation_minutes": "20",
    "overstay_tells_visitor": "on",
    "day_end_time": "22:30",
    "gate_silence_seconds": "300",
    "denial_burst_count": "8",
    "denial_burst_seconds": "120",
}


def settings_of(building: Building) -> tuple[Any, ...]:
    building.refresh_from_db()
    return (
        building.overstay_grace_minutes,
        building.overstay_escalation_minutes,
        building.overstay_tells_visitor,
        building.day_end_time,
        building.gate_silence_seconds,
        building.denial_burst_count,
        building.denial_burst_seconds,
    )


def changes_audited() -> int:
    with schema_context("alpha"):
        return AuditEntry.objects.filter(verb="building.security_settings_changed").count()


@pytest.fixture
def admin(alpha: Building) -> Client:
    client = client_for(alpha, admin_of(alpha))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_a_property_admin_sees_the_page_in_the_navigation_and_changes_the_settings(
    alpha: Building, beta: Building, admin: Client
) -> None:
    page = admin.get(URL)
    saved = admin.post(URL, GOOD)

    assert page.status_code == 200
    assert f'href="{URL}"' in page.content.decode()
    assert 'value="30"' in page.content.decode()  # the grace as it was
    assert saved.status_code == 302
    assert settings_of(alpha) == (45, 20, True, time(22, 30), 300, 8, 120)
    assert settings_of(beta) == (30, 30, False, time(23, 0), 120, 5, 60)  # another building
    with schema_context("alpha"):
        [entry] = AuditEntry.objects.filter(verb="building.security_settings_changed")
    assert entry.actor_label == "admin@alpha.example"
    assert entry.detail["changes"]["overstay_grace_minutes"] == ["30", "45"]
    assert entry.detail["changes"]["day_end_time"] == ["23:00:00", "22:30:00"]


def test_saving_the_same_settings_again_audits_nothing(alpha: Building, admin: Client) -> None:
    admin.post(URL, GOOD)

    again = admin.post(URL, GOOD)

    assert again.status_code == 302
    assert changes_audited() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("overstay_grace_minutes", "-1"),
        ("overstay_grace_minutes", "721"),
        ("overstay_grace_minutes", "abc"),
        ("overstay_grace_minutes", "1.5"),
        ("overstay_grace_minutes", "9" * 5000),
        ("overstay_grace_minutes", ""),
        ("overstay_escalation_minutes", "0"),
        ("gate_silence_seconds", "10"),
        ("gate_silence_seconds", "99999999999999999999"),
        ("denial_burst_count", "1"),
        ("denial_burst_seconds", "86400"),
        ("day_end_time", "25:00"),
        ("day_end_time", "03:00"),
        ("day_end_time", "evening"),
        ("day_end_time", "22:30:15"),
        ("day_end_time", "2" * 100_000),
    ],
)
def test_bad_input_is_refused_on_the_page_and_changes_nothing(
    alpha: Building, admin: Client, field: str, value: str
) -> None:
    before = settings_of(alpha)

    answer = admin.post(URL, {**GOOD, field: value})

    assert answer.status_code == 400
    assert answer.content.decode().count("has-error") == 1  # on the field that is wrong
    assert settings_of(alpha) == before
    assert changes_audited() == 0


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, Role.HOST, Role.SECURITY, Role.RECEPTION])
def test_other_roles_can_neither_open_nor_change_the_settings(alpha: Building, role: str) -> None:
    company = None
    if role in (Role.COMPANY_ADMIN, Role.HOST):
        with schema_context("alpha"):
            company = create_company(Actor.system("tests"), name="某公司", floors="3")
    client = client_for(alpha, member(alpha, f"{role}@alpha.example", role, company))
    before = settings_of(alpha)

    page = client.get(URL)
    posted = client.post(URL, GOOD)
    home = client.get("/")

    assert (page.status_code, posted.status_code) == (403, 403)
    assert f'href="{URL}"' not in home.content.decode()
    assert settings_of(alpha) == before
    assert changes_audited() == 0


def test_a_visitor_without_an_account_is_sent_to_sign_in(alpha: Building) -> None:
    answer = client_for(alpha).post(URL, GOOD)

    assert answer.status_code == 302
    assert "/login/" in answer["Location"]
    assert settings_of(alpha)[0] == 30
