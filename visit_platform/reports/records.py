"""Records: the visits and gate events of any period, narrowed to what the user's role may see,
with the people who invited, approved or registered each visit (the seeds' "对个人负责").

The page (views.py) and the exports read the same querysets, columns and rows from here, so
what a user lists is what they download. Pages are keyset pages (``page_of``): a page costs
the same at the millionth row as at the first (ADR 0038).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.core import signing
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.errors import DomainError, PermissionDeniedError
from kernel.phones import display_mobile, normalise_mobile
from kernel.privacy import blind_index, mask_mobile, normalise_for_index
from visit_platform.access.choices import Direction, Reason
from visit_platform.access.models import AccessEvent
from visit_platform.directory.queries import managed_company_ids
from visit_platform.directory.roles import FIND_PEOPLE, VIEW_RECORDS, visitor_name_for
from visit_platform.reports.filters import ReportFilter
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import ID_NUMBER_INDEX, MOBILE_INDEX, Visit

# A cell of a record: text, a number, a moment (aware; exports show it in local time) or
# nothing.
Cell = str | int | datetime | None

# The largest page anyone asks for; a page is a screen or an export's chunk.
LARGEST_PAGE = 500
# A cursor longer than this was not made by ``page_of``.
LONGEST_CURSOR = 200
_CURSOR_SALT = "visit_platform.reports.cursor"


class Column(NamedTuple):
    """One column of a record: a stable key (for code and tests) and its heading."""

    key: str
    label: Promise


# ---------------------------------------------------------------------------------------------
# Who may see what


def may_find_people(user: Any) -> bool:
    """Whether ``user`` may look a person up by mobile or ID number (security, property
    admins)."""
    return bool(user.has_perm(FIND_PEOPLE))


def records_company_ids(user: Any) -> set[int] | None:
    """The companies whose records ``user`` sees; None for the whole building. A user without
    the permission sees no company (an empty set). Statistics and exports narrow by it too."""
    if not user.has_perm(VIEW_RECORDS):
        return set()
    return managed_company_ids(user, VIEW_RECORDS)


def _person_condition(report_filter: ReportFilter, user: Any, prefix: str) -> Q | None:
    """The visits (under ``prefix``) of the person looked up: a mobile matched through the
    visitor's or the visit's mobile blind index, or a document number through the ID-number
    blind index. Never a comparison with a stored number."""
    text = report_filter.person
    if not text:
        return None
    if not may_find_people(user):
        raise PermissionDeniedError(
            "person_search_not_allowed",
            _("Your role does not allow looking people up by mobile or document number."),
        )
    condition = Q(pk__in=[])
    mobile = _as_mobile(text)
    if mobile:
        index = blind_index(mobile, MOBILE_INDEX)
        condition |= Q(**{f"{prefix}visitor__mobile_index": index}) | Q(
            **{f"{prefix}contact_mobile_index": index}
        )
    document = normalise_for_index(text)
    if 6 <= len(document) <= 32 and document.isascii() and document.isalnum():
        condition |= Q(
            **{f"{prefix}visitor__id_number_index": blind_index(document, ID_NUMBER_INDEX)}
        )
    if not mobile and condition == Q(pk__in=[]):
        raise DomainError("bad_filter", _("That is not a mobile or document number."))
    return condition


def _as_mobile(text: str) -> str:
    if not any(character.isdigit() for character in text):
        return ""
    try:
        return normalise_mobile(text)
    except DomainError:
        return ""


# ---------------------------------------------------------------------------------------------
# The records


def visit_records(report_filter: ReportFilter, user: Any) -> QuerySet[Visit]:
    """The visits ``user`` may see that match ``report_filter``, newest first (by the start of
    their window, then by id).

    A visit belongs to the local day its window starts on. A company admin sees their
    companies' visits only, whatever companies the filter names; raises
    ``PermissionDeniedError`` for a person search by a role that may not do one."""
    start, end = report_filter.window(timezone.get_current_timezone())
    visits = Visit.objects.filter(valid_from__gte=start, valid_from__lt=end)
    visits = visits.filter(_visit_condition(report_filter, user, ""))
    if report_filter.gate_ids:
        # Visits that went through one of these gates (any decision there counts).
        visits = visits.filter(
            Exists(
                AccessEvent.objects.filter(visit=OuterRef("pk"), gate_id__in=report_filter.gate_ids)
            )
        )
    if report_filter.result:
        visits = visits.filter(
            Exists(
                AccessEvent.objects.filter(
                    visit=OuterRef("pk"), granted=report_filter.result == "granted"
                )
            )
        )
    return visits.select_related(
        "visitor", "host", "company", "invited_by", "approved_by", "registered_by"
    ).order_by("-valid_from", "-id")


def _visit_condition(report_filter: ReportFilter, user: Any, prefix: str) -> Q:
    """What the filter and the user's scope ask of a visit, as one condition: on visits
    themselves (``prefix`` "") or on the visit of a gate event (``prefix`` "visit__"), so the
    two tabs narrow by the same rules."""
    condition = Q()
    scope = records_company_ids(user)
    if scope is not None:
        condition &= Q(**{f"{prefix}company_id__in": scope})
    for field, chosen in (
        ("company_id", report_filter.company_ids),
        ("host_id", report_filter.host_ids),
        ("scenario", report_filter.scenarios),
        ("status", report_filter.statuses),
    ):
        if chosen:
            condition &= Q(**{f"{prefix}{field}__in": chosen})
    for name in ("invited_by", "approved_by", "registered_by"):
        if getattr(report_filter, name) is not None:
            condition &= Q(**{f"{prefix}{name}_id": getattr(report_filter, name)})
    person = _person_condition(report_filter, user, prefix)
    if person is not None:
        condition &= person
    return condition


def event_records(report_filter: ReportFilter, user: Any) -> QuerySet[AccessEvent]:
    """The gate events ``user`` may see that match ``report_filter``, newest first (by when
    they happened, then by id).

    A company admin sees the events of their companies' visits; a passage nobody can be tied
    to belongs to the building, not to a company. Visit filters (company, host, scenario,
    status, who invited/approved/registered, person) narrow events to those of such visits."""
    start, end = report_filter.window(timezone.get_current_timezone())
    events = AccessEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    events = events.filter(_visit_condition(report_filter, user, "visit__"))
    if report_filter.gate_ids:
        events = events.filter(gate_id__in=report_filter.gate_ids)
    if report_filter.result:
        events = events.filter(granted=report_filter.result == "granted")
    return events.select_related(
        "gate", "visit__visitor", "visit__company", "visit__host"
    ).order_by("-occurred_at", "-id")


# ---------------------------------------------------------------------------------------------
# Columns and rows


VISIT_COLUMNS: tuple[Column, ...] = (
    Column("valid_from", gettext_lazy("From")),
    Column("valid_until", gettext_lazy("Until")),
    Column("visitor", gettext_lazy("Visitor")),
    Column("mobile", gettext_lazy("Mobile")),
    Column("id_number", gettext_lazy("Document number")),
    Column("company", gettext_lazy("Company")),
    Column("host", gettext_lazy("Host")),
    Column("scenario", gettext_lazy("Scenario")),
    Column("status", gettext_lazy("Status")),
    Column("invited_by", gettext_lazy("Invited by")),
    Column("approved_by", gettext_lazy("Approved by")),
    Column("registered_by", gettext_lazy("Registered by")),
    Column("checked_in_at", gettext_lazy("Checked in")),
    Column("checked_out_at", gettext_lazy("Checked out")),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    Column("occurred_at", gettext_lazy("Time")),
    Column("gate", gettext_lazy("Gate")),
    Column("direction", gettext_lazy("Direction")),
    Column("result", gettext_lazy("Result")),
    Column("reason", gettext_lazy("Reason")),
    Column("visitor", gettext_lazy("Visitor")),
    Column("company", gettext_lazy("Company")),
)


def person_name(user: Any) -> str:
    """How a member of staff is named in a record: their display name, else their e-mail."""
    return str(user) if user is not None else ""


def visit_row(visit: Visit, user: Any) -> list[Cell]:
    """A visit as ``VISIT_COLUMNS``: the visitor's name as ``user``'s role may see it, the
    mobile and document number always masked."""
    return [
        visit.valid_from,
        visit.valid_until,
        visitor_name_for(user, visit.visitor_name),
        mask_mobile(display_mobile(visit.visitor_mobile)) if visit.visitor_mobile else "",
        visit.visitor.masked_id_number,
        visit.company.name if visit.company else "",
        visit.host.name if visit.host else "",
        str(Scenario(visit.scenario).label),
        str(VisitStatus(visit.status).label),
        person_name(visit.invited_by),
        person_name(visit.approved_by),
        person_name(visit.registered_by),
        visit.checked_in_at,
        visit.checked_out_at,
    ]


def event_row(event: AccessEvent, user: Any) -> list[Cell]:
    """A gate event as ``EVENT_COLUMNS``; the visitor's name as ``user``'s role may see it."""
    visit = event.visit
    return [
        event.occurred_at,
        event.gate.name,
        str(Direction(event.direction).label),
        _("Granted") if event.granted else _("Refused"),
        str(Reason(event.reason).label),
        visitor_name_for(user, visit.visitor_name) if visit else "",
        visit.company.name if visit and visit.company else "",
    ]


# ---------------------------------------------------------------------------------------------
# Keyset pages


@dataclass(frozen=True)
class Page:
    """One page of records, with cursors to the others (None where there is no such page:
    no previous page on the first, no next page on the last)."""

    rows: list[Any]
    first: str
    previous: str | None
    next: str | None
    last: str

    @property
    def is_first(self) -> bool:
        return self.previous is None

    @property
    def is_last(self) -> bool:
        return self.next is None


# The moment each kind of record is ordered by (newest first, then id).
_ORDERED_BY: dict[type[Model], str] = {Visit: "valid_from", AccessEvent: "occurred_at"}


def _kind(queryset: QuerySet[Any]) -> tuple[str, str]:
    model = queryset.model
    if model not in _ORDERED_BY:
        raise TypeError(f"no keyset for {model.__name__}")
    return model._meta.label_lower, _ORDERED_BY[model]


def _encode(kind: str, where: str, moment: datetime | None = None, pk: int | None = None) -> str:
    position = [moment.isoformat(), pk] if moment is not None else []
    return signing.dumps([kind, where, *position], salt=_CURSOR_SALT)


def _bad_cursor() -> DomainError:
    return DomainError(
        "bad_cursor", _("This page link is not valid (any more). Start again from the first page.")
    )


def _decode(cursor: str, kind: str) -> tuple[str, datetime | None, int | None]:
    """(where, moment, id) of a cursor ``page_of`` made for this kind of record."""
    if len(cursor) > LONGEST_CURSOR or not cursor.isascii():
        raise _bad_cursor()
    try:
        value = signing.loads(cursor, salt=_CURSOR_SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(value, list) or len(value) < 2 or value[0] != kind:
        raise _bad_cursor()
    where = value[1]
    if where in ("first", "last") and len(value) == 2:
        return where, None, None
    if where not in ("after", "before") or len(value) != 4:
        raise _bad_cursor()
    moment = parse_datetime(value[2]) if isinstance(value[2], str) else None
    pk = value[3]
    if moment is None or timezone.is_naive(moment) or type(pk) is not int or pk < 1:
        raise _bad_cursor()
    return where, moment, pk


def page_of(queryset: QuerySet[Any], cursor: str | None, size: int) -> Page:
    """The page of ``queryset`` (from ``visit_records`` or ``event_records``, newest first)
    that ``cursor`` points at; the first page without one.

    Each page is one indexed query of at most ``size + 1`` rows: pages after a row read
    downwards from it; pages before a row, and the last page, read the reverse order upwards
    and are flipped. A cursor is signed, so a forged or damaged one is refused with
    ``DomainError("bad_cursor")`` rather than read."""
    if not 1 <= size <= LARGEST_PAGE:
        raise ValueError(f"page size {size} out of range")
    kind, field = _kind(queryset)
    where, moment, pk = _decode(cursor, kind) if cursor else ("first", None, None)
    newest_first = queryset.order_by(f"-{field}", "-id")
    oldest_first = queryset.order_by(field, "id")
    if where == "first":
        rows = list(newest_first[: size + 1])
        has_newer, has_older = False, len(rows) > size
        rows = rows[:size]
    elif where == "after":
        # The bound on the moment alone lets the index start at the cursor; the row
        # comparison then drops the rows of the same moment already shown.
        older = Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "id__lt": pk})
        rows = list(newest_first.filter(Q(**{f"{field}__lte": moment}) & older)[: size + 1])
        has_newer, has_older = True, len(rows) > size
        rows = rows[:size]
    elif where == "before":
        newer = Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "id__gt": pk})
        rows = list(oldest_first.filter(Q(**{f"{field}__gte": moment}) & newer)[: size + 1])
        has_newer, has_older = len(rows) > size, True
        rows = rows[:size][::-1]
    else:  # last
        rows = list(oldest_first[: size + 1])
        has_newer, has_older = len(rows) > size, False
        rows = rows[:size][::-1]

    def position(row: Any) -> tuple[datetime, int]:
        return getattr(row, field), row.pk

    return Page(
        rows=rows,
        first=_encode(kind, "first"),
        previous=_encode(kind, "before", *position(rows[0])) if rows and has_newer else None,
        next=_encode(kind, "after", *position(rows[-1])) if rows and has_older else None,
        last=_encode(kind, "last"),
    )
