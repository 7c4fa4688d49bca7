"""Consent wording versions, conditional fields on choices, and forgetting answers by their
privacy class (what the retention job will call)."""

from __future__ import annotations

from typing import Any

import pytest

from forms.actions import forget_answers, publish, save_draft, submit
from forms.queries import answer_keys_by_privacy, current_version
from forms.validation import AnswersInvalid, validate_answers
from tests.conftest import admin_of
from tests.forms.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    building_form,
    draft_fields,
    png_upload,
    window,
)
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.visits.choices import Scenario

pytestmark = pytest.mark.django_db


def _walk_in_answers(**changes: Any) -> dict[str, Any]:
    start, end = window()
    answers = {
        "visitor_name": "李四",
        "visitor_mobile": "13800138000",
        "id_document": {"type": "resident_id", "number": VALID_RESIDENT_ID},
        "visit_start": start,
        "visit_end": end,
        "purpose": "business",
        "privacy_consent": True,
    }
    answers.update(changes)
    return answers


def test_changing_the_consent_text_gives_it_a_new_version(in_alpha: Any) -> None:
    designer = Actor(user=admin_of(in_alpha))
    definition = building_form(Scenario.WALK_IN)
    unchanged = publish(designer, definition)
    fields = draft_fields(Scenario.WALK_IN)
    consent = next(spec for spec in fields if spec["key"] == "privacy_consent")
    consent["consent_text"] = {"zh-hans": "新的授权文本", "en": "New wording"}

    changed = publish(designer, save_draft(designer, definition, fields))
    visit, _ = submit(SYSTEM, validate_answers(changed, _walk_in_answers()))

    assert unchanged.field("privacy_consent")["consent_version"] == 1
    assert changed.field("privacy_consent")["consent_version"] == 2
    assert visit.answers["privacy_consent"] == {"agreed": True, "consent_version": 2}


def test_a_field_shown_for_one_choice_is_required_only_then(in_alpha: Any) -> None:
    designer = Actor(user=admin_of(in_alpha))
    fields = draft_fields(Scenario.WALK_IN)
    fields.append(
        {
            "key": "interviewer",
            "type": "text",
            "label": {"en": "Interviewer"},
            "required": True,
            "visible_if": {"field": "purpose", "equals": "interview"},
        }
    )
    version = publish(designer, save_draft(designer, building_form(Scenario.WALK_IN), fields))

    with pytest.raises(AnswersInvalid) as caught:
        validate_answers(version, _walk_in_answers(purpose="interview"))
    business = validate_answers(version, _walk_in_answers(interviewer="王五"))

    assert caught.value.fields == {"interviewer": ["This field is required."]}
    assert "interviewer" not in business.values
    assert version.schema["allOf"] == [
        {
            "if": {"properties": {"purpose": {"const": "interview"}}, "required": ["purpose"]},
            "then": {"required": ["interviewer"]},
        }
    ]


def test_forgetting_sensitive_answers_keeps_the_others_and_deletes_files(
    in_alpha: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    version = current_version(Scenario.NO_ID)
    start, end = window()
    answers = {
        "visitor_name": "John Smith",
        "visitor_mobile": "13800138000",
        "visit_start": start,
        "visit_end": end,
        "purpose": "business",
        "privacy_consent": True,
    }
    visit, _ = submit(SYSTEM, validate_answers(version, answers, {"face_photo": png_upload()}))
    photo_file = tmp_path / visit.answers["face_photo"]["file"]

    assert answer_keys_by_privacy(visit) == {
        "none": ["purpose", "privacy_consent"],
        "personal": [],
        "sensitive": ["face_photo"],
    }
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        removed = forget_answers(SYSTEM, visit, "sensitive")

    visit.refresh_from_db()
    assert removed == ["face_photo"]
    assert set(visit.answers) == {"purpose", "privacy_consent"}
    assert not photo_file.exists()
    assert AuditEntry.objects.filter(verb="visit.answers_forgotten").count() == 1
