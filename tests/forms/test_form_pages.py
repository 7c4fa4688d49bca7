"""The pages of forms: the visitor's phone form, reception's form, a visit's answers and the
designer's calls, through real requests on the building's domain."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.utils import timezone

from forms.actions import host_not_found_message, publish, save_draft, submit
from forms.models import FormDefinition
from forms.queries import current_version
from forms.validation import validate_answers
from tests.conftest import admin_of, client_for, member
from tests.forms.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    building_form,
    draft_fields,
    make_host,
    request_answers,
)
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit, Visitor

pytestmark = pytest.mark.django_db


def _local(iso: str) -> str:
    """An ISO time as a phone's datetime-local input sends it (building time, no offset)."""
    from datetime import datetime

    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%dT%H:%M")


def _post_data(version: Any, **changes: Any) -> dict[str, Any]:
    answers = request_answers()
    data = {
        "form_version": str(version.pk),
        "submission_id": str(uuid.uuid4()),
        "visitor_name": answers["visitor_name"],
        "visitor_mobile": answers["visitor_mobile"],
        "host_mobile": answers["host_mobile"],
        "visit_start": _local(answers["visit_start"]),
        "visit_end": _local(answers["visit_end"]),
        "purpose": "business",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_visitor_submits_the_request_form_from_a_phone(in_alpha: Any) -> None:
    host = make_host()
    version = current_version(Scenario.REQUEST)
    client = client_for(in_alpha)

    page = client.get("/visit/request/")
    response = client.post(
        "/visit/request/", _post_data(version, by_car="on", plate_number="沪A12345")
    )

    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert 'name="host_mobile"' in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "/visit/request/sent/"
    visit = Visit.objects.get()
    assert visit.host == host
    assert visit.form_version == version
    assert visit.status == VisitStatus.PENDING_APPROVAL
    assert visit.answers["plate_number"] == "沪A12345"
    entry = AuditEntry.objects.get(verb="form.submitted")
    assert entry.actor_label == "visitor"


def test_the_visitor_page_shows_errors_per_field_and_stores_nothing(in_alpha: Any) -> None:
    make_host()
    version = current_version(Scenario.REQUEST)

    response = client_for(in_alpha).post(
        "/visit/request/",
        _post_data(version, visitor_name="<script>alert(1)</script>", visitor_mobile=None),
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "HTML tags are not allowed." in html or "不允许使用 HTML 标签。" in html
    assert html.count('class="ff-error"') == 2
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert Visit.objects.count() == 0
    assert Visitor.objects.count() == 0


def test_visitor_page_errors_are_in_the_visitors_language(in_alpha: Any) -> None:
    make_host()
    version = current_version(Scenario.REQUEST)
    client = client_for(in_alpha)

    client.cookies["django_language"] = "en"
    english = client.post("/visit/request/", _post_data(version, visitor_name=None)).content
    client.cookies["django_language"] = "zh-hans"
    chinese = client.post("/visit/request/", _post_data(version, visitor_name=None)).content

    assert "This field is required." in english.decode()
    assert "这个字段是必填项。" in chinese.decode()


def test_script_in_a_label_is_escaped_on_every_page(in_alpha: Any) -> None:
    admin = admin_of(in_alpha)
    fields = draft_fields(Scenario.REQUEST)
    fields.append(
        {
            "key": "note",
            "type": "text",
            "label": {
                "zh-hans": "<script>alert('x')</script>",
                "en": "<script>alert('x')</script>",
            },
            "help": {"en": "<b>bold</b>", "zh-hans": "<b>bold</b>"},
        }
    )
    definition = save_draft(Actor(user=admin), building_form(Scenario.REQUEST), fields)
    publish(Actor(user=admin), definition)
    client = client_for(in_alpha, admin)

    pages = [
        client.get("/visit/request/").content.decode(),
        client.get(f"/forms/{definition.pk}/").content.decode(),
        client.post(
            f"/forms/{definition.pk}/preview/",
            json.dumps({"fields": fields}),
            content_type="application/json",
        ).content.decode(),
    ]

    for html in pages:
        assert "<script>alert('x')</script>" not in html
        assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in pages[0]
    assert "&lt;b&gt;bold&lt;/b&gt;" in pages[2]


def test_a_form_posted_against_an_older_version_is_shown_again_not_stored(in_alpha: Any) -> None:
    make_host()
    old = current_version(Scenario.REQUEST)
    admin = admin_of(in_alpha)
    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "floor", "type": "number", "label": {"en": "Floor"}})
    publish(
        Actor(user=admin), save_draft(Actor(user=admin), building_form(Scenario.REQUEST), fields)
    )

    response = client_for(in_alpha).post("/visit/request/", _post_data(old))

    assert response.status_code == 200
    assert 'name="floor"' in response.content.decode()
    assert Visit.objects.count() == 0


def test_only_public_scenarios_have_a_visitor_page(in_alpha: Any) -> None:
    assert client_for(in_alpha).get("/visit/walk_in/").status_code == 404
    assert client_for(in_alpha).get("/visit/nothing/").status_code == 404


def test_reception_registers_a_walk_in_with_the_django_form(in_alpha: Any) -> None:
    make_host()
    reception = member(in_alpha, "desk@alpha.example", "reception")
    version = current_version(Scenario.WALK_IN)
    client = client_for(in_alpha, reception)
    data = _post_data(
        version,
        host_mobile=None,
        id_document_0="resident_id",
        id_document_1=VALID_RESIDENT_ID.lower(),
        privacy_consent="on",
    )

    page = client.get("/reception/walk_in/")
    response = client.post("/reception/walk_in/", data)

    assert page.status_code == 200
    assert 'name="id_document_1"' in page.content.decode()
    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith("/tasks/")  # on to the desk check (screen 2)
    assert visit.registered_by == reception
    assert visit.visitor.id_number == VALID_RESIDENT_ID
    assert visit.answers["id_document"]["encrypted"].startswith("v1:")


def test_the_answers_page_masks_and_audits_unmasking(in_alpha: Any) -> None:
    version = current_version(Scenario.WALK_IN)
    answers = request_answers(host_mobile=None, by_car=None)
    answers.update(
        id_document={"type": "resident_id", "number": VALID_RESIDENT_ID}, privacy_consent=True
    )
    visit, _ = submit(SYSTEM, validate_answers(version, answers))
    admin = admin_of(in_alpha)
    client = client_for(in_alpha, admin)

    masked = client.get(f"/visits/{visit.pk}/answers/").content.decode()
    revealed = client.get(f"/visits/{visit.pk}/answers/?reveal=1").content.decode()

    assert VALID_RESIDENT_ID not in masked
    assert "1101**********002X" in masked
    assert VALID_RESIDENT_ID in revealed
    assert (
        AuditEntry.objects.filter(verb="visit.answers_viewed", object_id=str(visit.pk)).count() == 1
    )
    assert (
        AuditEntry.objects.filter(verb="visit.answers_revealed", object_id=str(visit.pk)).count()
        == 1
    )


def test_security_cannot_unmask_answers(in_alpha: Any) -> None:
    version = current_version(Scenario.WALK_IN)
    answers = request_answers(host_mobile=None, by_car=None)
    answers.update(
        id_document={"type": "resident_id", "number": VALID_RESIDENT_ID}, privacy_consent=True
    )
    visit, _ = submit(SYSTEM, validate_answers(version, answers))
    guard = member(in_alpha, "guard@alpha.example", "security")

    html = client_for(in_alpha, guard).get(f"/visits/{visit.pk}/answers/?reveal=1").content.decode()

    assert VALID_RESIDENT_ID not in html
    assert not AuditEntry.objects.filter(verb="visit.answers_revealed").exists()


def test_the_designer_saves_refuses_and_publishes(in_alpha: Any) -> None:
    admin = admin_of(in_alpha)
    client = client_for(in_alpha, admin)
    definition = building_form(Scenario.REQUEST)
    fields = draft_fields(Scenario.REQUEST)
    bad = [*fields, {"key": "badge", "type": "text", "label": {"en": "B"}, "pattern": "("}]
    good = [*fields, {"key": "badge", "type": "text", "label": {"en": "Badge"}}]

    refused = client.post(
        f"/forms/{definition.pk}/draft/",
        json.dumps({"fields": bad}),
        content_type="application/json",
    )
    malformed = client.post(
        f"/forms/{definition.pk}/draft/", "{nope", content_type="application/json"
    )
    saved = client.post(
        f"/forms/{definition.pk}/draft/",
        json.dumps({"fields": good}),
        content_type="application/json",
    )
    published = client.post(f"/forms/{definition.pk}/publish/", HTTP_ACCEPT="application/json")

    assert refused.status_code == 400
    assert refused.json()["details"]["problems"][0]["field"] == "badge"
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "malformed_json"
    assert saved.status_code == 200
    assert saved.json()["unpublished"] is True
    assert published.json() == {"version": 2}
    assert current_version(Scenario.REQUEST).field("badge") is not None


def test_restoring_an_old_version_publishes_it_again_and_is_audited(in_alpha: Any) -> None:
    admin = admin_of(in_alpha)
    definition = building_form(Scenario.REQUEST)
    original = current_version(Scenario.REQUEST).fields
    fields = [
        *draft_fields(Scenario.REQUEST),
        {"key": "badge", "type": "text", "label": {"en": "B"}},
    ]
    publish(Actor(user=admin), save_draft(Actor(user=admin), definition, fields))

    response = client_for(in_alpha, admin).post(f"/forms/{definition.pk}/versions/1/restore/")

    assert response.status_code == 302
    restored = current_version(Scenario.REQUEST)
    assert (restored.number, restored.restored_from) == (3, 1)
    assert restored.fields == original
    assert AuditEntry.objects.filter(verb="form.restored", detail__restored_from=1).count() == 1


def test_a_company_admin_designs_only_their_company_form(in_alpha: Any) -> None:
    host = make_host()
    other = make_host("13922223333")
    company_admin = member(in_alpha, "ca@alpha.example", "company_admin", company=host.company)
    client = client_for(in_alpha, company_admin)

    listing = client.get("/forms/")
    created = client.post("/forms/", {"scenario": "request", "company": host.company.pk})
    foreign = client.post("/forms/", {"scenario": "request", "company": other.company.pk})
    building = client.get(f"/forms/{building_form(Scenario.REQUEST).pk}/")

    override = FormDefinition.objects.get(company=host.company)
    assert listing.status_code == 200
    assert created["Location"] == f"/forms/{override.pk}/"
    assert foreign.status_code == 302
    assert not FormDefinition.objects.filter(company=other.company).exists()
    assert building.status_code == 404
    actor = Actor(user=company_admin)
    fields = [*override.draft, {"key": "badge", "type": "text", "label": {"en": "Badge"}}]
    version = publish(actor, save_draft(actor, override, fields))
    assert current_version(Scenario.REQUEST, host.company.pk) == version
    assert current_version(Scenario.REQUEST, other.company.pk).definition.company is None


def test_a_company_form_only_reaches_hosts_of_that_company(in_alpha: Any) -> None:
    host = make_host()
    other = make_host("13922223333")
    from forms.actions import create_company_override

    override = create_company_override(SYSTEM, Scenario.REQUEST, host.company)
    version = publish(SYSTEM, override)
    answers = request_answers(host_mobile="13922223333")

    from forms.validation import AnswersInvalid

    with pytest.raises(AnswersInvalid) as caught:
        submit(SYSTEM, validate_answers(version, answers))

    assert caught.value.fields == {"host_mobile": [host_not_found_message()]}
    assert other.visits.count() == 0


def test_new_buildings_get_a_published_form_for_every_scenario(in_beta: Any) -> None:
    published = {
        definition.scenario: definition.latest_version().number
        for definition in FormDefinition.objects.filter(company=None)
    }

    assert published == {scenario: 1 for scenario in Scenario.values}


def test_an_old_visit_is_shown_with_its_own_version_after_a_change(in_alpha: Any) -> None:
    make_host()
    admin = admin_of(in_alpha)
    old_visit, _ = submit(
        SYSTEM, validate_answers(current_version(Scenario.REQUEST), request_answers())
    )
    fields = draft_fields(Scenario.REQUEST)
    for spec in fields:
        if spec["key"] == "purpose":
            spec["label"] = {"en": "Reason", "zh-hans": "事由"}
    publish(
        Actor(user=admin), save_draft(Actor(user=admin), building_form(Scenario.REQUEST), fields)
    )
    client = client_for(in_alpha, admin)
    client.cookies["django_language"] = "en"

    html = client.get(f"/visits/{old_visit.pk}/answers/").content.decode()

    assert "form version 1" in html
    assert '<th scope="row">Purpose</th>' in html
    assert "Reason" not in html


def test_the_designer_shows_an_earlier_version(in_alpha: Any) -> None:
    admin = admin_of(in_alpha)
    definition = building_form(Scenario.REQUEST)
    fields = [
        *draft_fields(Scenario.REQUEST),
        {"key": "badge", "type": "text", "label": {"en": "B"}},
    ]
    publish(Actor(user=admin), save_draft(Actor(user=admin), definition, fields))
    client = client_for(in_alpha, admin)

    first = client.get(f"/forms/{definition.pk}/versions/1/").content.decode()
    second = client.get(f"/forms/{definition.pk}/versions/2/?layout=desk").content.decode()

    assert 'name="badge"' not in first
    assert 'name="badge"' in second
    assert client.get(f"/forms/{definition.pk}/versions/9/").status_code == 404


def test_a_visitor_form_larger_than_the_limit_is_refused_unread(in_alpha: Any) -> None:
    version = current_version(Scenario.REQUEST)

    response = client_for(in_alpha).post(
        "/visit/request/", _post_data(version), CONTENT_LENGTH=str(17 * 1024 * 1024)
    )

    assert response.status_code == 413
    assert Visit.objects.count() == 0


def test_the_designer_script_never_inserts_html() -> None:
    from pathlib import Path

    import forms

    scripts = Path(forms.__file__).parent / "static" / "forms"
    for script in scripts.glob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{script.name} uses {sink}"


def test_the_visitor_form_still_checks_csrf(in_alpha: Any) -> None:
    from django.test import Client

    from tenants.actions import building_domain

    make_host()
    strict = Client(HTTP_HOST=building_domain(in_alpha.schema_name), enforce_csrf_checks=True)

    response = strict.post("/visit/request/", _post_data(current_version(Scenario.REQUEST)))

    assert response.status_code == 403
    assert Visit.objects.count() == 0


def test_reception_opens_an_encrypted_face_photo_and_it_is_audited(
    in_alpha: Any, settings: Any, tmp_path: Any
) -> None:
    from tests.forms.conftest import png_upload, window

    settings.MEDIA_ROOT = tmp_path
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
    visit, _ = submit(
        SYSTEM, validate_answers(current_version(Scenario.NO_ID), answers, {"face_photo": photo})
    )
    desk = client_for(in_alpha, member(in_alpha, "desk@alpha.example", "reception"))
    guard = client_for(in_alpha, member(in_alpha, "guard@alpha.example", "security"))

    revealed = desk.get(f"/visits/{visit.pk}/answers/?reveal=1").content.decode()
    opened = desk.get(f"/visits/{visit.pk}/answers/face_photo/file")
    refused = guard.get(f"/visits/{visit.pk}/answers/face_photo/file")
    missing = desk.get(f"/visits/{visit.pk}/answers/purpose/file")

    assert f"/visits/{visit.pk}/answers/face_photo/file" in revealed
    assert opened.status_code == 200
    assert opened.content == original
    assert opened["Content-Type"] == "image/png"
    assert opened["X-Content-Type-Options"] == "nosniff"
    assert refused.status_code == 403
    assert missing.status_code == 404
    assert AuditEntry.objects.filter(verb="visit.answer_file_viewed").count() == 1


def test_a_submission_id_of_another_form_is_refused_on_the_page(in_alpha: Any) -> None:
    make_host()
    walk_in = current_version(Scenario.WALK_IN)
    answers = request_answers(host_mobile=None, by_car=None)
    answers.update(
        id_document={"type": "resident_id", "number": VALID_RESIDENT_ID}, privacy_consent=True
    )
    taken = uuid.uuid4()
    submit(SYSTEM, validate_answers(walk_in, answers), submission_id=taken)
    client = client_for(in_alpha)
    client.cookies["django_language"] = "en"

    response = client.post(
        "/visit/request/",
        _post_data(current_version(Scenario.REQUEST), submission_id=str(taken)),
    )

    assert response.status_code == 200
    assert "This submission id was already used for another form." in response.content.decode()
    assert Visit.objects.count() == 1
