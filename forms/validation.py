"""THE one validation path for answers to a form, whatever channel they come from.

The reception page, the visitor's phone page and the JSON API all turn their input into a
JSON instance (``instance_from_post`` for HTML forms; the API gets JSON already) and call
``validate_answers``: visibility first (answers to hidden fields are dropped), then the
version's JSON Schema with ``jsonschema``'s Draft 2020-12 validator and format checking, then
the rules of each field type that a schema cannot express (the GB 11643 check character,
numbering plans). Messages are per field, in the active language.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError as SchemaError

from forms.choices import VISIT_END, VISIT_START, FieldType
from forms.fields import MISSING, FieldProblem, UploadKind, kind_of, parse_iso_datetime
from forms.models import FormVersion
from forms.patterns import pattern_keyword
from kernel.errors import DomainError

FORMAT_CHECKER = FormatChecker()
# Draft 2020-12 with ``pattern`` on RE2 (forms.patterns): a designer's pattern cannot make
# checking an answer take more than linear time.
AnswersValidator = validators.extend(Draft202012Validator, {"pattern": pattern_keyword})
# No form has more fields than this (forms.definition.MAX_FIELDS); more answers are junk.
MAX_ANSWERS = 100
# C0 controls except tab, line feed and carriage return, which long texts may hold.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(instance: object) -> bool:
    """RFC 3339 date-time with an offset. jsonschema checks this format only when an optional
    package is installed; the forms must never silently skip it."""
    if not isinstance(instance, str):
        return True
    moment = datetime.datetime.fromisoformat(instance)
    return moment.tzinfo is not None and "T" in instance.upper()


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    # fromisoformat also reads "20260101"; a form date is always written with dashes.
    return len(instance) == 10 and bool(datetime.date.fromisoformat(instance))


class AnswersInvalid(DomainError):
    """Some answers are invalid; nothing was stored. ``fields`` maps keys to messages."""

    status = 422

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(
            "invalid_answers",
            _("Some answers need your attention: %(fields)s.") % {"fields": ", ".join(fields)},
            fields=fields,
        )
        self.fields = fields


@dataclass
class ValidatedAnswers:
    """Answers that passed ``validate_answers``, which alone makes them: ``forms.actions.submit``
    takes nothing else, so every channel stores only what the one path has checked."""

    version: FormVersion
    values: dict[str, Any]
    uploads: dict[str, UploadedFile] = field(default_factory=dict)


def instance_from_post(version: FormVersion, data: Any) -> dict[str, Any]:
    """The JSON instance in a posted HTML form (a QueryDict); uploads come separately."""
    instance = {}
    for spec in version.fields:
        kind = kind_of(spec)
        if kind.is_upload:
            continue
        value = kind.from_post(spec, data)
        if value is not MISSING:
            instance[spec["key"]] = value
    return instance


def visible_keys(version: FormVersion, instance: Mapping[str, Any]) -> set[str]:
    """Keys of the fields shown for these answers: a conditional field is shown when its
    controlling field is shown and has the expected answer."""
    visible: set[str] = set()
    for spec in version.fields:
        condition = spec.get("visible_if")
        if condition is None or (
            condition["field"] in visible
            and instance.get(condition["field"], MISSING) == condition["equals"]
            and type(instance.get(condition["field"])) is type(condition["equals"])
        ):
            visible.add(spec["key"])
    return visible


def validate_answers(
    version: FormVersion,
    instance: Mapping[str, Any],
    files: Mapping[str, UploadedFile] | None = None,
) -> ValidatedAnswers:
    """Check answers against a form version; return them normalised or raise
    ``AnswersInvalid`` with messages per field, in the active language."""
    errors: dict[str, list[str]] = {}
    specs = {spec["key"]: spec for spec in version.fields}
    if len(instance) > MAX_ANSWERS:
        raise AnswersInvalid({"": [_("There are more answers than the form has fields.")]})
    answers: dict[str, Any] = {}
    properties = version.schema.get("properties", {})
    for key, value in instance.items():
        spec = specs.get(key)
        if spec is None:
            errors.setdefault(str(key)[:64], []).append(_("This field is not in the form."))
            continue
        if kind_of(spec).is_upload:
            # Descriptions of files are made from the bytes, never taken from the client.
            errors.setdefault(key, []).append(_("Upload the file itself."))
            continue
        value = kind_of(spec).prepare(spec, value)
        beyond = _beyond_limits(properties.get(key, {}), value)
        if beyond is not None:
            errors.setdefault(key, []).append(_message(beyond, spec, list(beyond.path)))
            continue
        if _has_control_characters(value):
            # PostgreSQL cannot store NUL in text, and no answer needs control characters.
            errors.setdefault(key, []).append(
                _("The answer contains characters that are not allowed.")
            )
            continue
        answers[key] = value
    uploads: dict[str, UploadedFile] = {}
    for key, upload in (files or {}).items():
        spec = specs.get(key)
        if spec is None or not kind_of(spec).is_upload:
            continue
        kind = kind_of(spec)
        assert isinstance(kind, UploadKind)
        answers[key] = kind.describe(upload)
        uploads[key] = upload
    shown = visible_keys(version, answers)
    answers = {key: value for key, value in answers.items() if key in shown}
    uploads = {key: upload for key, upload in uploads.items() if key in shown}

    validator = AnswersValidator(version.schema, format_checker=FORMAT_CHECKER)
    schema_errors = sorted(validator.iter_errors(answers), key=_priority)
    for error in schema_errors:
        for key, message in _messages(error, specs):
            # One message per field, the most basic problem first: a list given for a choice
            # is "enter text", not also "choose an option".
            if key not in errors:
                errors[key] = [message]

    values: dict[str, Any] = {}
    for key, value in answers.items():
        if key in errors:
            continue
        try:
            values[key] = kind_of(specs[key]).clean(specs[key], value)
        except FieldProblem as problem:
            errors.setdefault(key, []).append(problem.message)
    _check_window(values, errors)
    if errors:
        order = list(specs)
        raise AnswersInvalid(
            dict(sorted(errors.items(), key=lambda item: _position(order, item[0])))
        )
    return ValidatedAnswers(version=version, values=values, uploads=uploads)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _beyond_limits(fragment: Mapping[str, Any], value: Any) -> SchemaError | None:
    """The first of the schema's size limits the answer exceeds (its type, lengths, item
    and property counts), found by looking at sizes only, before anything reads the whole
    answer: a list of 100,000 companions where the form allows 5 is refused at once, not
    after each of them was checked. The full schema check follows for answers within bounds.
    """
    wanted = fragment.get("type")
    if isinstance(wanted, str) and wanted in _JSON_TYPES:
        wrong_type = not isinstance(value, _JSON_TYPES[wanted]) or (
            isinstance(value, bool) and wanted != "boolean"
        )
        if wrong_type:
            return SchemaError("wrong type", validator="type", validator_value=wanted)
    if isinstance(value, str):
        limit = fragment.get("maxLength")
        if isinstance(limit, int) and len(value) > limit:
            return SchemaError("too long", validator="maxLength", validator_value=limit)
    elif isinstance(value, list):
        limit = fragment.get("maxItems")
        if isinstance(limit, int) and len(value) > limit:
            return SchemaError("too many", validator="maxItems", validator_value=limit)
        items = fragment.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                beyond = _beyond_limits(items, item)
                if beyond is not None:
                    beyond.path.appendleft(index)
                    return beyond
    elif isinstance(value, dict):
        known = fragment.get("properties")
        if isinstance(known, Mapping):
            if fragment.get("additionalProperties") is False and not value.keys() <= known.keys():
                return SchemaError("unexpected", validator="additionalProperties")
            for name, item in value.items():
                inner = known.get(name)
                beyond = _beyond_limits(inner, item) if isinstance(inner, Mapping) else None
                if beyond is not None:
                    beyond.path.appendleft(name)
                    return beyond
    return None


_KEYWORD_ORDER = [
    "required",
    "type",
    "minLength",
    "maxLength",
    "maximum",
    "minimum",
    "maxItems",
    "minItems",
    "not",
    "format",
    "pattern",
    "enum",
    "const",
]


def _priority(error: SchemaError) -> tuple[int, int]:
    keyword = str(error.validator)
    rank = _KEYWORD_ORDER.index(keyword) if keyword in _KEYWORD_ORDER else len(_KEYWORD_ORDER)
    return len(error.absolute_path), rank


def _has_control_characters(value: Any) -> bool:
    if isinstance(value, str):
        return bool(CONTROL_CHARACTERS.search(value))
    if isinstance(value, list):
        return any(_has_control_characters(item) for item in value)
    if isinstance(value, Mapping):
        return any(
            _has_control_characters(key) or _has_control_characters(item)
            for key, item in value.items()
        )
    return False


def _position(order: list[str], key: str) -> int:
    return order.index(key) if key in order else len(order)


def _check_window(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    if VISIT_START in values and VISIT_END in values:
        start = parse_iso_datetime(values[VISIT_START])
        end = parse_iso_datetime(values[VISIT_END])
        if end <= start:
            errors.setdefault(VISIT_END, []).append(_("The visit must end after it starts."))


def _messages(error: SchemaError, specs: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(field key, translated message) pairs for one schema error."""
    path = list(error.absolute_path)
    if not path:
        if error.validator == "required":
            missing = [key for key in error.validator_value if key not in error.instance]
            return [(key, _required_message(specs.get(key))) for key in missing]
        return [("", _("The answers are not an object of fields."))]
    key = str(path[0])
    spec = specs.get(key, {})
    return [(key, _message(error, spec, path[1:]))]


def _required_message(spec: Mapping[str, Any] | None) -> str:
    if spec is not None and spec["type"] == FieldType.CONSENT:
        return _("Agree to continue.")
    return _("This field is required.")


def _message(error: SchemaError, spec: Mapping[str, Any], inner: list[Any]) -> str:
    keyword = error.validator
    limit = error.validator_value
    field_type = spec.get("type")
    if keyword == "required":
        return _("This field is required.")
    if keyword == "type":
        if limit == "number":
            return _("Enter a number.")
        if limit == "boolean":
            return _("Answer yes or no.")
        if limit == "string":
            return _("Enter text.")
        return _("Enter a valid value.")
    if keyword == "minLength":
        return _("This field is required.")
    if keyword == "maxLength":
        return _("Enter at most %(limit)d characters.") % {"limit": limit}
    if keyword == "not":
        return _("HTML tags are not allowed.")
    if keyword == "pattern":
        if field_type == FieldType.PLATE:
            return _("Enter a valid licence plate number, such as 沪A12345.")
        if field_type in (FieldType.MOBILE, FieldType.COMPANIONS) or inner[-1:] == ["mobile"]:
            return _("Enter a valid mobile number.")
        if field_type == FieldType.ID_DOCUMENT:
            return _("The document number has characters that are not allowed.")
        return _("The answer does not have the expected format.")
    if keyword == "format":
        if limit == "date":
            return _("Enter a valid date.")
        if limit == "date-time":
            return _("Enter a valid date and time.")
        if limit == "email":
            return _("Enter a valid e-mail address.")
        return _("Enter a valid value.")
    if keyword == "enum":
        if inner[-1:] == ["content_type"]:
            return _("This type of file is not accepted.")
        if inner[-1:] == ["type"] and field_type == FieldType.ID_DOCUMENT:
            return _("Choose the document type.")
        return _("Choose one of the offered options.")
    if keyword == "const":
        return _("Agree to continue.")
    if keyword == "maximum":
        if inner[-1:] == ["size"]:
            return _("The file is larger than %(limit)d KB.") % {"limit": limit // 1024}
        return _("Enter a number no greater than %(limit)s.") % {"limit": limit}
    if keyword == "minimum":
        if inner[-1:] == ["size"]:
            return _("The file is empty.")
        return _("Enter a number no less than %(limit)s.") % {"limit": limit}
    if keyword == "maxItems":
        if field_type == FieldType.COMPANIONS:
            return _("At most %(limit)d companions.") % {"limit": limit}
        return _("Choose fewer options.")
    if keyword == "minItems":
        return (
            _("Choose at least one option.")
            if field_type != FieldType.COMPANIONS
            else _("Add at least one companion.")
        )
    if keyword == "uniqueItems":
        return _("Choose each option once.")
    if keyword == "additionalProperties":
        return _("The answer has unexpected parts.")
    return _("Enter a valid value.")
