"""JSON API of forms for kiosks and WeChat pages: the current form (JSON Schema plus its UI
description, in one language), checking answers, and submitting them.

Answers are checked by the same path as the reception and visitor pages
(``forms.validation``); errors are JSON ``{"code", "message", "details"}`` with messages per
field in ``details.fields`` (ADR 0004). Files travel inside the JSON as
``{"filename": ..., "data": <base64>}``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.responses import Status

from forms.choices import PUBLIC_SCENARIOS
from forms.fields import kind_of
from forms.models import FormVersion
from forms.queries import current_version, submitted_visit
from forms.rendering import ui_description
from forms.validation import AnswersInvalid, validate_answers
from kernel import rate_limits
from kernel.console import building_zone
from kernel.errors import DomainError, PermissionDeniedError
from kernel.json_api import json_api
from visit_platform.audit.actions import Actor
from visit_platform.visits.choices import Scenario
from workflows.actions import submit_request

# A photo of a few MB in base64 plus the answers; Django refuses bodies over 5 MB anyway.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Answers to the largest form a designer can make (60 fields, 100 choices each) fit; 100,000
# companions (the form allows 20 at most) are refused before anything looks at them.
MAX_VALUES = 10_000
DatabaseId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
LANGUAGE_CODES = ("zh-hans", "en")


class AnswersIn(Schema):
    version_id: DatabaseId = Field(description="The `version_id` of the form that was filled in.")
    answers: dict[str, Any]


class SubmissionIn(AnswersIn):
    submission_id: uuid.UUID = Field(
        description="Chosen by the client; resending it returns the first visit, not a new one."
    )


class FormOut(Schema):
    version_id: int
    number: int
    scenario: str
    language: str
    answers_schema: dict[str, Any] = Field(alias="schema")
    fields: list[dict[str, Any]]


class ValidOut(Schema):
    valid: bool


class SubmittedOut(Schema):
    visit_id: int
    status: str
    replayed: bool


class ErrorOut(Schema):
    code: str
    message: str
    details: Any = None


api = json_api(
    title="Forms API",
    description=(
        "Registration forms of one building, on that building's domain, for kiosks and "
        "WeChat pages. Labels and help texts are plain text: insert them as text, never as "
        "HTML."
    ),
    namespace="forms_api",
    max_body_bytes=MAX_BODY_BYTES,
    max_values=MAX_VALUES,
)


def _rate_limited(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Every call counts against the forms API's limit, before its body is even parsed; a
    submission (a visit request, which texts a host) also against the visit requests' limit,
    shared with the visitor's page."""

    @functools.wraps(run)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refusal = rate_limits.check(request, "forms_api")
        if refusal is None and request.method == "POST" and request.path.endswith("/submissions"):
            refusal = rate_limits.check(request, "visit_request")
        if refusal is not None:
            return refusal.json()
        return run(request, *args, **kwargs)

    return checked


api.add_decorator(_rate_limited, mode="view")


@contextmanager
def _context(request: HttpRequest, lang: str | None) -> Iterator[str]:
    """The requested language (else the page's) and the building's time zone."""
    language = lang if lang in LANGUAGE_CODES else translation.get_language() or "zh-hans"
    with translation.override(language), timezone.override(building_zone(request)):
        yield language


def _scenario(scenario: str) -> str:
    if scenario not in Scenario.values:
        raise Http404
    return scenario


def _version(scenario: str, company: int | None, version_id: int) -> FormVersion:
    """The form the answers are for: the current one, or a clear refusal."""
    current = current_version(scenario, company)
    if version_id == current.pk:
        return current
    sent = FormVersion.objects.filter(pk=version_id).select_related("definition").first()
    if sent is not None and sent.definition_id == current.definition_id:
        raise DomainError(
            "form_changed",
            _("The form was changed; load it again and check the answers."),
            field="version_id",
            current_version_id=current.pk,
        )
    raise DomainError(
        "unknown_version", _("No form of this scenario has this version."), field="version_id"
    )


def _files(
    version: FormVersion, answers: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Split base64 files out of the answers; a malformed one is an answer error."""
    specs = {spec["key"]: spec for spec in version.fields}
    values: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    problems: dict[str, list[str]] = {}
    for key, value in answers.items():
        spec = specs.get(key)
        if spec is None or not kind_of(spec).is_upload:
            values[key] = value
            continue
        if not isinstance(value, dict) or not isinstance(value.get("data"), str):
            problems[key] = [_('Send the file as {"filename", "data"} with base64 data.')]
            continue
        try:
            data = base64.b64decode(value["data"], validate=True)
        except (binascii.Error, ValueError):
            problems[key] = [_("The file's data is not valid base64.")]
            continue
        name = str(value.get("filename") or "upload")[:255]
        files[key] = SimpleUploadedFile(name, data)
    if problems:
        raise AnswersInvalid(problems)
    return values, files


@api.get(
    "/{scenario}",
    response={200: FormOut, 404: ErrorOut},
    summary="The current form of a scenario",
    by_alias=True,
)
def get_form(
    request: HttpRequest, scenario: str, company: DatabaseId | None = None, lang: str | None = None
) -> dict[str, Any]:
    """The form to show now (a company's own form when `company` names one that has it), as
    JSON Schema draft 2020-12 plus the fields' order, widgets and texts in `lang`."""
    with _context(request, lang) as language:
        version = current_version(_scenario(scenario), company)
        return {
            "version_id": version.pk,
            "number": version.number,
            "scenario": scenario,
            "language": language,
            "schema": version.schema,
            "fields": ui_description(version, language),
        }


@api.post(
    "/{scenario}/check",
    response={200: ValidOut, 400: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut},
    summary="Check answers without storing them",
)
def check_answers(
    request: HttpRequest,
    scenario: str,
    payload: AnswersIn,
    company: DatabaseId | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    with _context(request, lang):
        version = _version(_scenario(scenario), company, payload.version_id)
        values, files = _files(version, payload.answers)
        validate_answers(version, values, files)
        return {"valid": True}


@api.post(
    "/{scenario}/submissions",
    response={
        200: SubmittedOut,
        201: SubmittedOut,
        400: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    summary="Submit answers: a visit waiting for approval",
)
def submit_answers(
    request: HttpRequest,
    scenario: str,
    payload: SubmissionIn,
    company: DatabaseId | None = None,
    lang: str | None = None,
) -> Status[dict[str, Any]]:
    """Only scenarios visitors fill in themselves (the visit request) take submissions here.
    Resending a `submission_id` answers 200 with the first visit and `replayed` true."""
    with _context(request, lang):
        if _scenario(scenario) not in PUBLIC_SCENARIOS:
            raise PermissionDeniedError(
                "scenario_not_public", _("Visitors cannot submit this form themselves.")
            )
        earlier = submitted_visit(payload.submission_id)
        if earlier is not None:
            # Answered before the version check: a resend after a new version is published
            # still gets the visit it made.
            return Status(200, {"visit_id": earlier.pk, "status": earlier.status, "replayed": True})
        version = _version(scenario, company, payload.version_id)
        values, files = _files(version, payload.answers)
        validated = validate_answers(version, values, files)
        actor = Actor(user=None, ip_address=request.META.get("REMOTE_ADDR"), label="visitor")
        visit, replayed = submit_request(actor, validated, submission_id=payload.submission_id)
        body = {"visit_id": visit.pk, "status": visit.status, "replayed": replayed}
        return Status(200 if replayed else 201, body)
