"""Console pages of the watchlist (黑名单): the list, proposing an entry or its removal, and
the review. Security and property admins only; identifiers are masked, and showing them
unmasked is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile, mask_name
from visit_platform.audit.actions import Actor
from visit_platform.directory.forms import add_domain_error
from visit_platform.directory.roles import APPROVE_WATCHLIST, PROPOSE_WATCHLIST, VIEW_WATCHLIST
from visit_platform.visits.actions import note_watchlist_viewed
from visit_platform.visits.choices import WATCHLIST_EXPIRED, WatchlistStatus
from visit_platform.visits.forms import (
    WatchlistProposalForm,
    WatchlistRemovalForm,
    WatchlistReviewForm,
)
from visit_platform.visits.models import WatchlistEntry
from visit_platform.visits.queries import watchlist_shown_status, watchlist_with_status
from workflows.actions import watchlist as watchlist_actions

PAGE_SIZE = 50
STATUS_BADGES = {
    WatchlistStatus.PROPOSED: "warn",
    WatchlistStatus.ENFORCED: "bad",
    WatchlistStatus.REMOVAL_PROPOSED: "warn",
    WatchlistStatus.REJECTED: "",
    WatchlistStatus.REMOVED: "",
    WATCHLIST_EXPIRED: "",
}
REVIEWABLE = (WatchlistStatus.PROPOSED, WatchlistStatus.REMOVAL_PROPOSED)


def _status_label(status: str) -> str:
    """Looked up when shown, so that the label is in the reader's language."""
    return _("Expired") if status == WATCHLIST_EXPIRED else str(WatchlistStatus(status).label)


def _masked_birth_date(entry: WatchlistEntry) -> str:
    return f"{entry.birth_date.year}-**-**" if entry.birth_date else ""


def _row(entry: WatchlistEntry, now: Any) -> dict[str, Any]:
    status = watchlist_shown_status(entry, now)
    return {
        "entry": entry,
        "name": mask_name(entry.name),
        "mobile": mask_mobile(display_mobile(entry.mobile)) if entry.mobile else "",
        "birth_date": _masked_birth_date(entry),
        "id_number": entry.id_number_masked,
        "status": status,
        "status_label": _status_label(status),
        "badge": STATUS_BADGES.get(status, ""),
    }


def _entry_or_404(pk: int) -> WatchlistEntry:
    entry = (
        WatchlistEntry.objects.select_related(
            "proposed_by", "approved_by", "reviewed_by", "removal_proposed_by"
        )
        .filter(pk=pk)
        .first()
    )
    if entry is None:
        raise Http404
    return entry


@console_view(VIEW_WATCHLIST)
def watchlist_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in STATUS_BADGES:
        status = ""
    now = timezone.now()
    entries = watchlist_with_status(status, now).select_related("proposed_by")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    note_watchlist_viewed(
        Actor.from_request(request), None, entries=len(page.object_list), status=status
    )
    waiting = 0
    if request.user.has_perm(APPROVE_WATCHLIST):
        waiting = WatchlistEntry.objects.filter(status__in=REVIEWABLE).count()
    with timezone.override(building_zone(request)):
        return render(
            request,
            "visits/watchlist_list.html",
            {
                "section": "watchlist",
                "page": page,
                "rows": [_row(entry, now) for entry in page.object_list],
                "status": status,
                "statuses": [(code, _status_label(code)) for code in STATUS_BADGES],
                "waiting": waiting,
                "can_propose": request.user.has_perm(PROPOSE_WATCHLIST),
            },
        )


@console_view(PROPOSE_WATCHLIST)
def watchlist_propose(request: HttpRequest) -> HttpResponse:
    form = WatchlistProposalForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                entry = watchlist_actions.propose_entry(
                    Actor.from_request(request), **form.action_arguments(building_zone(request))
                )
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                messages.success(
                    request,
                    _("Proposed. A property admin reviews it; until then nothing is enforced."),
                )
                return redirect("visits:watchlist_detail", pk=entry.pk)
    return render(
        request,
        "visits/watchlist_form.html",
        {"section": "watchlist", "form": form},
        status=status,
    )


def _detail(
    request: HttpRequest,
    entry: WatchlistEntry,
    *,
    review_form: WatchlistReviewForm | None = None,
    removal_form: WatchlistRemovalForm | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    reveal = request.GET.get("reveal") == "1"
    if reveal:
        note_watchlist_viewed(Actor.from_request(request), entry)
    now = timezone.now()
    row = _row(entry, now)
    can_review = request.user.has_perm(APPROVE_WATCHLIST) and entry.status in REVIEWABLE
    # Four eyes: the page does not offer approval to the person who proposed.
    proposer_id = (
        entry.removal_proposed_by_id
        if entry.status == WatchlistStatus.REMOVAL_PROPOSED
        else entry.proposed_by_id
    )
    with timezone.override(building_zone(request)):
        return render(
            request,
            "visits/watchlist_detail.html",
            {
                "section": "watchlist",
                "entry": entry,
                "row": row,
                "reveal": reveal,
                "unmasked_mobile": display_mobile(entry.mobile) if reveal and entry.mobile else "",
                "can_review": can_review,
                "own_proposal": proposer_id is not None and proposer_id == request.user.pk,
                "can_propose_removal": request.user.has_perm(PROPOSE_WATCHLIST)
                and row["status"] == WatchlistStatus.ENFORCED,
                "review_form": review_form or WatchlistReviewForm(initial={"stage": entry.status}),
                "removal_form": removal_form or WatchlistRemovalForm(),
                "problem": problem,
            },
            status=status,
        )


@console_view(VIEW_WATCHLIST)
def watchlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _entry_or_404(pk))


@require_POST
@console_view(APPROVE_WATCHLIST)
def watchlist_review(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_or_404(pk)
    form = WatchlistReviewForm(request.POST)
    if not form.is_valid():
        return _detail(request, entry, review_form=form, status=400)
    if form.cleaned_data["stage"] != entry.status:
        return _detail(
            request,
            entry,
            problem=_("Someone else has already decided this: the entry is now %(status)s.")
            % {"status": _status_label(watchlist_shown_status(entry))},
            status=409,
        )
    approve = form.cleaned_data["decision"] == "approve"
    try:
        entry = watchlist_actions.review(
            Actor.from_request(request),
            entry,
            approve=approve,
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        entry.refresh_from_db()
        if error.details.get("field") == "reason":
            add_domain_error(form, error)
            return _detail(request, entry, review_form=form, status=error.status)
        return _detail(request, entry, problem=error.message, status=error.status)
    messages.success(
        request,
        _("Decided: the entry is now %(status)s.")
        % {"status": _status_label(watchlist_shown_status(entry))},
    )
    return redirect("visits:watchlist_detail", pk=entry.pk)


@require_POST
@console_view(PROPOSE_WATCHLIST)
def watchlist_propose_removal(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_or_404(pk)
    form = WatchlistRemovalForm(request.POST)
    if not form.is_valid():
        return _detail(request, entry, removal_form=form, status=400)
    try:
        entry = watchlist_actions.propose_removal(
            Actor.from_request(request), entry, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        entry.refresh_from_db()
        return _detail(request, entry, problem=error.message, status=error.status)
    messages.success(
        request, _("Removal proposed. The entry stays enforced until a property admin approves.")
    )
    return redirect("visits:watchlist_detail", pk=entry.pk)
