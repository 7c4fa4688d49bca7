"""The operator's admin in headless Chromium, after a face-record census over the threshold:
the notice on every admin page, and the census with its numbers by building (ADR 0036)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

OPERATOR = "census-operator@platform.example"
PASSWORD = "census operator password 2026"


@pytest.fixture
def census_over_threshold(
    live_building: LiveBuilding, django_db_blocker: Any, settings: Any
) -> Iterator[int]:
    """A committed census that found 2 people with a desk photo in the live building, at a
    threshold of 2; cleaned up afterwards (its rows and the operator's account, deactivated:
    other tests count the active operators)."""
    settings.FACE_RECORDS_ALERT_THRESHOLD = 2
    settings.FACE_RECORDS_ALERT_EMAILS = ["operator@platform.example"]

    def take() -> int:
        from django_tenants.utils import schema_context

        from tenants.models import User
        from visit_platform.visits.models import Visitor
        from workflows.actions.face_records import take_face_record_census

        Visitor.objects.create(name="甲", photo="visitors/2026/12/a.jpg")
        Visitor.objects.create(name="乙", photo="visitors/2026/12/b.jpg")
        with schema_context("public"):
            # Never deleted: a user's rows cascade into building tables the public schema
            # lacks. Made once, switched on again.
            operator = User.objects.filter(email=OPERATOR).first()
            if operator is None:
                User.objects.create_superuser(email=OPERATOR, password=PASSWORD)
            else:
                operator.is_active = True
                operator.save(update_fields=["is_active"])
        return int(take_face_record_census().pk)

    def clean_up() -> None:
        from django_tenants.utils import schema_context

        from tenants.models import FaceRecordCensus, User
        from visit_platform.visits.models import Visitor, index_of_name

        # Names are encrypted (ADR 0033): found by their blind index.
        Visitor.objects.filter(name_index__in=[index_of_name("甲"), index_of_name("乙")]).delete()
        with schema_context("public"):
            FaceRecordCensus.objects.all().delete()
            User.objects.filter(email=OPERATOR).update(is_active=False)

    census_pk = run_committed(live_building, django_db_blocker, take)
    try:
        yield census_pk
    finally:
        run_committed(live_building, django_db_blocker, clean_up)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_operator_sees_the_notice_and_the_numbers_by_building(
    live_building: LiveBuilding, browser: Any, census_over_threshold: int, width: str
) -> None:
    viewport = {"desktop": {"width": 1280, "height": 820}, "phone": {"width": 390, "height": 844}}
    context = browser.new_context(viewport=viewport[width], is_mobile=width == "phone")
    page = context.new_page()
    public = f"http://localhost:{urlsplit(live_building.url).port}"
    page.goto(f"{public}/admin/login/")
    page.fill("input[name=username]", OPERATOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_selector("[data-test=face-records-notice]")

    notice = page.inner_text("[data-test=face-records-notice]")
    screenshot(page, f"operator-face-records-notice-{width}")
    page.click("[data-test=face-records-notice] a")
    page.wait_for_selector(".inline-group")
    numbers = page.inner_text(".inline-group")

    assert "2" in notice
    schema = live_building.building.schema_name
    assert schema in numbers
    assert "甲" not in numbers and "乙" not in numbers  # numbers, never people
    screenshot(page, f"operator-face-record-census-{width}")
    context.close()
