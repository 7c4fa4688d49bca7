"""The console's retention pages: property admins set each class's period (bad input refused
on the page, nothing changed) and preview the job's run, which changes nothing; other roles
can neither open nor change them (ADR 0034)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.access.conftest import make_visit, make_visitor
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company
from visit_platform.directory.choices import Role
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import RetentionPeriod, Visit, Visitor

pytestmark = pytest.mark.django_db

URL = "/settings/retention/"
PREVIEW = "/settings/retention/preview/"
DEFAULTS = {"id_numbers": 30, "photos": 30, "names": 180, "gate_events": 365, "messages": 90}
GOOD = {"id_numbers": "14", "photos": "7", "names": "90", "gate_events": "730", "messages": "30"}


def periods(schema: str = "alpha") -> dict[str, int]:
    with schema_context(schema):
        return dict(RetentionPeriod.objects.values_list("data_class", "days"))


def changes_audited() -> int:
    with schema_context("alpha"):
        return AuditEntry.objects.filter(verb="retention.changed").count()


@pytest.fixture
def admin(alpha: Building) -> Client:
    client = client_for(alpha, admin_of(alpha))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_a_property_admin_sees_the_defaults_and_changes_the_periods(
    alpha: Building, beta: Building, admin: Client
) -> None:
    page = admin.get(URL)
    saved = admin.post(URL, GOOD)

    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="{URL}"' in html  # in the navigation
    for data_class, days in DEFAULTS.items():
        assert f'name="{data_class}" value="{days}"' in html
    assert (saved.status_code, saved["Location"]) == (302, URL)
    assert periods() == {key: int(value) for key, value in GOOD.items()}
    assert periods("beta") == {}  # another building keeps its own
    with schema_context("alpha"):
        [entry] = AuditEntry.objects.filter(verb="retention.changed")
    assert entry.actor_label == "admin@alpha.example"
    assert entry.detail["changes"] == {
        "id_numbers": [30, 14],
        "photos": [30, 7],
        "names": [180, 90],
        "gate_events": [365, 730],
        "messages": [90, 30],
    }


def test_the_page_reads_in_chinese(alpha: Building) -> None:
    client = client_for(alpha, admin_of(alpha))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    html = client.get(URL).content.decode()

    assert "数据保存期限" in html and "证件号码" in html


def test_submitting_the_same_form_twice_saves_and_audits_once(
    alpha: Building, admin: Client
) -> None:
    first = admin.post(URL, GOOD)

    again = admin.post(URL, GOOD, follow=True)

    assert first.status_code == 302
    assert again.status_code == 200
    assert "Nothing was changed." in again.content.decode()
    assert changes_audited() == 1
    assert periods()["id_numbers"] == 14


RANGE = "Enter a whole number of days from 1 to 3650."
WHOLE = "Enter a whole number."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_numbers", "0", RANGE),
        ("id_numbers", "-5", RANGE),
        ("photos", "3651", RANGE),
        ("names", "abc", WHOLE),
        ("names", "1.5", WHOLE),
        ("names", "", "This field is required."),
        ("gate_events", "9" * 5000, WHOLE),
        ("gate_events", "99999999999999999999", RANGE),
        ("messages", "1" * 100_000, WHOLE),
    ],
)
def test_bad_input_is_refused_on_the_page_and_changes_nothing(
    alpha: Building, admin: Client, field: str, value: str, message: str
) -> None:
    answer = admin.post(URL, {**GOOD, field: value})

    html = answer.content.decode()
    assert answer.status_code == 400
    assert html.count("has-error") == 1  # on the field that is wrong
    assert f'<div class="error">{message}</div>' in html
    assert periods() == {}
    assert changes_audited() == 0


def test_control_characters_are_refused_with_a_readable_page(
    alpha: Building, admin: Client
) -> None:
    answer = admin.post(URL, {**GOOD, "messages": "3\x00"})

    assert answer.status_code == 400
    assert "Back to the start page" in answer.content.decode()
    assert periods() == {}


def test_a_forged_form_with_unknown_or_missing_classes_changes_nothing(
    alpha: Building, admin: Client
) -> None:
    missing = {key: value for key, value in GOOD.items() if key != "photos"}

    refused = admin.post(URL, missing)
    extra = admin.post(URL, {**GOOD, "face_templates": "1", "days": "5"})

    assert refused.status_code == 400
    assert periods() == {key: int(value) for key, value in GOOD.items()}  # extra keys ignored
    assert extra.status_code == 302
    assert changes_audited() == 1


def test_a_post_without_the_csrf_token_is_refused(alpha: Building) -> None:
    client = client_for(alpha, admin_of(alpha))
    client.handler.enforce_csrf_checks = True

    answer = client.post(URL, GOOD)

    assert answer.status_code == 403
    assert periods() == {}


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, Role.HOST, Role.SECURITY, Role.RECEPTION])
def test_other_roles_can_neither_open_nor_change_nor_preview(alpha: Building, role: str) -> None:
    company = None
    if role in (Role.COMPANY_ADMIN, Role.HOST):
        with schema_context("alpha"):
            company = create_company(Actor.system("tests"), name="某公司", floors="3")
    client = client_for(alpha, member(alpha, f"{role}@alpha.example", role, company))

    page = client.get(URL)
    posted = client.post(URL, GOOD)
    preview = client.get(PREVIEW)
    home = client.get("/")

    assert (page.status_code, posted.status_code, preview.status_code) == (403, 403, 403)
    assert f'href="{URL}"' not in home.content.decode()
    assert periods() == {}


def test_an_admin_of_another_building_cannot_change_this_one(
    alpha: Building, beta: Building
) -> None:
    client = client_for(alpha, admin_of(beta))

    answer = client.post(URL, GOOD)

    assert answer.status_code == 403
    assert periods() == {}


def test_someone_signed_out_is_sent_to_sign_in(alpha: Building) -> None:
    answer = client_for(alpha).post(URL, GOOD)

    assert answer.status_code == 302
    assert "/login/" in answer["Location"]


def _rows() -> list[Any]:
    return list(Visitor.objects.order_by("pk").values_list()) + list(
        Visit.objects.order_by("pk").values_list()
    )


def test_the_preview_shows_counts_and_cut_offs_and_changes_nothing(
    alpha: Building, admin: Client
) -> None:
    with schema_context("alpha"):
        visitor = make_visitor(name="欧阳娜娜", mobile="13912345678")
        make_visit(
            visitor=visitor,
            status=VisitStatus.EXPIRED,
            starts=timezone.now() - timedelta(days=60),
        )
        before, audited = _rows(), AuditEntry.objects.count()

    page = admin.get(PREVIEW)

    html = page.content.decode()
    assert page.status_code == 200
    cells = [row.split("<td>")[1:] for row in html.split("<tr>") if row.strip().startswith("<td>")]
    assert [
        (cell[0].split("<")[0], cell[1].split("<")[0], cell[3].split("<")[0]) for cell in cells
    ] == [
        ("ID numbers", "30", "1"),
        ("Photos and face matches", "30", "0"),
        ("Names and mobiles", "180", "0"),
        ("Who passed the gates", "365", "0"),
        ("Messages", "90", "0"),
    ]
    with schema_context("alpha"):
        assert _rows() == before
        assert AuditEntry.objects.count() == audited
