"""Checking what the designer saves, and turning a field list into its JSON Schema.

Every problem names the field it is about, so the designer can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from forms.choices import LOCKED_FIELDS, PRIVACY_RANK, FieldType, PrivacyClass
from forms.fields import (
    DEFAULT_UPLOAD_KB,
    KINDS,
    LANGUAGES,
    MAX_UPLOAD_KB,
    CompanionsKind,
    TextKind,
)
from forms.patterns import PatternError, compiled
from kernel.errors import DomainError

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 60
MAX_CHOICES = 100
LABEL_LENGTH = 200
HELP_LENGTH = 500
PLACEHOLDER_LENGTH = 100
CONSENT_LENGTH = 5000
PATTERN_LENGTH = 200
# Patterned answers stay short. Patterns run on RE2 (forms.patterns), in time linear in the
# answer's length whatever the pattern, so no pattern needs to be refused for its shape.
PATTERN_TEXT_LENGTH = 200
TEXT_TYPES = {FieldType.TEXT, FieldType.LONG_TEXT}
CHOICE_TYPES = {FieldType.CHOICE, FieldType.MULTIPLE_CHOICE}
UPLOAD_TYPES = {FieldType.PHOTO, FieldType.FILE}


class FormDefinitionError(DomainError):
    """The edited form cannot be saved; ``problems`` lists each one with its field key."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0]
        super().__init__("form_invalid", first["message"], problems=problems)
        self.problems = problems


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, key: str, message: str) -> None:
        self.items.append({"field": key, "message": message})


def _texts(raw: Any, limit: int) -> dict[str, str] | None:
    """A {language: text} map with only known languages, or None when malformed or too long."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        raw = {"zh-hans": raw}
    if not isinstance(raw, Mapping):
        return None
    texts = {}
    for language in LANGUAGES:
        value = raw.get(language, "")
        if not isinstance(value, str) or len(value) > limit:
            return None
        if value.strip():
            texts[language] = value.strip()
    return texts


def _positive_int(raw: Any, default: int, highest: int) -> int | None:
    if raw in (None, ""):
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= highest:
        return None
    return raw


def _name(key: str) -> str:
    return key or "?"


def check_fields(scenario: str, raw_fields: Any) -> list[dict[str, Any]]:
    """The normalised field list, or ``FormDefinitionError`` naming every invalid field.

    Unknown attributes are dropped; locked fields get their fixed type, are required and
    are never conditional.
    """
    problems = _Problems()
    if not isinstance(raw_fields, list) or not raw_fields:
        raise FormDefinitionError([{"field": "", "message": _("The form has no fields.")}])
    if len(raw_fields) > MAX_FIELDS:
        raise FormDefinitionError(
            [
                {
                    "field": "",
                    "message": _("A form has %(limit)d fields at most.") % {"limit": MAX_FIELDS},
                }
            ]
        )
    locked = LOCKED_FIELDS[scenario]
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw in raw_fields:
        if not isinstance(raw, Mapping):
            problems.add("", _("Each field must be an object."))
            continue
        spec = _check_field(raw, locked, problems)
        if spec is None:
            continue
        if spec["key"] in seen:
            problems.add(
                spec["key"],
                _('Field "%(key)s": the key is used by another field; keys must be unique.')
                % {"key": spec["key"]},
            )
            continue
        seen.add(spec["key"])
        fields.append(spec)
    named = {problem["field"] for problem in problems.items}
    for key in locked:
        if key not in seen and key not in named:
            problems.add(
                key,
                _('Field "%(key)s" is locked: the flows need it, so it cannot be removed.')
                % {"key": key},
            )
    _check_visibility(fields, problems)
    _check_consent(fields, problems)
    if problems.items:
        raise FormDefinitionError(problems.items)
    return fields


def _check_field(
    raw: Mapping[str, Any], locked: Mapping[str, str], problems: _Problems
) -> dict[str, Any] | None:
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        shown = key if isinstance(key, str) else ""
        problems.add(
            shown,
            _(
                'Field "%(key)s": the key must start with a lower-case letter and use only '
                "lower-case letters, digits and underscores (40 at most)."
            )
            % {"key": shown[:40]},
        )
        return None
    field_type = raw.get("type")
    if field_type not in KINDS:
        problems.add(key, _('Field "%(key)s": choose a field type.') % {"key": key})
        return None
    if key in locked and field_type != locked[key]:
        problems.add(
            key,
            _('Field "%(key)s" is locked: its type cannot be changed.') % {"key": key},
        )
        return None
    kind = KINDS[field_type]
    spec: dict[str, Any] = {"key": key, "type": field_type}
    for attribute, limit in (
        ("label", LABEL_LENGTH),
        ("help", HELP_LENGTH),
        ("placeholder", PLACEHOLDER_LENGTH),
    ):
        texts = _texts(raw.get(attribute), limit)
        if texts is None:
            problems.add(
                key,
                _('Field "%(key)s": a label, help text or placeholder is too long.') % {"key": key},
            )
            return None
        spec[attribute] = texts
    if not spec["label"]:
        problems.add(key, _('Field "%(key)s": give it a label.') % {"key": key})
    is_locked = key in locked
    spec["locked"] = is_locked
    spec["required"] = True if is_locked else bool(raw.get("required", False))
    privacy = raw.get("privacy") or kind.default_privacy
    if privacy not in PrivacyClass.values:
        problems.add(key, _('Field "%(key)s": choose a privacy class.') % {"key": key})
        privacy = kind.default_privacy
    if PRIVACY_RANK[PrivacyClass(privacy)] < PRIVACY_RANK[PrivacyClass(kind.minimum_privacy)]:
        problems.add(
            key,
            _('Field "%(key)s": this data must be at least in the class "%(class)s".')
            % {"key": key, "class": PrivacyClass(kind.minimum_privacy).label},
        )
    spec["privacy"] = privacy
    if field_type in TEXT_TYPES:
        _check_text(raw, spec, problems)
    elif field_type == FieldType.NUMBER:
        _check_number(raw, spec, problems)
    elif field_type in CHOICE_TYPES:
        _check_choices(raw, spec, problems)
    elif field_type in UPLOAD_TYPES:
        size = _positive_int(raw.get("max_size_kb"), DEFAULT_UPLOAD_KB, MAX_UPLOAD_KB)
        if size is None:
            problems.add(
                key,
                _('Field "%(key)s": the size limit must be 1 to %(limit)d KB.')
                % {"key": key, "limit": MAX_UPLOAD_KB},
            )
        spec["max_size_kb"] = size or DEFAULT_UPLOAD_KB
        if field_type == FieldType.PHOTO:
            spec["capture"] = "camera" if raw.get("capture") == "camera" else "upload"
    elif field_type == FieldType.CONSENT:
        texts = _texts(raw.get("consent_text"), CONSENT_LENGTH)
        if not texts:
            problems.add(key, _('Field "%(key)s": write the text people agree to.') % {"key": key})
        spec["consent_text"] = texts or {}
        version = raw.get("consent_version")
        spec["consent_version"] = version if isinstance(version, int) and version > 0 else 1
    elif field_type == FieldType.COMPANIONS:
        rows = _positive_int(raw.get("max_items"), CompanionsKind.default_rows, 20)
        if rows is None:
            problems.add(key, _('Field "%(key)s": allow 1 to 20 companions.') % {"key": key})
        spec["max_items"] = rows or CompanionsKind.default_rows
    visible_if = raw.get("visible_if")
    if visible_if:
        if is_locked:
            problems.add(
                key,
                _('Field "%(key)s" is locked: it is always shown.') % {"key": key},
            )
        elif not isinstance(visible_if, Mapping) or not isinstance(visible_if.get("field"), str):
            problems.add(key, _('Field "%(key)s": the condition is malformed.') % {"key": key})
        else:
            spec["visible_if"] = {"field": visible_if["field"], "equals": visible_if.get("equals")}
    return spec


def _check_text(raw: Mapping[str, Any], spec: dict[str, Any], problems: _Problems) -> None:
    key = spec["key"]
    kind = KINDS[spec["type"]]
    assert isinstance(kind, TextKind)
    length = _positive_int(raw.get("max_length"), kind.default_max_length, kind.longest)
    if length is None:
        problems.add(
            key,
            _('Field "%(key)s": the length limit must be 1 to %(limit)d characters.')
            % {"key": key, "limit": kind.longest},
        )
    spec["max_length"] = length or kind.default_max_length
    pattern = raw.get("pattern") or ""
    if not isinstance(pattern, str) or len(pattern) > PATTERN_LENGTH:
        problems.add(key, _('Field "%(key)s": the pattern is too long.') % {"key": key})
        return
    if pattern:
        if spec["max_length"] > PATTERN_TEXT_LENGTH:
            problems.add(
                key,
                _('Field "%(key)s": with a pattern, answers can be %(limit)d characters at most.')
                % {"key": key, "limit": PATTERN_TEXT_LENGTH},
            )
            return
        try:
            # Python's engine must read it too: jsonschema checks the schema's patterns with it
            # when the version is published.
            re.compile(pattern)
        except re.error as error:
            problems.add(
                key,
                _('Field "%(key)s": the pattern is not a valid regular expression (%(error)s).')
                % {"key": key, "error": error},
            )
            return
        try:
            compiled(pattern)
        except PatternError as error:
            problems.add(
                key,
                _(
                    'Field "%(key)s": the pattern uses a back-reference or look-around, or '
                    "repeats too often, which cannot be checked in time proportional to the "
                    "answer; rewrite it without (%(error)s)."
                )
                % {"key": key, "error": error},
            )
            return
        spec["pattern"] = pattern


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError
    return value


def _check_number(raw: Mapping[str, Any], spec: dict[str, Any], problems: _Problems) -> None:
    key = spec["key"]
    bounds: dict[str, float | int] = {}
    for bound in ("minimum", "maximum"):
        value = raw.get(bound)
        if value in (None, ""):
            continue
        try:
            bounds[bound] = _number(value)
        except ValueError:
            problems.add(
                key,
                _('Field "%(key)s": the lowest and highest allowed values must be numbers.')
                % {"key": key},
            )
    if "minimum" in bounds and "maximum" in bounds and bounds["minimum"] > bounds["maximum"]:
        problems.add(
            key, _('Field "%(key)s": the minimum is larger than the maximum.') % {"key": key}
        )
    spec.update(bounds)


def _check_choices(raw: Mapping[str, Any], spec: dict[str, Any], problems: _Problems) -> None:
    key = spec["key"]
    raw_choices = raw.get("choices")
    if not isinstance(raw_choices, list) or not raw_choices:
        problems.add(key, _('Field "%(key)s": add at least one choice.') % {"key": key})
        spec["choices"] = []
        return
    if len(raw_choices) > MAX_CHOICES:
        problems.add(
            key,
            _('Field "%(key)s": %(limit)d choices at most.') % {"key": key, "limit": MAX_CHOICES},
        )
    choices = []
    values: set[str] = set()
    for choice in raw_choices[:MAX_CHOICES]:
        value = choice.get("value") if isinstance(choice, Mapping) else None
        label = _texts(choice.get("label"), LABEL_LENGTH) if isinstance(choice, Mapping) else None
        if not isinstance(value, str) or not value.strip() or len(value) > 100:
            problems.add(key, _('Field "%(key)s": every choice needs a value.') % {"key": key})
            continue
        value = value.strip()
        if value in values:
            problems.add(
                key,
                _('Field "%(key)s": the choice "%(value)s" appears twice.')
                % {"key": key, "value": value},
            )
            continue
        values.add(value)
        choices.append({"value": value, "label": label or {"zh-hans": value}})
    spec["choices"] = choices


def _check_visibility(fields: list[dict[str, Any]], problems: _Problems) -> None:
    earlier: dict[str, dict[str, Any]] = {}
    for spec in fields:
        condition = spec.get("visible_if")
        if condition:
            controller = earlier.get(condition["field"])
            if controller is None or not KINDS[controller["type"]].can_control_visibility:
                problems.add(
                    spec["key"],
                    _(
                        'Field "%(key)s": it can only depend on a yes/no or single-choice field '
                        "above it."
                    )
                    % {"key": spec["key"]},
                )
            elif controller["type"] == FieldType.YES_NO and not isinstance(
                condition["equals"], bool
            ):
                condition["equals"] = condition["equals"] in ("true", "yes", "1", 1)
            elif controller["type"] == FieldType.CHOICE and condition["equals"] not in [
                choice["value"] for choice in controller.get("choices", [])
            ]:
                problems.add(
                    spec["key"],
                    _('Field "%(key)s": the condition names a choice that does not exist.')
                    % {"key": spec["key"]},
                )
        earlier[spec["key"]] = spec


def _check_consent(fields: list[dict[str, Any]], problems: _Problems) -> None:
    """PIPL asks for separate consent before sensitive data is collected."""
    has_consent = any(
        spec["type"] == FieldType.CONSENT and spec["required"] and not spec.get("visible_if")
        for spec in fields
    )
    if has_consent:
        return
    for spec in fields:
        if spec["privacy"] == PrivacyClass.SENSITIVE:
            problems.add(
                spec["key"],
                _(
                    'Field "%(key)s" collects sensitive data: add a required consent field to '
                    "the form (separate consent is needed for sensitive data)."
                )
                % {"key": spec["key"]},
            )


def build_schema(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of answers to these fields.

    Conditional fields are required only when their condition holds (``if``/``then``);
    answers to hidden fields are dropped before validation, so the schema never sees them.
    """
    properties = {}
    required = []
    conditions = []
    for spec in fields:
        fragment = KINDS[spec["type"]].schema(spec)
        fragment["title"] = spec["label"].get("zh-hans") or spec["label"].get("en") or spec["key"]
        properties[spec["key"]] = fragment
        if not spec["required"]:
            continue
        condition = spec.get("visible_if")
        if condition:
            conditions.append(
                {
                    "if": {
                        "properties": {condition["field"]: {"const": condition["equals"]}},
                        "required": [condition["field"]],
                    },
                    "then": {"required": [spec["key"]]},
                }
            )
        else:
            required.append(spec["key"])
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if conditions:
        schema["allOf"] = conditions
    return schema
