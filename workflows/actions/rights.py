"""Visitors' rights under PIPL (articles 44 to 47): a copy of their data, handed over at once,
and their request to delete it, which the property office answers within 15 days
(ADR 0037). The deletion itself is ``erase_visitor``'s; this module receives the request,
carries it out or refuses it, and answers the visitor on their pages and by SMS.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from kernel.errors import ConflictError, DomainError, PermissionDeniedError
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.roles import HANDLE_PRIVACY_REQUESTS
from visit_platform.notifications.actions import in_building_language, send_notification
from visit_platform.notifications.choices import Channel, Purpose
from visit_platform.visits.choices import KeptBecause, RetentionClass
from visit_platform.visits.models import Visitor
from visit_platform.visits.queries import visits_of_mobile
from visit_platform.visits.retention import ErasureReport, erase_visitor
from workflows.choices import PrivacyRequestKind, PrivacyRequestStatus
from workflows.models import PrivacyRequest

# PIPL article 50 asks for a timely answer; 15 days is the period GB/T 35273-2020 (8.7 c)
# and the regulators' guidance give, and what the building promises the visitor (ADR 0037).
ANSWER_DAYS = 15
MAX_REFUSAL_REASON = 500
# The answer as the text quotes it; a longer one is cut, and read whole on My visits.
MAX_ANSWER_IN_SMS = 300

ANSWER_SMS = gettext_noop(
    "[%(building)s] Your request to delete your data was answered: %(answer)s "
    "Sign in to My visits to read it again."
)


def note_personal_data_downloaded(actor: Actor, counts: dict[str, int]) -> None:
    """Audit a visitor downloading their data: how many rows of each kind, nothing personal."""
    record(actor, "visitor.data_downloaded", None, rows=counts)


def open_request(
    mobile_index: str, kind: str = PrivacyRequestKind.DELETION
) -> PrivacyRequest | None:
    """The request of this kind still waiting for an answer for this mobile, if any."""
    return PrivacyRequest.objects.filter(
        kind=kind, mobile_index=mobile_index, status=PrivacyRequestStatus.OPEN
    ).first()


def ask_for_deletion(actor: Actor, mobile_index: str) -> tuple[PrivacyRequest, bool]:
    """The visitor signed in to this mobile asks the building to delete their data. A request
    already waiting is returned as it is (``False``): asking twice, or two taps at once, makes
    one request, held by the one-open-request constraint."""
    if len(mobile_index) != 64:
        raise DomainError("mobile_index_invalid", _("Sign in again."))
    waiting = open_request(mobile_index)
    if waiting is not None:
        return waiting, False
    now = timezone.now()
    try:
        with transaction.atomic():
            request = PrivacyRequest.objects.create(
                kind=PrivacyRequestKind.DELETION,
                mobile_index=mobile_index,
                created_at=now,
                due_at=now + timedelta(days=ANSWER_DAYS),
            )
            record(
                actor,
                "privacy_request.received",
                request,
                kind=request.kind,
                due=request.due_at.isoformat(),
            )
    except IntegrityError:
        waiting = open_request(mobile_index)
        if waiting is None:
            raise
        return waiting, False
    return request, True


def _locked_open(actor: Actor, request: PrivacyRequest) -> PrivacyRequest:
    if actor.user is None or not actor.user.has_perm(HANDLE_PRIVACY_REQUESTS):
        raise PermissionDeniedError(
            "forbidden", _("Only the property office answers visitors' requests.")
        )
    locked = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != PrivacyRequestStatus.OPEN:
        raise ConflictError(
            "already_answered",
            _("This request was already answered: %(status)s.")
            % {"status": PrivacyRequestStatus(locked.status).label},
        )
    return locked


def _answer_by_sms(actor: Actor, mobiles: set[str], answer: str) -> None:
    for mobile in sorted(mobiles):
        send_notification(
            actor,
            channel=Channel.SMS,
            to=mobile,
            purpose=Purpose.PRIVACY_ANSWER,
            text=in_building_language(ANSWER_SMS, answer=_shortened(answer)),
        )


def _shortened(answer: str) -> str:
    return answer if len(answer) <= MAX_ANSWER_IN_SMS else answer[: MAX_ANSWER_IN_SMS - 1] + "…"


def _mobiles_of(mobile_index: str) -> set[str]:
    """The numbers this request's answer goes to, read before anything is deleted."""
    mobiles = set(
        Visitor.objects.filter(mobile_index=mobile_index)
        .exclude(mobile="")
        .values_list("mobile", flat=True)
    )
    mobiles |= {visit.visitor_mobile for visit in visits_of_mobile(mobile_index)}
    return {mobile for mobile in mobiles if mobile}


def _finish(actor: Actor, request: PrivacyRequest, status: str, answer: str) -> PrivacyRequest:
    request.status = status
    request.answer = answer
    request.handled_by = actor.user
    request.handled_at = timezone.now()
    request.save(update_fields=["status", "answer", "handled_by", "handled_at"])
    return request


def note_privacy_request_viewed(actor: Actor, request: PrivacyRequest, *, visitors: int) -> None:
    """Audit a member of staff looking at what the building holds for a request (masked)."""
    record(actor, "privacy_request.viewed", request, visitors=visitors)


def _labels(classes: Iterable[str]) -> str:
    return pgettext("between the items of a list", ", ").join(
        str(RetentionClass(data_class).label) for data_class in classes
    )


def deletion_answer(reports: list[ErasureReport]) -> str:
    """What the visitor is told: what was deleted and, if anything was kept, what and why
    (with the legal basis of keeping what an enforced watchlist entry needs: ADR 0037)."""
    if not reports:
        return _(
            "This building holds no data under your mobile number; there was nothing to delete."
        )
    kept: dict[str, set[str]] = {}
    for report in reports:
        for data_class, because in report.kept.items():
            kept.setdefault(because, set()).add(data_class)
    held_back = set().union(*kept.values()) if kept else set()
    deleted = [data_class for data_class in RetentionClass.values if data_class not in held_back]
    parts = [_("Deleted: %(classes)s.") % {"classes": _labels(deleted)}]
    if KeptBecause.WATCHLIST in kept:
        classes = [c for c in RetentionClass.values if c in kept[KeptBecause.WATCHLIST]]
        parts.append(
            _(
                "Kept: %(classes)s, because an enforced watchlist entry of this building refers "
                "to you. Legal basis: PIPL article 13(1)(3), the property's statutory duty of "
                "internal security. They are kept only while the entry is enforced, and used for "
                "nothing else."
            )
            % {"classes": _labels(classes)}
        )
    if KeptBecause.VISIT_IN_PROGRESS in kept:
        classes = [c for c in RetentionClass.values if c in kept[KeptBecause.VISIT_IN_PROGRESS]]
        parts.append(
            _(
                "Kept for now: %(classes)s, and the records of your visit in progress or still "
                "to come, which it needs. Cancel it or let it end, then ask again."
            )
            % {"classes": _labels(classes)}
        )
    # Chinese runs its sentences together; English puts a space between them.
    answer = parts[0]
    for part in parts[1:]:
        answer = pgettext("one sentence after another", "%(first)s %(second)s") % {
            "first": answer,
            "second": part,
        }
    return answer


@transaction.atomic
def carry_out_deletion(actor: Actor, request: PrivacyRequest) -> PrivacyRequest:
    """The property office carries out a deletion request: every visitor record of the
    request's mobile is erased (``erase_visitor``, which keeps what an enforced watchlist
    entry needs), and the visitor is answered on My visits and by SMS, at the numbers read
    before the erasure."""
    request = _locked_open(actor, request)
    mobiles = _mobiles_of(request.mobile_index)
    reason = _("Privacy request %(number)d of the visitor") % {"number": request.pk}
    reports = [
        erase_visitor(actor, visitor, reason=reason)
        for visitor in Visitor.objects.filter(mobile_index=request.mobile_index).order_by("pk")
    ]
    with in_building_language_context():
        answer = deletion_answer(reports)
    _finish(actor, request, PrivacyRequestStatus.DONE, answer)
    record(
        actor,
        "privacy_request.carried_out",
        request,
        kind=request.kind,
        visitors=[report.visitor_id for report in reports],
        kept=sorted({c for report in reports for c in report.kept}),
        watchlist_entries=sorted({e for report in reports for e in report.watchlist_entry_ids}),
    )
    _answer_by_sms(actor, mobiles, answer)
    return request


@transaction.atomic
def refuse_request(actor: Actor, request: PrivacyRequest, *, reason: str) -> PrivacyRequest:
    """The property office refuses a request, saying why (PIPL article 50: a refusal gives its
    reasons); the visitor reads the reason on My visits and by SMS."""
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError("reason_required", _("Say why the request is refused."), field="reason")
    if len(reason) > MAX_REFUSAL_REASON:
        raise DomainError(
            "reason_too_long",
            _("Keep the reason under %(limit)d characters.") % {"limit": MAX_REFUSAL_REASON},
            field="reason",
        )
    request = _locked_open(actor, request)
    mobiles = _mobiles_of(request.mobile_index)
    with in_building_language_context():
        answer = _("Your request was refused: %(reason)s") % {"reason": reason}
    _finish(actor, request, PrivacyRequestStatus.REFUSED, answer)
    record(actor, "privacy_request.refused", request, kind=request.kind, reason=reason)
    _answer_by_sms(actor, mobiles, answer)
    return request


def in_building_language_context() -> Any:
    """Answers are written in the building's language, whoever answers: the visitor reads
    them on their pages and in a text."""
    building = Building.objects.get(schema_name=current_schema())
    return translation.override(building.default_language)
