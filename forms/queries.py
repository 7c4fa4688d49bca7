"""Reads of forms: which version a channel shows, who may design which form, and a visit's
answers as its own version shows them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from forms.choices import (
    HOST_MOBILE,
    VISIT_END,
    VISIT_START,
    VISITOR_MOBILE,
    VISITOR_NAME,
    PrivacyClass,
)
from forms.fields import kind_of, localized
from forms.models import FormDefinition, FormVersion
from kernel.errors import NotFoundError
from kernel.privacy import decrypt
from visit_platform.directory.queries import managed_company_ids
from visit_platform.directory.roles import DESIGN_FORMS
from visit_platform.visits.models import Visit


def current_version(scenario: str, company_id: int | None = None) -> FormVersion:
    """The form a channel shows now: the company's override when it has published one,
    else the building's form of the scenario."""
    candidates = [company_id, None] if company_id is not None else [None]
    for company in candidates:
        version = (
            FormVersion.objects.filter(definition__scenario=scenario, definition__company=company)
            .select_related("definition")
            .order_by("-number")
            .first()
        )
        if version is not None:
            return version
    raise NotFoundError("form_not_found", _("This building has no form for this scenario."))


def submitted_visit(submission_id: Any) -> Visit | None:
    """The visit a submission id already made, if any."""
    return Visit.objects.filter(submission_id=submission_id).first()


def designable_definitions(user: Any) -> QuerySet[FormDefinition]:
    """The forms ``user`` may design: all of them for property admins, their companies'
    overrides for company admins."""
    company_ids = managed_company_ids(user, DESIGN_FORMS)
    definitions = FormDefinition.objects.select_related("company").order_by(
        "scenario", "company__name"
    )
    if company_ids is None:
        return definitions
    return definitions.filter(company_id__in=company_ids)


def can_design(user: Any, definition: FormDefinition) -> bool:
    return bool(user.has_perm(DESIGN_FORMS, definition))


@dataclass(frozen=True)
class AnswerRow:
    key: str
    label: str
    value: str
    privacy: str
    masked: bool
    is_file: bool = False


def _column_value(visit: Visit, key: str) -> Any:
    """Locked fields live in the visit's and visitor's own columns."""
    if key == VISITOR_NAME:
        return visit.visitor_name
    if key == VISITOR_MOBILE:
        return visit.visitor_mobile or None
    if key == HOST_MOBILE:
        return visit.host.mobile if visit.host else None
    if key == VISIT_START:
        return visit.valid_from.isoformat()
    if key == VISIT_END:
        return visit.valid_until.isoformat()
    return None


def stored_value(stored: Any) -> Any:
    """The answer in a stored value: sensitive answers are kept as an encrypted envelope."""
    if isinstance(stored, dict) and set(stored) == {"encrypted"}:
        return json.loads(decrypt(stored["encrypted"]))
    return stored


def visit_answers(visit: Visit, language: str, *, reveal: bool = False) -> list[AnswerRow]:
    """The visit's answers, labelled and ordered by the version it was filled in with.

    Personal and sensitive answers are masked unless ``reveal``; callers that reveal audit it.
    """
    version = visit.form_version
    if version is None:
        return []
    rows = []
    for spec in version.fields:
        key = spec["key"]
        kind = kind_of(spec)
        if spec.get("locked"):
            value = _column_value(visit, key)
        elif key in visit.answers:
            value = stored_value(visit.answers[key])
        else:
            continue
        if value is None:
            continue
        mask = spec["privacy"] != PrivacyClass.NONE and not reveal
        text = kind.mask(spec, value, language) if mask else kind.display(spec, value, language)
        rows.append(
            AnswerRow(
                key=key,
                label=localized(spec.get("label"), language) or key,
                value=text,
                privacy=spec["privacy"],
                masked=mask,
                is_file=kind.is_upload,
            )
        )
    return rows


def answer_keys_by_privacy(visit: Visit) -> dict[str, list[str]]:
    """The keys of a visit's stored answers, grouped by privacy class, so the retention job can
    forget each class after its own period (``forms.choices.DEFAULT_RETENTION_DAYS``)."""
    grouped: dict[str, list[str]] = {value: [] for value in PrivacyClass.values}
    if visit.form_version is None:
        return grouped
    for spec in visit.form_version.fields:
        if spec["key"] in visit.answers:
            grouped[spec["privacy"]].append(spec["key"])
    return grouped
