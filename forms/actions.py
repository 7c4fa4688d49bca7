"""Every change to forms: drafts, publishing, restoring, company overrides, default forms, and
``submit``, which stores validated answers on a new visit with the version they were given in."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from forms.choices import (
    HOST_MOBILE,
    PURPOSE,
    VISIT_END,
    VISIT_START,
    VISITOR_MOBILE,
    VISITOR_NAME,
    FieldType,
    PrivacyClass,
)
from forms.defaults import DEFAULT_FIELDS
from forms.definition import build_schema, check_fields
from forms.fields import kind_of, parse_iso_datetime
from forms.models import FormDefinition, FormVersion
from forms.validation import AnswersInvalid, ValidatedAnswers
from kernel.errors import DomainError, NotFoundError, PermissionDeniedError
from kernel.privacy import decrypt, encrypt
from tenants.db import current_schema
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Company, Host
from visit_platform.directory.roles import DESIGN_FORMS
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit
from workflows.policies import policy_snapshot

# Columns of the visit and visitor that hold the locked fields' answers.
COLUMN_KEYS = frozenset({VISITOR_NAME, VISITOR_MOBILE, HOST_MOBILE, VISIT_START, VISIT_END})


def _require_designer(actor: Actor, definition: FormDefinition) -> None:
    if actor.user is not None and not actor.user.has_perm(DESIGN_FORMS, definition):
        raise PermissionDeniedError(
            "forbidden", _("You may not design this form."), definition=definition.pk
        )


@transaction.atomic
def save_draft(actor: Actor, definition: FormDefinition, fields: Any) -> FormDefinition:
    """Replace the draft with ``fields`` after checking every one (``form_invalid`` names
    each invalid field). Forms in use do not change until the draft is published."""
    _require_designer(actor, definition)
    definition.draft = check_fields(definition.scenario, fields)
    definition.draft_updated_at = timezone.now()
    definition.draft_updated_by = actor.user
    definition.save(update_fields=["draft", "draft_updated_at", "draft_updated_by"])
    return definition


def _with_consent_versions(
    fields: list[dict[str, Any]], previous: FormVersion | None
) -> list[dict[str, Any]]:
    """A consent text that changed since the last version gets a new consent version, so an
    answer always says which wording the person agreed to."""
    fields = copy.deepcopy(fields)
    for spec in fields:
        if spec["type"] != FieldType.CONSENT:
            continue
        before = previous.field(spec["key"]) if previous is not None else None
        if before is None or before["type"] != FieldType.CONSENT:
            spec["consent_version"] = 1
        elif before.get("consent_text") != spec.get("consent_text"):
            spec["consent_version"] = int(before.get("consent_version", 1)) + 1
        else:
            spec["consent_version"] = int(before.get("consent_version", 1))
    return fields


def _new_version(
    actor: Actor, definition: FormDefinition, fields: Any, restored_from: int | None = None
) -> FormVersion:
    # Locks the definition row, so two publishers cannot both take the next number.
    FormDefinition.objects.select_for_update().filter(pk=definition.pk).first()
    fields = check_fields(definition.scenario, fields)
    previous = definition.latest_version()
    fields = _with_consent_versions(fields, previous)
    schema = build_schema(fields)
    # The schema is served to kiosks as it is: it must be a valid draft 2020-12 schema.
    Draft202012Validator.check_schema(schema)
    version = FormVersion.objects.create(
        definition=definition,
        number=(previous.number if previous else 0) + 1,
        fields=fields,
        schema=schema,
        restored_from=restored_from,
        published_by=actor.user,
    )
    definition.draft = fields
    definition.draft_updated_at = timezone.now()
    definition.draft_updated_by = actor.user
    definition.save(update_fields=["draft", "draft_updated_at", "draft_updated_by"])
    return version


@transaction.atomic
def publish(actor: Actor, definition: FormDefinition) -> FormVersion:
    """Publish the draft as the next version; new submissions use it from now on."""
    _require_designer(actor, definition)
    version = _new_version(actor, definition, definition.draft)
    record(actor, "form.published", definition, version=version.number)
    return version


@transaction.atomic
def restore_version(actor: Actor, definition: FormDefinition, number: int) -> FormVersion:
    """Publish an earlier version again, as a new version (versions never change)."""
    _require_designer(actor, definition)
    earlier = definition.versions.filter(number=number).first()
    if earlier is None:
        raise NotFoundError("version_not_found", _("This form has no such version."))
    version = _new_version(actor, definition, earlier.fields, restored_from=number)
    record(actor, "form.restored", definition, version=version.number, restored_from=number)
    return version


@transaction.atomic
def create_company_override(actor: Actor, scenario: str, company: Company) -> FormDefinition:
    """Give a company its own form for a scenario, starting from the building's current one.

    It is used once published; until then visitors of the company see the building's form.
    """
    definition = FormDefinition(scenario=scenario, company=company)
    _require_designer(actor, definition)
    existing = FormDefinition.objects.filter(scenario=scenario, company=company).first()
    if existing is not None:
        return existing
    building_form = FormDefinition.objects.filter(scenario=scenario, company=None).first()
    start = building_form.latest_version() if building_form else None
    definition.draft = copy.deepcopy(start.fields if start else DEFAULT_FIELDS[scenario])
    definition.save()
    record(actor, "form.override_created", definition, company=company.name)
    return definition


@transaction.atomic
def ensure_default_forms(actor: Actor) -> list[FormVersion]:
    """Give the building a published form for every scenario that has none."""
    published = []
    for scenario in Scenario.values:
        definition, _created = FormDefinition.objects.get_or_create(
            scenario=scenario, company=None, defaults={"draft": DEFAULT_FIELDS[scenario]}
        )
        if not definition.versions.exists():
            version = _new_version(actor, definition, DEFAULT_FIELDS[scenario])
            record(actor, "form.published", definition, version=version.number)
            published.append(version)
    return published


# --- Submissions ----------------------------------------------------------------------------


def _stored_upload(
    spec: dict[str, Any], description: dict[str, Any], upload: Any
) -> dict[str, Any]:
    """Save an uploaded file; sensitive files (face photos) are encrypted before storage."""
    upload.seek(0)
    data = upload.read()
    sensitive = spec["privacy"] == PrivacyClass.SENSITIVE
    folder = f"forms/{current_schema()}/{timezone.now():%Y/%m}"
    if sensitive:
        content = ContentFile(encrypt(base64.b64encode(data).decode("ascii")).encode("ascii"))
        name = default_storage.save(f"{folder}/{uuid.uuid4().hex}.enc", content)
        # The original file name can itself be personal: it is not kept for sensitive files.
        return {
            "file": name,
            "size": description["size"],
            "content_type": description["content_type"],
            "encrypted": True,
            "name": "",
        }
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(
        description["content_type"], "pdf"
    )
    name = default_storage.save(f"{folder}/{uuid.uuid4().hex}.{extension}", ContentFile(data))
    return {**description, "file": name, "encrypted": False}


def _stored_value(spec: dict[str, Any], value: Any) -> Any:
    if spec["type"] == FieldType.CONSENT:
        value = {"agreed": bool(value), "consent_version": spec.get("consent_version", 1)}
    if spec["privacy"] == PrivacyClass.SENSITIVE:
        return {"encrypted": encrypt(json.dumps(value, ensure_ascii=False))}
    return value


def host_not_found_message() -> str:
    """What a visitor is told when the details they gave name no host, in the same words
    whatever did not match (an unknown mobile, a known mobile with another name, a name not
    in the company): the answer must not tell who is an employee here (ADR 0026)."""
    return _(
        "We could not find the person you visit from these details. Check them, or ask "
        "the person you visit for the mobile number they are registered with here."
    )


def _host(values: dict[str, Any], company_id: int | None) -> Host | None:
    mobile = values.get(HOST_MOBILE)
    if not mobile:
        return None
    hosts = Host.objects.filter(mobile=mobile, is_active=True, company__is_active=True)
    if company_id is not None:
        hosts = hosts.filter(company_id=company_id)
    host = hosts.select_related("company").first()
    if host is None:
        raise AnswersInvalid({HOST_MOBILE: [host_not_found_message()]})
    return host


def _check_companions(scenario: str, key: str, companions: int) -> None:
    """The scenario policy caps the companions a visitor may bring (issue 5's policies)."""
    allowed = int(policy_snapshot(scenario)["companions_allowed"])
    if companions > allowed:
        raise AnswersInvalid(
            {key: [_("At most %(count)s companions may come along.") % {"count": allowed}]}
        )


def _first_identity(validated: ValidatedAnswers) -> tuple[str, str]:
    for spec in validated.version.fields:
        value = validated.values.get(spec["key"])
        if spec["type"] == FieldType.ID_DOCUMENT and value:
            return value["type"], value["number"]
    return "", ""


def _field_of(error: DomainError, validated: ValidatedAnswers) -> str:
    """The form field a domain error of the visits package is about."""
    if error.code.startswith("mobile"):
        return VISITOR_MOBILE
    if error.code.startswith("name"):
        return VISITOR_NAME
    if error.code.startswith("id_"):
        for spec in validated.version.fields:
            if spec["type"] == FieldType.ID_DOCUMENT and spec["key"] in validated.values:
                return str(spec["key"])
    return VISIT_END


def submit(
    actor: Actor,
    validated: ValidatedAnswers,
    *,
    status: str = VisitStatus.PENDING_APPROVAL,
    submission_id: uuid.UUID | None = None,
    host: Host | None = None,
) -> tuple[Visit, bool]:
    """Create a visit from answers that passed the one validation path: (visit, replayed).

    The locked fields go to the visitor's and visit's columns (the first identity document
    becomes the visitor's document, so the watchlist can match it; a known document typed with
    another name or mobile leaves the visitor as stored and the visit keeps what was typed,
    ADR 0012); the other answers are kept
    in ``Visit.answers``, sensitive ones encrypted, with the version they were given in. A
    resent ``submission_id`` returns the visit it made the first time and changes nothing,
    also when the two arrive at the same moment (the unique column decides).
    """
    try:
        return _submit(actor, validated, status=status, submission_id=submission_id, host=host)
    except IntegrityError:
        earlier = (
            Visit.objects.filter(submission_id=submission_id).first() if submission_id else None
        )
        if earlier is None:
            raise
        return earlier, True


@transaction.atomic
def _submit(
    actor: Actor,
    validated: ValidatedAnswers,
    *,
    status: str,
    submission_id: uuid.UUID | None,
    host: Host | None = None,
) -> tuple[Visit, bool]:
    if submission_id is not None:
        existing = Visit.objects.filter(submission_id=submission_id).first()
        if existing is not None:
            if existing.form_version_id != validated.version.pk:
                raise DomainError(
                    "submission_conflict",
                    _("This submission id was already used for another form."),
                )
            return existing, True
    version = validated.version
    definition = version.definition
    values = validated.values
    host = host or _host(values, definition.company_id)
    id_type, id_number = _first_identity(validated)
    try:
        visitor = register_visitor(
            actor,
            name=values[VISITOR_NAME],
            mobile=values.get(VISITOR_MOBILE, ""),
            id_type=id_type,
            id_number=id_number,
        )
        purpose = ""
        purpose_spec = version.field(PURPOSE)
        if purpose_spec is not None and PURPOSE in values:
            purpose = kind_of(purpose_spec).display(purpose_spec, values[PURPOSE], "zh-hans")
        companions = 0
        for spec in version.fields:
            if spec["type"] == FieldType.COMPANIONS and spec["key"] in values:
                companions = len(values[spec["key"]])
                _check_companions(definition.scenario, spec["key"], companions)
                break
        visit = create_visit(
            actor,
            scenario=definition.scenario,
            visitor=visitor,
            host=host,
            valid_from=parse_iso_datetime(values[VISIT_START]),
            valid_until=parse_iso_datetime(values[VISIT_END]),
            purpose=purpose,
            companions=companions,
            status=status,
            given_name=values[VISITOR_NAME],
            given_mobile=values.get(VISITOR_MOBILE, ""),
        )
    except AnswersInvalid:
        raise
    except DomainError as error:
        raise AnswersInvalid({_field_of(error, validated): [error.message]}) from error
    if visit.company_id is None and definition.company_id is not None:
        visit.company_id = definition.company_id
    answers: dict[str, Any] = {}
    saved_files: list[str] = []
    try:
        for spec in version.fields:
            key = spec["key"]
            if key in COLUMN_KEYS:
                continue
            if key in validated.uploads:
                stored = _stored_upload(spec, values[key], validated.uploads[key])
                saved_files.append(stored["file"])
                answers[key] = stored
            elif key in values:
                answers[key] = _stored_value(spec, values[key])
        visit.answers = answers
        visit.form_version = version
        visit.submission_id = submission_id
        visit.save(update_fields=["answers", "form_version", "submission_id", "company"])
        record(
            actor,
            "form.submitted",
            visit,
            form=definition.pk,
            version=version.number,
            scenario=definition.scenario,
        )
    except BaseException:
        for name in saved_files:
            default_storage.delete(name)
        raise
    return visit, False


@transaction.atomic
def forget_answers(actor: Actor, visit: Visit, privacy_class: str) -> list[str]:
    """Remove a visit's answers of one privacy class, and their stored files: what the
    retention job calls when that class's period is over. Returns the keys removed."""
    from forms.queries import answer_keys_by_privacy

    keys = answer_keys_by_privacy(visit)[privacy_class]
    if not keys:
        return []
    files = [
        visit.answers[key]["file"]
        for key in keys
        if isinstance(visit.answers[key], dict) and "file" in visit.answers[key]
    ]
    visit.answers = {key: value for key, value in visit.answers.items() if key not in keys}
    visit.save(update_fields=["answers"])
    record(actor, "visit.answers_forgotten", visit, privacy=privacy_class, fields=keys)
    transaction.on_commit(lambda: _delete_files(files))
    return keys


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def read_answer_file(actor: Actor, visit: Visit, key: str) -> tuple[bytes, str]:
    """The bytes and type of an uploaded answer (decrypted when sensitive); audited."""
    stored = visit.answers.get(key)
    if not isinstance(stored, dict) or "file" not in stored:
        raise NotFoundError("file_not_found", _("This visit has no such file."))
    with default_storage.open(stored["file"], "rb") as handle:
        data = handle.read()
    if stored.get("encrypted"):
        data = base64.b64decode(decrypt(data.decode("ascii")))
    record(actor, "visit.answer_file_viewed", visit, field=key)
    return data, str(stored["content_type"])


def note_answers_viewed(actor: Actor, visit: Visit, *, revealed: bool) -> None:
    """Audit a view of a visit's answers (personal data), and whether they were unmasked."""
    verb = "visit.answers_revealed" if revealed else "visit.answers_viewed"
    record(actor, verb, visit, version=visit.form_version.number if visit.form_version else None)
