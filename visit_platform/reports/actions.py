"""The reports' writes: viewing records (an audit entry) and saving or deleting a filter."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, DomainError, NotFoundError
from tenants.models import User
from visit_platform.audit.actions import Actor, record
from visit_platform.reports.choices import RecordsTab
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.models import LONGEST_FILTER_NAME, SavedFilter

# Enough for the views a person comes back to; a list longer than this is not read.
MOST_SAVED_FILTERS = 20


def note_records_viewed(
    actor: Actor, report_filter: ReportFilter, *, tab: str, rows: int, full_names: bool
) -> None:
    """Audit a view of the records, which show personal data: which tab, how many rows, and
    the filter (a person looked up is recorded as looked up, never as their number)."""
    record(
        actor,
        "records.viewed",
        None,
        tab=tab,
        rows=rows,
        **({"full_names": True} if full_names else {}),
        **report_filter.as_detail(),
    )


@transaction.atomic
def save_filter(
    actor: Actor, user: User, *, name: str, tab: str, report_filter: ReportFilter
) -> SavedFilter:
    """Keep ``report_filter`` under ``name`` for ``user`` in this building.

    Names are unique per user; a user keeps at most ``MOST_SAVED_FILTERS``. A filter that
    looks a person up is refused: it would store their mobile or ID number."""
    name = " ".join(name.split())
    if not name:
        raise DomainError("name_required", _("Give the filter a name."), field="name")
    if len(name) > LONGEST_FILTER_NAME or not name.isprintable():
        raise DomainError(
            "name_invalid",
            _("A filter's name is at most %(limit)d characters, without control characters.")
            % {"limit": LONGEST_FILTER_NAME},
            field="name",
        )
    if tab not in RecordsTab.values:
        raise DomainError("tab_invalid", _("Unknown records tab."))
    if report_filter.person:
        raise DomainError(
            "person_not_saved",
            _("A filter that looks a person up is not saved: it would keep their number."),
        )
    # Lock the user's filters, so two saves at once cannot both pass the count.
    mine = list(SavedFilter.objects.select_for_update().filter(user=user).values_list("name"))
    if len(mine) >= MOST_SAVED_FILTERS:
        raise ConflictError(
            "too_many_saved_filters",
            _("You can keep at most %(limit)d filters: delete one first.")
            % {"limit": MOST_SAVED_FILTERS},
        )
    taken = _("You already have a filter called “%(name)s”.") % {"name": name}
    if any(existing.casefold() == name.casefold() for (existing,) in mine):
        raise ConflictError("name_taken", taken, field="name")
    try:
        with transaction.atomic():
            saved = SavedFilter.objects.create(
                user=user, name=name, tab=tab, query=report_filter.as_query()
            )
    except IntegrityError:
        raise ConflictError("name_taken", taken, field="name") from None
    record(actor, "records.filter_saved", saved, name=name, tab=tab, **report_filter.as_detail())
    return saved


def saved_filter_of(user: User, filter_id: int) -> SavedFilter:
    """One of ``user``'s own saved filters; anyone else's is "not found"."""
    saved = SavedFilter.objects.filter(user=user, pk=filter_id).first()
    if saved is None:
        raise NotFoundError("saved_filter_not_found", _("You have no such saved filter."))
    return saved


@transaction.atomic
def delete_filter(actor: Actor, user: User, filter_id: int) -> None:
    """Delete one of ``user``'s saved filters (only their own)."""
    saved = saved_filter_of(user, filter_id)
    record(actor, "records.filter_deleted", saved, name=saved.name, tab=saved.tab)
    saved.delete()
