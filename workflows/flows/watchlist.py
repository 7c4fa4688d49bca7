"""The watchlist flow (黑名单, seed 5.2.6): a proposal to add a person, or to remove them,
waits in the property admins' queue; the review routes to the action that enforces, refuses,
removes or keeps the entry.

One flow for both kinds: ``process.data["kind"]`` is ``add`` or ``removal`` and the process's
artifact is the ``WatchlistEntry``. The console page completes the review task through
viewflow's activation API (``workflows.actions.watchlist.review``), inside one transaction
with the action the flow then calls, so a refused action (four eyes, someone faster) leaves
the task open and nothing changed.
"""

from __future__ import annotations

from typing import Any, Unpack

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy
from viewflow import this
from viewflow.workflow import STATUS, flow, lock
from viewflow.workflow.activation import Activation
from viewflow.workflow.models import Process, Task

from tenants.models import User
from visit_platform.audit.actions import Actor
from visit_platform.directory.roles import APPROVE_WATCHLIST
from visit_platform.visits import actions
from visit_platform.visits.actions import EntryFields
from visit_platform.visits.models import WatchlistEntry
from workflows.actions.requests import approve_watchlist_entry

ADD = "add"
REMOVAL = "removal"


def _review_page(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """The review is done on the console's watchlist page, not in viewflow's own views."""
    return redirect("visits:watchlist_list")


class WatchlistFlow(flow.Flow):
    """Propose → review by a property admin → enforce / refuse (adding), remove / keep
    (removal)."""

    process_title = gettext_lazy("Watchlist")
    lock_impl = lock.select_for_update_lock

    start = (
        flow.StartHandle(this.begin)
        .Annotation(title=gettext_lazy("Propose an entry"))
        .Next(this.review)
    )
    start_removal = (
        flow.StartHandle(this.begin_removal)
        .Annotation(title=gettext_lazy("Propose a removal"))
        .Next(this.review)
    )
    review = (
        flow.View(_review_page)
        .Annotation(title=gettext_lazy("Review the proposal"))
        .Permission(APPROVE_WATCHLIST)
        .Next(this.route)
    )
    route = (
        flow.Switch()
        .Annotation(title=gettext_lazy("Approved?"))
        .Case(this.enforce, this.adds_entry)
        .Case(this.refuse, this.refuses_entry)
        .Case(this.remove, this.removes_entry)
        .Default(this.keep)
    )
    enforce = (
        flow.Function(this.enforce_entry)
        .Annotation(title=gettext_lazy("Enforce the entry"))
        .Next(this.end)
    )
    refuse = (
        flow.Function(this.refuse_entry)
        .Annotation(title=gettext_lazy("Reject the proposal"))
        .Next(this.end)
    )
    remove = (
        flow.Function(this.remove_entry)
        .Annotation(title=gettext_lazy("Remove the entry"))
        .Next(this.end)
    )
    keep = (
        flow.Function(this.keep_entry)
        .Annotation(title=gettext_lazy("Keep the entry"))
        .Next(this.end)
    )
    end = flow.End().Annotation(title=gettext_lazy("Done"))

    # --- starts ---

    def begin(
        self, activation: Activation, actor: Actor, **fields: Unpack[EntryFields]
    ) -> WatchlistEntry:
        entry = actions.propose_watchlist_entry(actor, **fields)
        activation.process.artifact = entry
        activation.process.data = {"kind": ADD}
        return entry

    def begin_removal(
        self, activation: Activation, actor: Actor, entry: WatchlistEntry, reason: str
    ) -> WatchlistEntry:
        entry = actions.propose_watchlist_removal(actor, entry, reason=reason)
        activation.process.artifact = entry
        activation.process.data = {"kind": REMOVAL}
        return entry

    # --- routing ---

    @staticmethod
    def _approved(activation: Activation, kind: str) -> bool:
        data = activation.process.data
        return bool(data.get("kind") == kind and data.get("decision", {}).get("approve"))

    def adds_entry(self, activation: Activation) -> bool:
        return self._approved(activation, ADD)

    def refuses_entry(self, activation: Activation) -> bool:
        return activation.process.data.get("kind") == ADD and not self.adds_entry(activation)

    def removes_entry(self, activation: Activation) -> bool:
        return self._approved(activation, REMOVAL)

    # --- the actions ---

    @staticmethod
    def _decision(activation: Activation) -> tuple[Actor, WatchlistEntry, str]:
        decision = activation.process.data["decision"]
        user = User.objects.filter(pk=decision.get("user")).first()
        actor = Actor(user=user, ip_address=decision.get("ip"))
        entry = WatchlistEntry.objects.get(pk=activation.process.artifact_object_id)
        return actor, entry, str(decision.get("reason", ""))

    def enforce_entry(self, activation: Activation) -> None:
        actor, entry, reason = self._decision(activation)
        approve_watchlist_entry(actor, entry, reason=reason)

    def refuse_entry(self, activation: Activation) -> None:
        actor, entry, reason = self._decision(activation)
        actions.reject_watchlist_entry(actor, entry, reason=reason)

    def remove_entry(self, activation: Activation) -> None:
        actor, entry, reason = self._decision(activation)
        actions.approve_watchlist_removal(actor, entry, reason=reason)

    def keep_entry(self, activation: Activation) -> None:
        actor, entry, reason = self._decision(activation)
        actions.reject_watchlist_removal(actor, entry, reason=reason)


# --- Reads the console and the actions use ------------------------------------------------


def open_review(entry: WatchlistEntry, kind: str) -> Task | None:
    """The entry's review task of this kind still waiting for a reviewer, if any."""
    return (
        Task.objects.filter(
            flow_task=WatchlistFlow.review,
            status__in=(STATUS.NEW, STATUS.ASSIGNED),
            process__artifact_object_id=entry.pk,
            process__data__kind=kind,
        )
        .order_by("-pk")
        .first()
    )


def review_queue() -> list[int]:
    """Ids of the entries whose proposal waits for review (the property admins' queue)."""
    return list(
        Process.objects.filter(
            flow_class=WatchlistFlow,
            task__flow_task=WatchlistFlow.review,
            task__status__in=(STATUS.NEW, STATUS.ASSIGNED),
        ).values_list("artifact_object_id", flat=True)
    )
