"""Forgetting personal data on time: each class of it (ID numbers, photos, names and mobiles,
who passed the gates, messages) is anonymised once its building's retention period has run
from the end of the visit, and one visitor's data at once on request (ADR 0034).

Rows stay, blanked, so the statistics of past months (visits by company, scenario, status;
gate events by gate, result and reason) do not change. Visits in progress are never touched,
and a visitor an enforced watchlist entry matches keeps the identity the entry needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.models import AccessEvent, Alert, RollCallEntry
from visit_platform.audit.actions import Actor, record
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import (
    DEFAULT_RETENTION_DAYS,
    ENFORCED_WATCHLIST_STATUSES,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    KeptBecause,
    RetentionClass,
    VisitStatus,
)
from visit_platform.visits.models import (
    Attendee,
    RetentionPeriod,
    Visit,
    Visitor,
    WatchlistEntry,
    WeChatLink,
)

BATCH_SIZE = 500

# Sent inside each batch's transaction with ``data_class``, ``visit_ids`` (the visits whose
# data of that class is due) and ``dry_run``; a receiver anonymises (or, dry, counts) what its
# own layer keeps about those visits and returns how many records. The layers above the
# domain (the desk's face matches in ``workflows``) answer it, since this one cannot import them.
visits_due = Signal()

KEPT_FOR_WATCHLIST = KeptBecause.WATCHLIST.value
KEPT_FOR_VISIT_IN_PROGRESS = KeptBecause.VISIT_IN_PROGRESS.value

# The classes an enforced watchlist entry needs kept: what it matches a person by.
WATCHLIST_KEEPS = (RetentionClass.ID_NUMBERS, RetentionClass.NAMES)


@dataclass(frozen=True)
class ErasureReport:
    """What ``erase_visitor`` did: records anonymised per class, what was kept and why."""

    visitor_id: int
    counts: dict[str, int]
    # Class → reason (``KEPT_FOR_WATCHLIST``, ``KEPT_FOR_VISIT_IN_PROGRESS``).
    kept: dict[str, str] = field(default_factory=dict)
    watchlist_entry_ids: list[int] = field(default_factory=list)
    visits_in_progress: list[int] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        """Whether nothing of the visitor's personal data was kept."""
        return not self.kept


@dataclass(frozen=True)
class ClassRun:
    """One class in one building's run: its cut-off and how many records were (or, in a
    dry run, would be) anonymised."""

    data_class: str
    days: int
    cutoff: datetime
    count: int

    @property
    def label(self) -> str:
        return str(RetentionClass(self.data_class).label)


def retention_days(building_retention_days: int | None = None) -> dict[str, int]:
    """Days kept per class in the current building: its property admins' settings, else the
    defaults (names and mobiles default to the building's own ``retention_days``)."""
    days = {str(key): value for key, value in DEFAULT_RETENTION_DAYS.items()}
    if building_retention_days:
        days[RetentionClass.NAMES] = building_retention_days
    for period in RetentionPeriod.objects.all():
        days[period.data_class] = period.days
    return days


# --- Which visits and visitors are due ------------------------------------------------------


def _over_by(cutoff: datetime) -> Q:
    """Visits that ended at or before ``cutoff``: window over, left (or never came in). A visit
    whose visitor is inside is in progress, however late."""
    return (
        Q(valid_until__lte=cutoff)
        & ~Q(status=VisitStatus.CHECKED_IN)
        & (Q(checked_out_at__isnull=True) | Q(checked_out_at__lte=cutoff))
    )


def _visitors_over_by(cutoff: datetime) -> QuerySet[Visitor]:
    """Visitors whose every visit ended by ``cutoff``; one without visits counts from when
    they were registered."""
    visits = Visit.objects.filter(visitor=OuterRef("pk"))
    return Visitor.objects.exclude(Exists(visits.exclude(_over_by(cutoff)))).filter(
        Exists(visits) | Q(created_at__lte=cutoff)
    )


def enforced_entries_matching(visitor: Visitor, now: datetime) -> list[WatchlistEntry]:
    """The enforced, unexpired watchlist entries that match this visitor (ID-number blind
    index, mobile, or name with date of birth), as the gate and the flows match them."""
    matches = Q(pk__in=[])
    if visitor.id_number_index:
        matches |= Q(id_number_index=visitor.id_number_index)
    if visitor.mobile:
        matches |= Q(mobile=visitor.mobile)
    if visitor.name and visitor.birth_date:
        matches |= Q(name=visitor.name, birth_date=visitor.birth_date)
    return list(
        WatchlistEntry.objects.filter(matches, status__in=ENFORCED_WATCHLIST_STATUSES)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("pk")
    )


def _not_watchlisted(visitors: Iterable[Visitor], now: datetime) -> list[Visitor]:
    return [visitor for visitor in visitors if not enforced_entries_matching(visitor, now)]


# --- Anonymising one batch of one class -------------------------------------------------------


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _answers_of(visits: Iterable[Visit], privacy: str) -> list[tuple[Visit, list[str]]]:
    """The visits' stored form answers of one privacy class (the form version says which),
    read as data: the forms package sits above this one."""
    found = []
    for visit in visits:
        fields = visit.form_version.fields if visit.form_version is not None else []
        keys = [
            spec["key"]
            for spec in fields
            if spec.get("privacy") == privacy and spec.get("key") in visit.answers
        ]
        if keys:
            found.append((visit, keys))
    return found


def _forget_answers(visits: Iterable[Visit], privacy: str, *, dry_run: bool) -> int:
    due = _answers_of(visits, privacy)
    if dry_run:
        return len(due)
    files: list[str] = []
    for visit, keys in due:
        for key in keys:
            value = visit.answers[key]
            if isinstance(value, dict) and isinstance(value.get("file"), str):
                files.append(value["file"])
        visit.answers = {key: value for key, value in visit.answers.items() if key not in keys}
        visit.save(update_fields=["answers"])
    transaction.on_commit(lambda: _delete_files(files))
    return len(due)


def _layers_above(data_class: str, visit_ids: list[int], *, dry_run: bool) -> int:
    answers = visits_due.send(
        sender=Visit, data_class=data_class, visit_ids=visit_ids, dry_run=dry_run
    )
    counts: list[object] = [count for _receiver, count in answers]
    return sum(count for count in counts if isinstance(count, int))


def _id_numbers_of_visitors(visitors: list[Visitor], now: datetime, *, dry_run: bool) -> int:
    due = [
        visitor
        for visitor in visitors
        if visitor.id_number_index or visitor.id_number_masked or visitor.birth_date
    ]
    if not dry_run and due:
        Visitor.objects.filter(pk__in=[visitor.pk for visitor in due]).update(
            id_type="", id_number="", id_number_index="", id_number_masked="", birth_date=None
        )
    return len(due)


def _names_of_visitors(visitors: list[Visitor], now: datetime, *, dry_run: bool) -> int:
    due = [visitor for visitor in visitors if visitor.anonymised_at is None]
    if dry_run or not due:
        return len(due)
    indexes = {visitor.mobile_index for visitor in due if visitor.mobile_index}
    openids = {visitor.wechat_openid for visitor in due if visitor.wechat_openid}
    ids = [visitor.pk for visitor in due]
    # Name and mobile are set on each row (not with ``update``), so the same code keeps working
    # when they become encrypted columns with blind indexes of their own.
    for visitor in due:
        visitor.name = ""
        visitor.mobile = ""
        visitor.mobile_index = ""
        visitor.wechat_openid = ""
        visitor.anonymised_at = now
        visitor.save(
            update_fields=["name", "mobile", "mobile_index", "wechat_openid", "anonymised_at"]
        )
    still_used = set(
        Visitor.objects.filter(mobile_index__in=indexes)
        .exclude(pk__in=ids)
        .values_list("mobile_index", flat=True)
    )
    WeChatLink.objects.filter(
        Q(mobile_index__in=indexes - still_used) | Q(openid__in=openids)
    ).exclude(mobile_index__in=still_used).delete()
    return len(due)


def _photos_of_visitors(visitors: list[Visitor], now: datetime, *, dry_run: bool) -> int:
    due = [visitor for visitor in visitors if visitor.photo]
    if dry_run or not due:
        return len(due)
    files = [visitor.photo.name for visitor in due]
    Visitor.objects.filter(pk__in=[visitor.pk for visitor in due]).update(photo="")
    transaction.on_commit(lambda: _delete_files(files))
    return len(due)


def _id_numbers_of_visits(visits: list[Visit], now: datetime, *, dry_run: bool) -> int:
    return _forget_answers(visits, "sensitive", dry_run=dry_run)


def _photos_of_visits(visits: list[Visit], now: datetime, *, dry_run: bool) -> int:
    return _layers_above(RetentionClass.PHOTOS, [visit.pk for visit in visits], dry_run=dry_run)


def _names_of_visits(visits: list[Visit], now: datetime, *, dry_run: bool) -> int:
    due = [visit for visit in visits if visit.anonymised_at is None]
    if dry_run or not due:
        return len(due)
    ids = [visit.pk for visit in due]
    for visit in due:
        visit.contact_name = ""
        visit.contact_mobile = ""
        visit.contact_mobile_index = ""
        visit.anonymised_at = now
        visit.save(
            update_fields=[
                "contact_name",
                "contact_mobile",
                "contact_mobile_index",
                "anonymised_at",
            ]
        )
    _forget_answers(due, "personal", dry_run=False)
    Attendee.objects.filter(visit_id__in=ids).update(organisation="")
    RollCallEntry.objects.filter(visit_id__in=ids).update(name="")
    return len(due)


def _gate_events_of_visits(visits: list[Visit], now: datetime, *, dry_run: bool) -> int:
    ids = [visit.pk for visit in visits]
    events = AccessEvent.objects.filter(Q(visit_id__in=ids) | Q(pass_record__visit_id__in=ids))
    if dry_run:
        return events.count()
    count = events.update(visit=None, pass_record=None)
    Alert.objects.filter(visit_id__in=ids).update(visit=None)
    return count


def _messages_of_visits(visits: list[Visit], now: datetime, *, dry_run: bool) -> int:
    messages = Notification.objects.filter(visit_id__in=[visit.pk for visit in visits]).exclude(
        recipient_masked=""
    )
    return _blank_messages(messages, dry_run=dry_run)


def _blank_messages(messages: QuerySet[Notification], *, dry_run: bool) -> int:
    if dry_run:
        return messages.count()
    return messages.update(
        recipient="",
        recipient_masked="",
        subject="",
        text="",
        payload="",
        fallback_to="",
        last_error="",
    )


_VISITOR_STEPS: dict[str, Callable[..., int]] = {
    RetentionClass.ID_NUMBERS: _id_numbers_of_visitors,
    RetentionClass.PHOTOS: _photos_of_visitors,
    RetentionClass.NAMES: _names_of_visitors,
}
_VISIT_STEPS: dict[str, Callable[..., int]] = {
    RetentionClass.ID_NUMBERS: _id_numbers_of_visits,
    RetentionClass.PHOTOS: _photos_of_visits,
    RetentionClass.NAMES: _names_of_visits,
    RetentionClass.GATE_EVENTS: _gate_events_of_visits,
    RetentionClass.MESSAGES: _messages_of_visits,
}


# --- One visitor, now -----------------------------------------------------------------------


@transaction.atomic
def erase_visitor(actor: Actor, visitor: Visitor, *, reason: str) -> ErasureReport:
    """Anonymise one visitor's personal data now, every class, by the retention job's rules:
    their visits in progress (and so the visitor's own identity, which those use) are not
    touched, and an enforced watchlist entry that matches them keeps their ID number, name and
    mobile (its legal basis in ADR 0034). The report says what was kept and why; the audit
    entry holds ids and counts only. Safe to run twice: the second run finds nothing left."""
    now = timezone.now()
    visitor = Visitor.objects.select_for_update().get(pk=visitor.pk)
    visits = list(
        Visit.objects.select_for_update(of=("self",))
        .select_related("form_version")
        .filter(visitor=visitor)
        .order_by("pk")
    )
    over = set(
        Visit.objects.filter(visitor=visitor).filter(_over_by(now)).values_list("pk", flat=True)
    )
    ended = [visit for visit in visits if visit.pk in over]
    in_progress = [visit.pk for visit in visits if visit.pk not in over]
    entries = enforced_entries_matching(visitor, now)
    kept: dict[str, str] = {}
    counts: dict[str, int] = {}
    for data_class in RetentionClass.values:
        count = _VISIT_STEPS[data_class](ended, now, dry_run=False)
        visitor_step = _VISITOR_STEPS.get(data_class)
        if visitor_step is not None:
            if in_progress:
                kept[data_class] = KEPT_FOR_VISIT_IN_PROGRESS
            elif entries and data_class in WATCHLIST_KEEPS:
                kept[data_class] = KEPT_FOR_WATCHLIST
            else:
                count += visitor_step([visitor], now, dry_run=False)
        counts[data_class] = count
    report = ErasureReport(
        visitor_id=visitor.pk,
        counts=counts,
        kept=kept,
        watchlist_entry_ids=[entry.pk for entry in entries],
        visits_in_progress=in_progress,
    )
    record(
        actor,
        "visitor.erased",
        visitor,
        reason=reason[:500],
        counts=counts,
        kept=kept,
        watchlist_entries=report.watchlist_entry_ids,
        visits=in_progress,
    )
    return report


# --- The building's periodic run --------------------------------------------------------------


def _batches(queryset: QuerySet, *, dry_run: bool) -> Iterable[list[int]]:
    """Primary keys in batches, paged by key: what a batch changed no longer matches, what it
    left (a watchlisted visitor) is not read again in this run."""
    last = 0
    while True:
        ids = list(
            queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _due_visitors(data_class: str, cutoff: datetime) -> QuerySet[Visitor]:
    visitors = _visitors_over_by(cutoff)
    if data_class == RetentionClass.ID_NUMBERS:
        return visitors.filter(
            ~Q(id_number_index="") | ~Q(id_number_masked="") | Q(birth_date__isnull=False)
        )
    if data_class == RetentionClass.PHOTOS:
        return visitors.exclude(photo="")
    return visitors.filter(anonymised_at__isnull=True)


def _due_visits(data_class: str, cutoff: datetime) -> QuerySet[Visit]:
    visits = Visit.objects.filter(_over_by(cutoff))
    if data_class == RetentionClass.NAMES:
        return visits.filter(anonymised_at__isnull=True)
    if data_class == RetentionClass.GATE_EVENTS:
        linked = AccessEvent.objects.filter(
            Q(visit_id=OuterRef("pk")) | Q(pass_record__visit_id=OuterRef("pk"))
        )
        return visits.filter(Exists(linked) | Exists(Alert.objects.filter(visit=OuterRef("pk"))))
    if data_class == RetentionClass.MESSAGES:
        return visits.filter(
            Exists(Notification.objects.filter(visit=OuterRef("pk")).exclude(recipient_masked=""))
        )
    if data_class == RetentionClass.ID_NUMBERS:
        return visits.filter(form_version__isnull=False).exclude(answers={})
    return visits


def run_class(data_class: str, *, days: int, now: datetime, dry_run: bool = False) -> ClassRun:
    """Anonymise (or, with ``dry_run``, count) one class in the current building: what belongs
    to visits that ended ``days`` before ``now``. One transaction per batch."""
    cutoff = now - timedelta(days=days)
    count = 0
    for ids in _batches(_due_visits(data_class, cutoff), dry_run=dry_run):
        with transaction.atomic():
            visits = list(
                Visit.objects.select_for_update(of=("self",))
                .select_related("form_version")
                .filter(pk__in=ids)
                .filter(_over_by(cutoff))
            )
            count += _VISIT_STEPS[data_class](visits, now, dry_run=dry_run)
    visitor_step = _VISITOR_STEPS.get(data_class)
    if visitor_step is not None:
        for ids in _batches(_due_visitors(data_class, cutoff), dry_run=dry_run):
            with transaction.atomic():
                visitors = list(
                    _visitors_over_by(cutoff).select_for_update(of=("self",)).filter(pk__in=ids)
                )
                if data_class in WATCHLIST_KEEPS:
                    visitors = _not_watchlisted(visitors, now)
                count += visitor_step(visitors, now, dry_run=dry_run)
    if data_class == RetentionClass.MESSAGES:
        # Messages tied to no visit (a visitor's sign-in code) age from when they were sent.
        orphans = Notification.objects.filter(visit__isnull=True, created_at__lte=cutoff).exclude(
            recipient_masked=""
        )
        with transaction.atomic():
            count += _blank_messages(orphans, dry_run=dry_run)
    return ClassRun(data_class=data_class, days=days, cutoff=cutoff, count=count)


def apply_retention(
    actor: Actor,
    *,
    building_retention_days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[ClassRun]:
    """Every class of the current building past its retention: anonymised, one audit entry per
    class with the count and cut-off; or, with ``dry_run``, only counted (what the preview
    shows), changing nothing and writing nothing."""
    now = now or timezone.now()
    days = retention_days(building_retention_days)
    runs = []
    for data_class in RetentionClass.values:
        run = run_class(data_class, days=days[data_class], now=now, dry_run=dry_run)
        runs.append(run)
        if not dry_run:
            with transaction.atomic():
                record(
                    actor,
                    "retention.applied",
                    None,
                    data_class=data_class,
                    days=run.days,
                    cutoff=run.cutoff.isoformat(),
                    count=run.count,
                )
    return runs


# --- The building's settings ------------------------------------------------------------------


def check_retention_days(days: dict[str, object]) -> dict[str, int]:
    """Every class given a whole number of days within bounds, or a ``DomainError`` naming
    the first that is not (and so nothing is saved)."""
    cleaned: dict[str, int] = {}
    for data_class in RetentionClass.values:
        value = days.get(data_class)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not MIN_RETENTION_DAYS <= value <= MAX_RETENTION_DAYS
        ):
            raise DomainError(
                "retention_out_of_range",
                _("Enter a whole number of days from %(lowest)d to %(highest)d.")
                % {"lowest": MIN_RETENTION_DAYS, "highest": MAX_RETENTION_DAYS},
                field=data_class,
            )
        cleaned[data_class] = value
    unknown = sorted(set(days) - set(RetentionClass.values))
    if unknown:
        raise DomainError("retention_class_unknown", _("Unknown kind of data."), field=unknown[0])
    return cleaned


@transaction.atomic
def change_retention_periods(actor: Actor, days: dict[str, object]) -> list[str]:
    """Save how long the building keeps each class (all or none: one bad value refuses the
    lot), audited with what changed. Saving the same values again changes and audits
    nothing. Returns the classes that changed."""
    cleaned = check_retention_days(days)
    # One change at a time: two admins saving at once each see the other's as "before".
    building = Building.objects.select_for_update().get(schema_name=current_schema())
    before = retention_days(building.retention_days)
    changes = {
        data_class: [before[data_class], value]
        for data_class, value in cleaned.items()
        if before[data_class] != value
    }
    for data_class, (_old, value) in changes.items():
        RetentionPeriod.objects.update_or_create(
            data_class=data_class, defaults={"days": value, "updated_by": actor.user}
        )
    if changes:
        record(actor, "retention.changed", None, changes=changes)
    return list(changes)
