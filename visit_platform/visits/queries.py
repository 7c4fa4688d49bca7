"""Reads about visitors and visits: the watchlist match, a visitor's own visits."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit, Visitor, WatchlistEntry


def enforced_watchlist() -> QuerySet[WatchlistEntry]:
    """Entries that bite: approved, active, not expired."""
    now = timezone.now()
    return WatchlistEntry.objects.filter(is_active=True, approved_at__isnull=False).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def watchlist_condition(visitor: Visitor) -> Q | None:
    """The entries that would match this visitor, or None when nothing could."""
    condition = Q()
    if visitor.id_number_index:
        condition |= Q(id_number_index=visitor.id_number_index)
    if visitor.mobile:
        condition |= Q(mobile=visitor.mobile)
    if visitor.name and visitor.birth_date:
        condition |= Q(name=visitor.name, birth_date=visitor.birth_date)
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
        OR (visitor.mobile <> '' AND entry.mobile = visitor.mobile)
        OR (visitor.name <> '' AND visitor.birth_date IS NOT NULL
            AND entry.name = visitor.name AND entry.birth_date = visitor.birth_date)))"""


def is_watchlisted(visitor: Visitor) -> bool:
    condition = watchlist_condition(visitor)
    return condition is not None and enforced_watchlist().filter(condition).exists()


def watchlisted_visitors() -> QuerySet[Visitor]:
    """Visitors any enforced entry names (the same match, for the whole watchlist at once)."""
    entries = enforced_watchlist().values_list("id_number_index", "mobile", "name", "birth_date")
    indexes: set[str] = set()
    mobiles: set[str] = set()
    people = Q(pk__in=[])
    for id_number_index, mobile, name, birth_date in entries:
        if id_number_index:
            indexes.add(id_number_index)
        if mobile:
            mobiles.add(mobile)
        if name and birth_date:
            people |= Q(name=name, birth_date=birth_date)
    return Visitor.objects.filter(Q(id_number_index__in=indexes) | Q(mobile__in=mobiles) | people)


def visitors_matching(entry: WatchlistEntry) -> QuerySet[Visitor]:
    """Visitors this watchlist entry names."""
    condition = Q(pk__in=[])
    if entry.id_number_index:
        condition |= Q(id_number_index=entry.id_number_index)
    if entry.mobile:
        condition |= Q(mobile=entry.mobile)
    if entry.name and entry.birth_date:
        condition |= Q(name=entry.name, birth_date=entry.birth_date)
    return Visitor.objects.filter(condition)


def visits_of_mobile(mobile_index: str) -> QuerySet[Visit]:
    """The visits of every visitor with this mobile (by its blind index), in this building:
    what a visitor signed in to their own pages may see and act on. Drafts are not visits yet."""
    if not mobile_index:
        return Visit.objects.none()
    return (
        Visit.objects.filter(visitor__mobile_index=mobile_index)
        .exclude(status=VisitStatus.DRAFT)
        .select_related("visitor", "host", "company")
    )
