"""What the designer may save: invalid edits are refused with a message naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from forms.actions import publish, save_draft
from forms.definition import FormDefinitionError
from forms.models import FormVersion
from tests.conftest import admin_of
from tests.forms.conftest import building_form, draft_fields
from visit_platform.audit.actions import Actor
from visit_platform.visits.choices import Scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def designer(in_alpha: Any) -> Actor:
    return Actor(user=admin_of(in_alpha))


def _refused(designer: Actor, fields: list[dict[str, Any]]) -> FormDefinitionError:
    definition = building_form(Scenario.REQUEST)
    draft_before = definition.draft
    with pytest.raises(FormDefinitionError) as caught:
        save_draft(designer, definition, fields)
    definition.refresh_from_db()
    assert definition.draft == draft_before
    return caught.value


def test_a_duplicate_key_is_refused_naming_the_field(designer: Actor) -> None:
    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "purpose", "type": "text", "label": {"en": "Again"}})

    error = _refused(designer, fields)

    assert error.code == "form_invalid"
    assert error.problems == [
        {
            "field": "purpose",
            "message": 'Field "purpose": the key is used by another field; keys must be unique.',
        }
    ]


def test_an_empty_choice_list_is_refused(designer: Actor) -> None:
    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "floor", "type": "choice", "label": {"en": "Floor"}, "choices": []})

    error = _refused(designer, fields)

    assert error.problems == [
        {"field": "floor", "message": 'Field "floor": add at least one choice.'}
    ]


def test_a_regex_that_does_not_compile_is_refused(designer: Actor) -> None:
    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "badge", "type": "text", "label": {"en": "Badge"}, "pattern": "[A-Z"})

    error = _refused(designer, fields)

    assert error.problems[0]["field"] == "badge"
    assert error.problems[0]["message"].startswith(
        'Field "badge": the pattern is not a valid regular expression ('
    )


def test_removing_a_locked_field_is_refused(designer: Actor) -> None:
    fields = [spec for spec in draft_fields(Scenario.REQUEST) if spec["key"] != "host_mobile"]

    error = _refused(designer, fields)

    assert error.problems == [
        {
            "field": "host_mobile",
            "message": 'Field "host_mobile" is locked: the flows need it, so it cannot be removed.',
        }
    ]


def test_retyping_a_locked_field_is_refused(designer: Actor) -> None:
    fields = draft_fields(Scenario.REQUEST)
    fields[0]["type"] = "long_text"

    error = _refused(designer, fields)

    assert error.problems == [
        {
            "field": "visitor_name",
            "message": 'Field "visitor_name" is locked: its type cannot be changed.',
        }
    ]


def test_a_sensitive_field_needs_a_consent_field(designer: Actor) -> None:
    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "id_card", "type": "id_document", "label": {"en": "ID"}})

    error = _refused(designer, fields)

    assert error.problems[0]["field"] == "id_card"
    assert "add a required consent field" in error.problems[0]["message"]


def test_an_id_document_cannot_be_declared_not_personal(designer: Actor) -> None:
    fields = draft_fields(Scenario.WALK_IN)
    for spec in fields:
        if spec["key"] == "id_document":
            spec["privacy"] = "none"
    definition = building_form(Scenario.WALK_IN)

    with pytest.raises(FormDefinitionError) as caught:
        save_draft(designer, definition, fields)

    assert caught.value.problems[0]["field"] == "id_document"


def test_locked_fields_stay_required_whatever_the_designer_sends(designer: Actor) -> None:
    fields = draft_fields(Scenario.REQUEST)
    fields[0]["required"] = False

    definition = save_draft(designer, building_form(Scenario.REQUEST), fields)

    assert definition.draft[0]["key"] == "visitor_name"
    assert definition.draft[0]["required"] is True
    assert definition.draft[0]["locked"] is True


def test_messages_follow_the_active_language(designer: Actor) -> None:
    from django.utils import translation

    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "floor", "type": "choice", "label": {"en": "Floor"}, "choices": []})

    with translation.override("zh-hans"):
        error = _refused(designer, fields)

    assert error.problems[0]["message"] == "字段“floor”：请至少添加一个选项。"


def test_a_company_admin_cannot_change_the_building_form(in_alpha: Any) -> None:
    from kernel.errors import PermissionDeniedError
    from tests.conftest import member
    from tests.forms.conftest import make_host

    host = make_host()
    company_admin = member(in_alpha, "ca@alpha.example", "company_admin", company=host.company)

    with pytest.raises(PermissionDeniedError):
        publish(Actor(user=company_admin), building_form(Scenario.REQUEST))

    assert FormVersion.objects.filter(definition=building_form(Scenario.REQUEST)).count() == 1


@pytest.mark.parametrize(
    "pattern", [r"^(a\d*)\1$", r"^(?=.*[0-9])[A-Z0-9]+$", r"^(?!x)[a-z]+$", r"^(?<=a)b$"]
)
def test_a_pattern_with_back_references_or_look_around_is_refused(
    designer: Actor, pattern: str
) -> None:
    """RE2 runs in linear time because it has neither; the designer is told at once."""
    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "code", "type": "text", "label": {"en": "Code"}, "pattern": pattern})

    error = _refused(designer, fields)

    assert error.problems[0]["field"] == "code"
    assert "back-reference or look-around" in error.problems[0]["message"]


def test_a_pattern_that_would_backtrack_for_ever_is_published_and_checked_in_linear_time(
    designer: Actor,
) -> None:
    from forms.validation import AnswersInvalid, validate_answers
    from tests.forms.conftest import request_answers

    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "code", "type": "text", "label": {"en": "Code"}, "pattern": "^(a|a)*$"})
    fields.append({"key": "code2", "type": "text", "label": {"en": "C2"}, "pattern": "^(a+)+$"})
    version = publish(designer, save_draft(designer, building_form(Scenario.REQUEST), fields))

    # Python's engine would take longer than the age of the universe on these answers.
    with pytest.raises(AnswersInvalid) as caught:
        validate_answers(version, request_answers(code="a" * 100 + "!", code2="a" * 100 + "!"))
    accepted = validate_answers(version, request_answers(code="a" * 100, code2="a" * 100))

    assert caught.value.fields == {
        "code": ["The answer does not have the expected format."],
        "code2": ["The answer does not have the expected format."],
    }
    assert accepted.values["code"] == "a" * 100


def test_a_stored_pattern_re2_cannot_run_refuses_the_answer_instead_of_backtracking(
    designer: Actor,
) -> None:
    """Only a version published before patterns were checked with RE2 can hold one."""
    from forms.validation import AnswersInvalid, validate_answers
    from tests.forms.conftest import request_answers

    fields = draft_fields(Scenario.REQUEST)
    fields.append({"key": "code", "type": "text", "label": {"en": "Code"}, "pattern": "^a+$"})
    version = publish(designer, save_draft(designer, building_form(Scenario.REQUEST), fields))
    version.schema["properties"]["code"]["pattern"] = r"^(a)\1$"

    with pytest.raises(AnswersInvalid) as caught:
        validate_answers(version, request_answers(code="aa"))

    assert caught.value.fields == {"code": ["The answer does not have the expected format."]}


def test_a_patterned_answer_stays_short(designer: Actor) -> None:
    fields = draft_fields(Scenario.REQUEST)
    fields.append(
        {
            "key": "code",
            "type": "long_text",
            "label": {"en": "Code"},
            "pattern": "^[A-Z]+$",
            "max_length": 2000,
        }
    )

    error = _refused(designer, fields)

    assert error.problems == [
        {
            "field": "code",
            "message": 'Field "code": with a pattern, answers can be 200 characters at most.',
        }
    ]


def test_a_valid_pattern_is_enforced_on_answers(designer: Actor) -> None:
    from forms.validation import AnswersInvalid, validate_answers
    from tests.forms.conftest import request_answers

    fields = draft_fields(Scenario.REQUEST)
    fields.append(
        {"key": "badge", "type": "text", "label": {"en": "Badge"}, "pattern": "^[A-Z]{2}[0-9]{4}$"}
    )
    version = publish(designer, save_draft(designer, building_form(Scenario.REQUEST), fields))

    with pytest.raises(AnswersInvalid) as caught:
        validate_answers(version, request_answers(badge="ab12"))
    accepted = validate_answers(version, request_answers(badge="AB1234"))

    assert caught.value.fields == {"badge": ["The answer does not have the expected format."]}
    assert accepted.values["badge"] == "AB1234"
