"""The one validation path and ``submit``: per-field errors that store nothing, versions that
stay with their visits, and sensitive answers that are unreadable in the database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import translation

from forms.actions import host_not_found_message, publish, save_draft, submit
from forms.queries import current_version, visit_answers
from forms.validation import AnswersInvalid, validate_answers
from tests.conftest import admin_of
from tests.forms.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    building_form,
    draft_fields,
    make_host,
    png_upload,
    request_answers,
    window,
)
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit, Visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def host(in_alpha: Any) -> Any:
    return make_host()


def _errors(version: Any, answers: dict[str, Any], files: Any = None) -> dict[str, list[str]]:
    visits, visitors = Visit.objects.count(), Visitor.objects.count()
    with pytest.raises(AnswersInvalid) as caught:
        validated = validate_answers(version, answers, files)
        submit(SYSTEM, validated)
    assert (Visit.objects.count(), Visitor.objects.count()) == (visits, visitors)
    return caught.value.fields


def test_valid_answers_create_a_pending_visit_with_their_form_version(host: Any) -> None:
    version = current_version(Scenario.REQUEST)

    visit, replayed = submit(SYSTEM, validate_answers(version, request_answers()))

    assert replayed is False
    visit.refresh_from_db()
    assert visit.form_version == version
    assert visit.status == VisitStatus.PENDING_APPROVAL
    assert visit.host == host
    assert visit.visitor.name == "韩梅梅"
    assert visit.visitor.mobile == "+8613800138000"
    assert visit.purpose == "商务洽谈"
    # Locked fields live in columns, not again in the answers.
    assert visit.answers == {"purpose": "business", "by_car": False}


def test_a_published_change_reaches_new_submissions_and_old_visits_keep_their_version(
    host: Any, in_alpha: Any
) -> None:
    old_version = current_version(Scenario.REQUEST)
    old_visit, _ = submit(SYSTEM, validate_answers(old_version, request_answers()))
    fields = draft_fields(Scenario.REQUEST)
    fields.append(
        {
            "key": "floor",
            "type": "number",
            "label": {"en": "Floor", "zh-hans": "楼层"},
            "required": True,
        }
    )
    for spec in fields:
        if spec["key"] == "purpose":
            spec["label"] = {"en": "Reason for the visit", "zh-hans": "事由"}
    designer = Actor(user=admin_of(in_alpha))
    definition = save_draft(designer, building_form(Scenario.REQUEST), fields)
    new_version = publish(designer, definition)

    assert current_version(Scenario.REQUEST) == new_version
    assert new_version.number == old_version.number + 1
    assert _errors(new_version, request_answers()) == {"floor": ["This field is required."]}
    new_visit, _ = submit(SYSTEM, validate_answers(new_version, request_answers(floor=12)))

    assert new_visit.form_version == new_version
    assert new_visit.answers["floor"] == 12
    with translation.override("en"):
        old_rows = {row.key: (row.label, row.value) for row in visit_answers(old_visit, "en")}
        new_rows = {row.key: (row.label, row.value) for row in visit_answers(new_visit, "en")}
    assert old_rows["purpose"] == ("Purpose", "Business meeting")
    assert "floor" not in old_rows
    assert new_rows["purpose"] == ("Reason for the visit", "Business meeting")
    assert new_rows["floor"] == ("Floor", "12")
    assert AuditEntry.objects.filter(verb="form.published", detail__version=2).count() == 1


def test_wrong_types_are_refused_per_field(host: Any) -> None:
    version = current_version(Scenario.REQUEST)

    errors = _errors(version, request_answers(visitor_name=42, by_car="yes", purpose=["business"]))

    assert errors == {
        "visitor_name": ["Enter text."],
        "purpose": ["Enter text."],
        "by_car": ["Answer yes or no."],
    }


def test_missing_required_fields_are_named(host: Any) -> None:
    version = current_version(Scenario.REQUEST)

    errors = _errors(version, request_answers(visitor_name=None, host_mobile=None))

    assert errors == {
        "visitor_name": ["This field is required."],
        "host_mobile": ["This field is required."],
    }


def test_oversized_text_is_refused(host: Any) -> None:
    version = current_version(Scenario.REQUEST)

    errors = _errors(version, request_answers(visitor_name="长" * 101))

    assert errors == {"visitor_name": ["Enter at most 100 characters."]}


def test_script_tags_are_refused(host: Any) -> None:
    version = current_version(Scenario.REQUEST)

    errors = _errors(
        version,
        request_answers(
            visitor_name="<script>alert(1)</script>",
            companions=[{"name": "<img src=x onerror=alert(1)>", "mobile": "13800138001"}],
        ),
    )

    assert errors == {
        "visitor_name": ["HTML tags are not allowed."],
        "companions": ["HTML tags are not allowed."],
    }


def test_an_unknown_field_is_refused(host: Any) -> None:
    errors = _errors(current_version(Scenario.REQUEST), request_answers(is_admin=True))

    assert errors == {"is_admin": ["This field is not in the form."]}


def test_a_local_time_without_offset_is_not_a_date_time(host: Any) -> None:
    errors = _errors(
        current_version(Scenario.REQUEST), request_answers(visit_start="2026-12-01T10:00")
    )

    assert errors == {"visit_start": ["Enter a valid date and time."]}


def test_the_visit_must_end_after_it_starts(host: Any) -> None:
    start, end = window()

    errors = _errors(
        current_version(Scenario.REQUEST), request_answers(visit_start=end, visit_end=start)
    )

    assert errors == {"visit_end": ["The visit must end after it starts."]}


def test_a_mobile_number_that_does_not_exist_is_refused(host: Any) -> None:
    errors = _errors(current_version(Scenario.REQUEST), request_answers(visitor_mobile="12345678"))

    assert errors == {"visitor_mobile": ["Enter a valid mobile number."]}


def test_an_unknown_host_is_refused_on_the_host_field(host: Any) -> None:
    errors = _errors(current_version(Scenario.REQUEST), request_answers(host_mobile="13700000000"))

    assert errors == {"host_mobile": [host_not_found_message()]}


def test_the_plate_is_asked_only_when_arriving_by_car(host: Any) -> None:
    version = current_version(Scenario.REQUEST)

    assert _errors(version, request_answers(by_car=True)) == {
        "plate_number": ["This field is required."]
    }
    assert _errors(version, request_answers(by_car=True, plate_number="ABC")) == {
        "plate_number": ["Enter a valid licence plate number, such as 沪A12345."]
    }
    hidden = validate_answers(version, request_answers(by_car=False, plate_number="沪A12345"))
    shown = validate_answers(version, request_answers(by_car=True, plate_number="沪a 12345"))

    assert "plate_number" not in hidden.values
    assert shown.values["plate_number"] == "沪A12345"


def test_a_resident_id_with_a_wrong_check_character_is_refused(in_alpha: Any) -> None:
    version = current_version(Scenario.WALK_IN)
    start, end = window()
    answers = {
        "visitor_name": "李四",
        "visitor_mobile": "13800138000",
        "id_document": {"type": "resident_id", "number": "110105194912310021"},
        "visit_start": start,
        "visit_end": end,
        "purpose": "business",
        "privacy_consent": True,
    }

    errors = _errors(version, answers)

    assert errors == {"id_document": ["This is not a valid resident identity number."]}


def test_consent_is_required_and_recorded_with_its_text_version(host: Any, in_alpha: Any) -> None:
    version = current_version(Scenario.WALK_IN)
    start, end = window()
    answers = {
        "visitor_name": "李四",
        "visitor_mobile": "13800138000",
        "id_document": {"type": "resident_id", "number": VALID_RESIDENT_ID},
        "visit_start": start,
        "visit_end": end,
        "purpose": "business",
    }

    assert _errors(version, answers) == {"privacy_consent": ["Agree to continue."]}
    assert _errors(version, {**answers, "privacy_consent": False}) == {
        "privacy_consent": ["Agree to continue."]
    }
    visit, _ = submit(SYSTEM, validate_answers(version, {**answers, "privacy_consent": True}))

    rows = {row.key: row.value for row in visit_answers(visit, "en")}
    assert rows["privacy_consent"] == "Agreed (text version 1)"
    assert visit.visitor.masked_id_number == "1101**********002X"


def test_a_sensitive_answer_is_not_readable_in_the_database(in_alpha: Any) -> None:
    version = current_version(Scenario.WALK_IN)
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

    visit, _ = submit(SYSTEM, validate_answers(version, answers))

    with connection.cursor() as cursor:
        cursor.execute("SELECT answers::text FROM visits_visit WHERE id = %s", [visit.pk])
        raw = cursor.fetchone()[0]
    assert VALID_RESIDENT_ID not in raw
    assert "1101051949" not in raw
    assert json.loads(raw)["id_document"]["encrypted"].startswith("v1:")
    masked = {row.key: row.value for row in visit_answers(visit, "en")}
    revealed = {row.key: row.value for row in visit_answers(visit, "en", reveal=True)}
    assert masked["id_document"] == "Resident identity card 1101**********002X"
    assert revealed["id_document"] == f"Resident identity card {VALID_RESIDENT_ID}"


def test_a_face_photo_is_stored_encrypted(in_alpha: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    version = current_version(Scenario.NO_ID)
    start, end = window()
    photo = png_upload()
    original = photo.read()
    photo.seek(0)
    answers = {
        "visitor_name": "John Smith",
        "visitor_mobile": "13800138000",
        "visit_start": start,
        "visit_end": end,
        "purpose": "business",
        "privacy_consent": True,
    }

    visit, _ = submit(SYSTEM, validate_answers(version, answers, {"face_photo": photo}))

    stored = visit.answers["face_photo"]
    assert stored["encrypted"] is True
    assert stored["content_type"] == "image/png"
    on_disk = (tmp_path / stored["file"]).read_bytes()
    assert on_disk.startswith(b"v1:")
    assert original not in on_disk
    assert b"PNG" not in on_disk


def test_an_oversized_or_fake_photo_is_refused(in_alpha: Any) -> None:
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
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (3 * 1024 * 1024 + 1))
    script = SimpleUploadedFile("face.png", b"<script>alert(1)</script>", "image/png")

    assert _errors(version, answers, {"face_photo": big}) == {
        "face_photo": ["The file is larger than 3072 KB."]
    }
    assert _errors(version, answers, {"face_photo": script}) == {
        "face_photo": ["This type of file is not accepted."]
    }


def test_a_file_description_cannot_be_forged_in_the_answers(in_alpha: Any) -> None:
    version = current_version(Scenario.NO_ID)

    errors = _errors(
        version,
        {"face_photo": {"name": "x.png", "size": 10, "content_type": "image/png"}},
    )

    assert errors["face_photo"] == ["Upload the file itself."]


def test_a_resent_submission_id_returns_the_first_visit(host: Any) -> None:
    import uuid

    version = current_version(Scenario.REQUEST)
    submission = uuid.uuid4()
    first, replayed_first = submit(
        SYSTEM, validate_answers(version, request_answers()), submission_id=submission
    )

    again, replayed = submit(
        SYSTEM, validate_answers(version, request_answers()), submission_id=submission
    )

    assert (replayed_first, replayed) == (False, True)
    assert again.pk == first.pk
    assert Visit.objects.filter(submission_id=submission).count() == 1


def test_published_versions_cannot_be_changed_in_the_database(in_alpha: Any) -> None:
    from django.db import DatabaseError, transaction

    version = current_version(Scenario.REQUEST)

    with pytest.raises(DatabaseError), transaction.atomic():
        type(version).objects.filter(pk=version.pk).update(fields=[])
