"""Forms rendered from a form version: the Django form of reception and visitor pages, and the
language-specific UI description the JSON API serves. All of them validate through
``forms.validation``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.forms.utils import ErrorDict

from forms.choices import PrivacyClass
from forms.fields import kind_of, localized
from forms.models import FormVersion
from forms.validation import (
    AnswersInvalid,
    ValidatedAnswers,
    instance_from_post,
    validate_answers,
)
from kernel.errors import DomainError


class RegistrationForm(django_forms.Form):
    """A Django form built from a form version. Django renders it (widgets, labels, values
    kept after an error); validation is the one path, never Django's field cleaning."""

    def __init__(
        self,
        version: FormVersion,
        language: str,
        data: Any = None,
        files: Any = None,
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, files=files, initial=initial)
        self.version = version
        self.language = language
        self.validated: ValidatedAnswers | None = None
        for spec in version.fields:
            self.fields[spec["key"]] = kind_of(spec).form_field(spec, language)

    def full_clean(self) -> None:
        self._errors = ErrorDict()
        self.cleaned_data = {}
        if not self.is_bound:
            return
        instance = instance_from_post(self.version, self.data)
        try:
            self.validated = validate_answers(self.version, instance, self.files)
        except AnswersInvalid as error:
            self.add_answer_errors(error)

    def add_answer_errors(self, error: AnswersInvalid) -> None:
        self.validated = None
        for key, messages in error.fields.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)

    def add_domain_error(self, error: DomainError) -> None:
        """Show a refusal found later (by ``submit``): on its fields, else on the form."""
        if isinstance(error, AnswersInvalid):
            self.add_answer_errors(error)
        else:
            self.validated = None
            self.add_error(None, error.message)

    def rows(self) -> list[FieldRow]:
        rows = []
        for spec in self.version.fields:
            condition = spec.get("visible_if")
            rows.append(
                FieldRow(
                    field=self[spec["key"]],
                    type=spec["type"],
                    privacy=spec["privacy"],
                    sensitive=spec["privacy"] == PrivacyClass.SENSITIVE,
                    locked=bool(spec.get("locked")),
                    consent_text=localized(spec.get("consent_text"), self.language),
                    depends_on=condition["field"] if condition else "",
                    depends_value=json.dumps(condition["equals"]) if condition else "",
                )
            )
        return rows


@dataclass(frozen=True)
class FieldRow:
    field: django_forms.BoundField
    type: str
    privacy: str
    sensitive: bool
    locked: bool
    consent_text: str
    depends_on: str
    depends_value: str


def ui_description(version: FormVersion, language: str) -> list[dict[str, Any]]:
    """What a kiosk or WeChat page needs besides the schema, in one language: order, widget,
    label, help, placeholder, choices, visibility, privacy. Texts are plain text, never HTML:
    clients must insert them as text."""
    items = []
    for spec in version.fields:
        item: dict[str, Any] = {
            "key": spec["key"],
            "type": spec["type"],
            "label": localized(spec.get("label"), language),
            "help": localized(spec.get("help"), language),
            "placeholder": localized(spec.get("placeholder"), language),
            "required": spec["required"],
            "locked": bool(spec.get("locked")),
            "privacy": spec["privacy"],
            "visible_if": spec.get("visible_if"),
        }
        if "choices" in spec:
            item["choices"] = [
                {"value": choice["value"], "label": localized(choice["label"], language)}
                for choice in spec["choices"]
            ]
        if "consent_text" in spec:
            item["consent_text"] = localized(spec["consent_text"], language)
            item["consent_version"] = spec.get("consent_version", 1)
        for attribute in (
            "max_length",
            "minimum",
            "maximum",
            "max_size_kb",
            "capture",
            "max_items",
        ):
            if attribute in spec:
                item[attribute] = spec[attribute]
        items.append(item)
    return items
