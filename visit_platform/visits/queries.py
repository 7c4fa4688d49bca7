"""Reads about visitors and visits: the watchlist match and statuses, a visitor's own
visits, events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import F, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from kernel.phones import normalise_mobile
from kernel.privacy import blind_index, normalise_for_index
from visit_platform.access.choices import Direction
from visit_platform.access.models import AccessEvent, Pass
from visit_platform.directory.queries import managed_company_ids
from visit_platform.directory.roles import ORGANISE_EVENTS
from visit_platform.visits.choices import (
    ENFORCED_WATCHLIST_STATUSES,
    WATCHLIST_EXPIRED,
    VisitStatus,
)
from visit_platform.visits.models import (
    ID_NUMBER_INDEX,
    MOBILE_INDEX,
    Attendee,
    Event,
    Visit,
    Visitor,
    WatchlistEntry,
    WeChatLink,
    index_of_mobile,
    index_of_name,
)


def enforced_watchlist() -> QuerySet[WatchlistEntry]:
    """Entries that bite: approved, active, not expired."""
    now = timezone.now()
    return WatchlistEntry.objects.filter(is_active=True, approved_at__isnull=False).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def watchlist_condition(visitor: Visitor) -> Q | None:
    """The entries that would match this visitor, or None when nothing could. Names and
    mobiles are compared through their blind indexes (the visitor's are encrypted)."""
    condition = Q()
    if visitor.id_number_index:
        condition |= Q(id_number_index=visitor.id_number_index)
    if visitor.mobile:
        condition |= Q(mobile_index=index_of_mobile(visitor.mobile))
    if visitor.name and visitor.birth_date:
        condition |= Q(name_index=index_of_name(visitor.name), birth_date=visitor.birth_date)
    return condition if condition else None


# The same match as enforced_watchlist().filter(watchlist_condition(visitor)), as one SQL
# expression for the gate decision's single read (ADR 0005). It reads the visitor through
# the alias ``visitor`` of the enclosing query and takes one parameter: the time of the
# decision. tests/access/test_decision.py holds both to the same answers.
WATCHLISTED_SQL = """EXISTS (
    SELECT 1 FROM visits_watchlistentry entry
    WHERE entry.is_active AND entry.approved_at IS NOT NULL
      AND (entry.expires_at IS NULL OR entry.expires_at > %s)
      AND ((visitor.id_number_index <> '' AND entry.id_number_index = visitor.id_number_index)
        OR (visitor.mobile_index <> '' AND entry.mobile_index = visitor.mobile_index)
        OR (visitor.name_index <> '' AND visitor.birth_date IS NOT NULL
            AND entry.name_index = visitor.name_index
            AND entry.birth_date = visitor.birth_date)))"""


def is_watchlisted(visitor: Visitor) -> bool:
    condition = watchlist_condition(visitor)
    return condition is not None and enforced_watchlist().filter(condition).exists()


def visit_is_watchlisted(visit: Visit) -> bool:
    """Whether the visitor on file, or the name and mobile given for this visit where they
    differ (ADR 0012), match an enforced entry."""
    condition = watchlist_condition(visit.visitor) or Q(pk__in=[])
    if visit.contact_mobile:
        condition |= Q(mobile_index=index_of_mobile(visit.contact_mobile))
    if visit.contact_name and visit.visitor.birth_date:
        condition |= Q(
            name_index=index_of_name(visit.contact_name), birth_date=visit.visitor.birth_date
        )
    return enforced_watchlist().filter(condition).exists()


def watchlisted_visitors() -> QuerySet[Visitor]:
    """Visitors any enforced entry names (the same match, for the whole watchlist at once)."""
    entries = enforced_watchlist().values_list(
        "id_number_index", "mobile_index", "name_index", "birth_date"
    )
    indexes: set[str] = set()
    mobiles: set[str] = set()
    people = Q(pk__in=[])
    for id_number_index, entry_mobile, entry_name, birth_date in entries:
        if id_number_index:
            indexes.add(id_number_index)
        if entry_mobile:
            mobiles.add(entry_mobile)
        if entry_name and birth_date:
            people |= Q(name_index=entry_name, birth_date=birth_date)
    return Visitor.objects.filter(
        Q(id_number_index__in=indexes) | Q(mobile_index__in=mobiles) | people
    )


def visitors_matching(entry: WatchlistEntry) -> QuerySet[Visitor]:
    """Visitors this watchlist entry names."""
    condition = Q(pk__in=[])
    if entry.id_number_index:
        condition |= Q(id_number_index=entry.id_number_index)
    if entry.mobile:
        condition |= Q(mobile_index=index_of_mobile(entry.mobile))
    if entry.name and entry.birth_date:
        condition |= Q(name_index=index_of_name(entry.name), birth_date=entry.birth_date)
    return Visitor.objects.filter(condition)


@dataclass(frozen=True)
class Person:
    """Who a not-yet-recorded visitor is, as far as the watchlist match goes."""

    mobile: str = ""
    id_number_index: str = ""
    name: str = ""
    birth_date: date | None = None


def watchlisted_people(people: Iterable[Person]) -> set[Person]:
    """The people any enforced entry names: the same match as ``is_watchlisted``, for a whole
    list at once in one query (an event's attendees before any of them is recorded)."""
    people = list(people)
    mobiles = {index_of_mobile(person.mobile) for person in people if person.mobile}
    indexes = {person.id_number_index for person in people if person.id_number_index}
    names = {index_of_name(person.name) for person in people if person.name and person.birth_date}
    if not (mobiles or indexes or names):
        return set()
    entries = enforced_watchlist().filter(
        Q(mobile_index__in=mobiles)
        | Q(id_number_index__in=indexes)
        | Q(name_index__in=names, birth_date__isnull=False)
    )
    hit_mobiles: set[str] = set()
    hit_indexes: set[str] = set()
    hit_people: set[tuple[str, date]] = set()
    for id_number_index, entry_mobile, entry_name, birth_date in entries.values_list(
        "id_number_index", "mobile_index", "name_index", "birth_date"
    ):
        if id_number_index:
            hit_indexes.add(id_number_index)
        if entry_mobile:
            hit_mobiles.add(entry_mobile)
        if entry_name and birth_date:
            hit_people.add((entry_name, birth_date))
    return {
        person
        for person in people
        if (person.mobile and index_of_mobile(person.mobile) in hit_mobiles)
        or (person.id_number_index and person.id_number_index in hit_indexes)
        or (person.birth_date and (index_of_name(person.name), person.birth_date) in hit_people)
    }


def visible_events(user: Any) -> QuerySet[Event]:
    """Events the user may organise here: every one for property admins, their company's
    for company admins, none for anyone else."""
    if not user.has_perm(ORGANISE_EVENTS):
        return Event.objects.none()
    events = Event.objects.select_related("company")
    company_ids = managed_company_ids(user, ORGANISE_EVENTS)
    return events if company_ids is None else events.filter(company_id__in=company_ids)


def attendance(event: Event) -> QuerySet[Attendee]:
    """The event's attendees in file order, each with ``signed_in_at``: their first granted
    entry at a gate (a gate entry is the sign-in), or None."""
    first_entry = (
        AccessEvent.objects.filter(
            visit_id=OuterRef("visit_id"), granted=True, direction=Direction.IN
        )
        .order_by()
        .values("visit_id")
        .annotate(first=Min("occurred_at"))
        .values("first")
    )
    return (
        Attendee.objects.filter(event=event)
        .select_related("visit__visitor")
        .annotate(signed_in_at=Coalesce(Subquery(first_entry), F("visit__checked_in_at")))
        .order_by("line")
    )


def watchlist_shown_status(entry: WatchlistEntry, now: datetime | None = None) -> str:
    """The entry's status as people see it: an enforced entry past its end date is
    ``expired`` (it no longer bites; nothing has to happen for that)."""
    now = now or timezone.now()
    if (
        entry.status in ENFORCED_WATCHLIST_STATUSES
        and entry.expires_at is not None
        and entry.expires_at <= now
    ):
        return WATCHLIST_EXPIRED
    return str(entry.status)


def watchlist_with_status(status: str, now: datetime | None = None) -> QuerySet[WatchlistEntry]:
    """Entries shown under this status (``expired`` included); every entry for ``""``."""
    now = now or timezone.now()
    entries = WatchlistEntry.objects.all()
    lapsed = Q(expires_at__isnull=False, expires_at__lte=now)
    if status == WATCHLIST_EXPIRED:
        return entries.filter(lapsed, status__in=ENFORCED_WATCHLIST_STATUSES)
    if status in ENFORCED_WATCHLIST_STATUSES:
        return entries.filter(status=status).exclude(lapsed)
    if status:
        return entries.filter(status=status)
    return entries


def visits_of_mobile(mobile_index: str) -> QuerySet[Visit]:
    """The visits of every visitor with this mobile (by its blind index), in this building:
    what a visitor signed in to their own pages may see and act on. A visit made with a mobile
    other than its visitor's on file belongs to the mobile it was made with (ADR 0012). Drafts
    are not visits yet."""
    if not mobile_index:
        return Visit.objects.none()
    return (
        Visit.objects.filter(
            Q(contact_name="", visitor__mobile_index=mobile_index)
            | Q(contact_mobile_index=mobile_index)
        )
        .exclude(status=VisitStatus.DRAFT)
        .select_related("visitor", "host", "company")
    )


def visits_of_host_user(user_id: int | None) -> QuerySet[Visit]:
    """The visits a staff member has as a host: those of the employee their account is, and
    those they invited (for themselves, or on an employee's behalf). What My visitors lists
    and acts on. Drafts are not visits yet."""
    if not user_id:
        return Visit.objects.none()
    return (
        Visit.objects.filter(Q(host__user_id=user_id) | Q(invited_by_id=user_id))
        .exclude(status=VisitStatus.DRAFT)
        .select_related("visitor", "host__company")
    )


def visits_with_entries(visit_ids: Iterable[int]) -> set[int]:
    """Which of these visits had an entry taken at a gate with one of their passes: a
    visitor who has come is no longer an invitation to call off."""
    return set(
        Pass.objects.filter(visit_id__in=list(visit_ids), uses__gt=0).values_list(
            "visit_id", flat=True
        )
    )


def live_passes_of_mobile(mobile_index: str, now: datetime | None = None) -> QuerySet[Pass]:
    """The passes of this mobile's visits (``visits_of_mobile``) that still open the gate,
    now or later in their window: what 我的通行证 answers in WeChat, soonest first."""
    now = now or timezone.now()
    visits = visits_of_mobile(mobile_index).filter(
        status__in=[VisitStatus.APPROVED, VisitStatus.CHECKED_IN], valid_until__gt=now
    )
    return (
        Pass.objects.filter(visit__in=visits, revoked_at__isnull=True, valid_until__gt=now)
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .select_related("visit__host", "visit__company")
        .order_by("valid_from", "pk")
    )


# --- Visitors' WeChat -------------------------------------------------------------------------


def wechat_link_of(openid: str | None) -> WeChatLink | None:
    """The visitor's WeChat link of this openid in this building, if any."""
    if not openid:
        return None
    return WeChatLink.objects.filter(openid=openid).first()


def visit_mobile_index(visit: Visit) -> str:
    """The keyed hash of the mobile a visit's texts go to (``Visit.visitor_mobile``): the
    mobile given for the visit when it differs from the visitor's on file (ADR 0012)."""
    if visit.has_identity_conflict:
        return visit.contact_mobile_index
    visitor = visit.visitor
    if visitor.mobile_index:
        return visitor.mobile_index
    return blind_index(visitor.mobile, MOBILE_INDEX) if visitor.mobile else ""


def linked_openid(mobile_index: str) -> str:
    """The openid of the WeChat linked to this mobile in this building ("" when none), where
    the visitor's notices go first."""
    if not mobile_index:
        return ""
    link = WeChatLink.objects.filter(mobile_index=mobile_index).order_by("-linked_at").first()
    return link.openid if link is not None else ""


def known_mobile(mobile_index: str) -> str:
    """The number (E.164) behind a mobile's keyed hash, as a visitor or a visit of this
    building has it ("" when none has): for links made before the link kept the number
    itself (``WeChatLink.mobile``)."""
    if not mobile_index:
        return ""
    visitor = (
        Visitor.objects.filter(mobile_index=mobile_index).exclude(mobile="").order_by("-pk").first()
    )
    if visitor is not None:
        return visitor.mobile
    visit = (
        Visit.objects.filter(contact_mobile_index=mobile_index)
        .exclude(contact_mobile="")
        .order_by("-pk")
        .first()
    )
    return visit.contact_mobile if visit is not None else ""


# --- Finding a visit by who made it -----------------------------------------------------------

# Longer than any name, mobile or document number a desk would type.
MAX_SEARCH_LENGTH = 50
# Document numbers are letters and digits (a resident ID is 18, passports 6 to 20 or so).
_DOCUMENT_CHARACTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def visit_search(text: str) -> Q | None:
    """What the console's search box finds: visits whose visitor's full name is ``text`` (case
    and spaces aside: names are encrypted, so only a whole name can be found, through its
    blind index; ADR 0033), whose host's name contains ``text``, whose mobile (the visitor's
    on file, or the one given for the visit) is ``text``
    written any way (``normalise_mobile``), or whose visitor's document number is ``text``,
    matched through its blind index (the number itself is encrypted). None for an empty box;
    ``search_invalid`` for text no desk types (too long, control characters)."""
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_SEARCH_LENGTH:
        raise DomainError(
            "search_too_long",
            _("Search for at most %(limit)d characters: a name, a mobile or a document number.")
            % {"limit": MAX_SEARCH_LENGTH},
        )
    if not text.isprintable():
        raise DomainError("search_invalid", _("The search text has characters nobody types."))
    full_name = index_of_name(text)
    condition = (
        Q(visitor__name_index=full_name)
        | Q(contact_name_index=full_name)
        | Q(host__name__icontains=text)
    )
    mobile = _as_mobile(text)
    if mobile:
        index = index_of_mobile(mobile)
        condition |= Q(contact_name="", visitor__mobile_index=index) | Q(contact_mobile_index=index)
    document = normalise_for_index(text)
    if 6 <= len(document) <= 32 and set(document) <= _DOCUMENT_CHARACTERS:
        condition |= Q(visitor__id_number_index=blind_index(document, ID_NUMBER_INDEX))
    return condition


def _as_mobile(text: str) -> str:
    """``text`` as a mobile in E.164, or "" when it is not one (a name, a document number)."""
    if not any(character.isdigit() for character in text):
        return ""
    try:
        return normalise_mobile(text)
    except DomainError:
        return ""
