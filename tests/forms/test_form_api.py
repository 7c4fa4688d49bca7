"""The forms API for kiosks and WeChat pages: the form as JSON, and answers checked by the
same path as the pages; bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from forms.actions import publish, save_draft
from forms.queries import current_version
from tests.conftest import admin_of, client_for
from tests.forms.conftest import building_form, draft_fields, make_host, png_upload, request_answers
from visit_platform.audit.actions import Actor
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit, Visitor

pytestmark = pytest.mark.django_db

BASE = "/api/forms"


@pytest.fixture
def client(in_alpha: Any) -> Any:
    make_host()
    return client_for(in_alpha)


def _post(client: Any, path: str, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"{BASE}{path}", data, content_type="application/json", **extra)


def _submission(**changes: Any) -> dict[str, Any]:
    body = {
        "version_id": current_version(Scenario.REQUEST).pk,
        "submission_id": str(uuid.uuid4()),
        "answers": request_answers(),
    }
    body.update(changes)
    return body


def _nothing_stored() -> None:
    assert Visit.objects.count() == 0
    assert Visitor.objects.count() == 0


def test_the_form_is_served_as_json_schema_and_ui_in_the_asked_language(client: Any) -> None:
    version = current_version(Scenario.REQUEST)

    english = client.get(f"{BASE}/request?lang=en").json()
    chinese = client.get(f"{BASE}/request?lang=zh-hans").json()

    assert english["version_id"] == version.pk
    assert english["schema"] == version.schema
    Draft202012Validator.check_schema(english["schema"])
    assert [field["key"] for field in english["fields"]] == [s["key"] for s in version.fields]
    host = next(field for field in english["fields"] if field["key"] == "host_mobile")
    assert host["label"] == "Host's mobile number"
    assert host["locked"] is True
    plate = next(field for field in english["fields"] if field["key"] == "plate_number")
    assert plate["visible_if"] == {"field": "by_car", "equals": True}
    assert chinese["fields"][0]["label"] == "访客姓名"


def test_an_unknown_scenario_is_not_found(client: Any) -> None:
    response = client.get(f"{BASE}/nothing")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_valid_answers_are_submitted_once_and_a_replay_returns_the_same_visit(client: Any) -> None:
    body = _submission()

    first = _post(client, "/request/submissions", body)
    replay = _post(client, "/request/submissions", body)

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json() == {**first.json(), "replayed": True}
    assert first.json()["status"] == "pending_approval"
    visit = Visit.objects.get()
    assert visit.form_version == current_version(Scenario.REQUEST)


def test_check_answers_reports_errors_per_field_in_the_language_asked(client: Any) -> None:
    body = {
        "version_id": current_version(Scenario.REQUEST).pk,
        "answers": request_answers(visitor_name=None, by_car="yes", host_mobile="<b>1</b>"),
    }

    english = _post(client, "/request/check?lang=en", body)
    chinese = _post(client, "/request/check?lang=zh-hans", body)

    assert english.status_code == 422
    assert english.json()["code"] == "invalid_answers"
    assert english.json()["details"]["fields"] == {
        "visitor_name": ["This field is required."],
        "host_mobile": ["Enter a valid mobile number."],
        "by_car": ["Answer yes or no."],
    }
    assert chinese.json()["details"]["fields"]["visitor_name"] == ["这个字段是必填项。"]
    _nothing_stored()


def test_malformed_json_is_refused(client: Any) -> None:
    response = _post(client, "/request/submissions", '{"version_id": 1, "answers": ')

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    _nothing_stored()


def test_answers_of_the_wrong_shape_are_refused(client: Any) -> None:
    wrong_answers = _post(client, "/request/submissions", _submission(answers=["a"]))
    wrong_id = _post(client, "/request/submissions", _submission(version_id="1"))
    no_submission = _post(
        client, "/request/submissions", {"version_id": 1, "answers": request_answers()}
    )

    for response in (wrong_answers, wrong_id, no_submission):
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_request"
    _nothing_stored()


def test_an_oversized_body_is_refused(client: Any) -> None:
    body = _submission(answers=request_answers(visitor_name="x" * (4 * 1024 * 1024)))

    response = _post(client, "/request/submissions", body)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    _nothing_stored()


def test_a_hundred_thousand_companions_are_refused_before_anything_looks_at_them(
    client: Any,
) -> None:
    companions = [{"name": "Li", "mobile": "13800138000"}] * 100_000  # 3.6 MB
    body = _submission(answers=request_answers(companions=companions))

    submitted = _post(client, "/request/submissions", body)
    checked = _post(client, "/request/check", body)

    for response in (submitted, checked):
        assert response.status_code == 413
        assert response.json()["code"] == "too_many_values"
        assert "10000" in response.json()["message"]
    _nothing_stored()


def test_more_companions_than_the_form_allows_are_refused_by_the_count_alone(
    client: Any,
) -> None:
    """The schema's limits are checked first, by size: the rows are not read at all."""
    companions = [{"name": "随行\x00", "mobile": "13800138000"}] * 50

    response = _post(
        client,
        "/request/submissions?lang=en",
        _submission(answers=request_answers(companions=companions)),
    )

    assert response.status_code == 422
    assert response.json()["details"]["fields"] == {"companions": ["At most 5 companions."]}
    _nothing_stored()


def test_an_answer_nested_deeper_than_any_form_is_refused(client: Any) -> None:
    nested: Any = "x"
    for _level in range(20):
        nested = [nested]

    response = _post(
        client, "/request/check", _submission(answers=request_answers(visitor_name=nested))
    )

    assert response.status_code == 413
    assert response.json()["code"] == "too_deep"


def test_a_catastrophic_pattern_is_answered_with_a_normal_validation_error(
    client: Any, in_alpha: Any
) -> None:
    designer = Actor(user=admin_of(in_alpha))
    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "code", "type": "text", "label": {"en": "Code"}, "pattern": "^(a|a)*$"})
    publish(designer, save_draft(designer, building_form(Scenario.REQUEST), fields))

    response = _post(
        client,
        "/request/check?lang=en",
        _submission(answers=request_answers(code="a" * 100 + "!")),
    )

    assert response.status_code == 422
    assert response.json()["details"]["fields"] == {
        "code": ["The answer does not have the expected format."]
    }


def test_a_forged_version_id_is_refused(client: Any, in_alpha: Any) -> None:
    walk_in = current_version(Scenario.WALK_IN)

    other_form = _post(client, "/request/submissions", _submission(version_id=walk_in.pk))
    unknown = _post(client, "/request/submissions", _submission(version_id=2**62))

    for response in (other_form, unknown):
        assert response.status_code == 400
        assert response.json()["code"] == "unknown_version"
    _nothing_stored()


def test_an_outdated_version_is_refused_with_the_current_one(client: Any, in_alpha: Any) -> None:
    old = current_version(Scenario.REQUEST)
    admin = Actor(user=admin_of(in_alpha))
    fields = [
        *draft_fields(Scenario.REQUEST),
        {"key": "floor", "type": "number", "label": {"en": "F"}},
    ]
    new = publish(admin, save_draft(admin, building_form(Scenario.REQUEST), fields))

    response = _post(client, "/request/submissions", _submission(version_id=old.pk))

    assert response.status_code == 400
    assert response.json()["code"] == "form_changed"
    assert response.json()["details"]["current_version_id"] == new.pk
    _nothing_stored()


def test_staff_scenarios_take_no_public_submissions(client: Any) -> None:
    body = _submission(version_id=current_version(Scenario.WALK_IN).pk)

    response = _post(client, "/walk_in/submissions", body)

    assert response.status_code == 403
    assert response.json()["code"] == "scenario_not_public"
    _nothing_stored()


def test_files_travel_as_base64_and_are_checked_by_their_bytes(client: Any, in_alpha: Any) -> None:
    admin = Actor(user=admin_of(in_alpha))
    fields = [
        *draft_fields(Scenario.REQUEST),
        {"key": "invitation", "type": "file", "label": {"en": "Invitation"}, "max_size_kb": 1},
    ]
    publish(admin, save_draft(admin, building_form(Scenario.REQUEST), fields))
    version = current_version(Scenario.REQUEST)
    fake_pdf = base64.b64encode(b"<html><script>alert(1)</script></html>").decode()
    big = base64.b64encode(b"%PDF-" + b"0" * 2048).decode()
    photo = base64.b64encode(png_upload().read()).decode()

    def send(value: Any) -> Any:
        answers = request_answers(invitation=value)
        return _post(
            client, "/request/check?lang=en", {"version_id": version.pk, "answers": answers}
        )

    assert send({"filename": "a.pdf", "data": fake_pdf}).json()["details"]["fields"] == {
        "invitation": ["This type of file is not accepted."]
    }
    assert send({"filename": "a.pdf", "data": big}).json()["details"]["fields"] == {
        "invitation": ["The file is larger than 1 KB."]
    }
    assert send({"filename": "a.pdf", "data": "not base64!"}).json()["details"]["fields"] == {
        "invitation": ["The file's data is not valid base64."]
    }
    assert send({"filename": "a.png", "data": photo}).json() == {"valid": True}


def test_not_a_number_and_infinity_are_malformed_json(client: Any) -> None:
    version = current_version(Scenario.REQUEST).pk
    for number in ("NaN", "Infinity", "1e400"):
        submission = uuid.uuid4()
        body = (
            f'{{"version_id": {version}, "submission_id": "{submission}", '
            f'"answers": {{"floor": {number}}}}}'
        )

        response = _post(client, "/request/submissions", body)

        assert response.status_code == 400
        assert response.json()["code"] == "malformed_json"
    _nothing_stored()


def test_nul_and_control_characters_are_refused_per_field(client: Any) -> None:
    body = _submission(answers=request_answers(visitor_name="韩\u0000梅梅"))

    response = _post(client, "/request/submissions?lang=en", body)

    assert response.status_code == 422
    assert response.json()["details"]["fields"] == {
        "visitor_name": ["The answer contains characters that are not allowed."]
    }
    _nothing_stored()


def test_a_company_id_out_of_range_is_a_request_error(client: Any) -> None:
    response = client.get(f"{BASE}/request?company={2**70}")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_hundreds_of_unknown_answers_are_refused_at_once(client: Any) -> None:
    answers = {f"junk_{number}": "x" for number in range(500)}

    response = _post(client, "/request/submissions?lang=en", _submission(answers=answers))

    assert response.status_code == 422
    assert response.json()["details"]["fields"] == {
        "": ["There are more answers than the form has fields."]
    }
    _nothing_stored()


def test_the_openapi_description_is_served(client: Any) -> None:
    response = client.get(f"{BASE}/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/forms/{scenario}", "/api/forms/{scenario}/submissions"} <= set(paths)


@pytest.mark.parametrize("path", ["/", "/request/nope", "/request/check/more"])
def test_an_address_the_forms_api_does_not_have_is_a_json_404(client: Any, path: str) -> None:
    response = client.post(f"{BASE}{path}", "{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_method_the_endpoint_does_not_take_is_a_json_405(client: Any) -> None:
    response = client.delete(f"{BASE}/request/submissions")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"
