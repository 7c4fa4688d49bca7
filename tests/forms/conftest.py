"""Helpers for form tests: the building's forms, valid answers, and edited field lists.

Every building gets its default forms when provisioned, so ``alpha`` and ``beta`` have them.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from forms.models import FormDefinition
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.models import Host

SYSTEM = Actor.system("tests")
HOST_MOBILE = "13911112222"
VALID_RESIDENT_ID = "11010519491231002X"


def building_form(scenario: str) -> FormDefinition:
    return FormDefinition.objects.get(scenario=scenario, company=None)


def draft_fields(scenario: str) -> list[dict[str, Any]]:
    return copy.deepcopy(building_form(scenario).latest_version().fields)  # type: ignore[union-attr]


def make_host(mobile: str = HOST_MOBILE) -> Host:
    existing = Host.objects.filter(mobile=f"+86{mobile}").first()
    if existing:
        return existing
    company = create_company(SYSTEM, name=f"企业 {mobile}", floors="8")
    return create_host(SYSTEM, company, name="李雷", mobile=mobile)


def window(hours: int = 2) -> tuple[str, str]:
    start = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def request_answers(**changes: Any) -> dict[str, Any]:
    """Valid JSON answers to the default request form."""
    start, end = window()
    answers: dict[str, Any] = {
        "visitor_name": "韩梅梅",
        "visitor_mobile": "13800138000",
        "host_mobile": HOST_MOBILE,
        "visit_start": start,
        "visit_end": end,
        "purpose": "business",
        "by_car": False,
    }
    answers.update(changes)
    return {key: value for key, value in answers.items() if value is not None}


def png_upload(name: str = "face.png", size: tuple[int, int] = (8, 8)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English; tests of Chinese ask for it explicitly."""
    with translation.override("en"):
        yield
