"""The console's retention pages: how long the building keeps each class of personal data, and
a dry run of the job showing what it would anonymise today (property admins, ADR 0034)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from visit_platform.audit.actions import Actor
from visit_platform.directory.forms import add_domain_error
from visit_platform.directory.roles import MANAGE_RETENTION
from visit_platform.visits.choices import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, RetentionClass
from visit_platform.visits.retention import (
    apply_retention,
    change_retention_periods,
    retention_days,
)

HELP = {
    RetentionClass.ID_NUMBERS: _("Document numbers, their search keys and masked copies."),
    RetentionClass.PHOTOS: _("Photos taken at the desk and the scores of face comparisons."),
    RetentionClass.NAMES: _(
        "Visitors' names, mobiles and WeChat links; names given for a visit, on events' lists "
        "and in roll calls."
    ),
    RetentionClass.GATE_EVENTS: _(
        "Which visit and pass each gate event belongs to. The event itself (gate, time, "
        "direction, result, reason) is kept for the statistics."
    ),
    RetentionClass.MESSAGES: _("Recipients and texts of the messages sent."),
}


class RetentionForm(forms.Form):
    """Days per class; ``change_retention_periods`` checks the bounds."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for data_class in RetentionClass:
            self.fields[data_class.value] = forms.IntegerField(
                label=data_class.label,
                help_text=HELP[data_class],
                widget=forms.NumberInput(
                    attrs={"min": MIN_RETENTION_DAYS, "max": MAX_RETENTION_DAYS}
                ),
            )


def _building_days(request: HttpRequest) -> dict[str, int]:
    return retention_days(request.tenant.retention_days)  # type: ignore[attr-defined]


@console_view(MANAGE_RETENTION)
def retention_settings(request: HttpRequest) -> HttpResponse:
    """How long each class of personal data is kept after a visit ends."""
    form = RetentionForm(request.POST or None, initial=_building_days(request))
    if request.method == "POST" and form.is_valid():
        try:
            changed = change_retention_periods(Actor.from_request(request), form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if changed:
                messages.success(request, _("The retention periods are saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("visits:retention_settings")
    return render(
        request,
        "visits/retention_settings.html",
        {
            "section": "retention",
            "form": form,
            "lowest": MIN_RETENTION_DAYS,
            "highest": MAX_RETENTION_DAYS,
        },
        status=400 if form.errors else 200,
    )


@console_view(MANAGE_RETENTION)
def retention_preview(request: HttpRequest) -> HttpResponse:
    """What the job would anonymise if it ran now: counts and cut-offs, nothing changed."""
    runs = apply_retention(
        Actor.from_request(request),
        building_retention_days=request.tenant.retention_days,  # type: ignore[attr-defined]
        dry_run=True,
    )
    with timezone.override(building_zone(request)):
        return render(
            request, "visits/retention_preview.html", {"section": "retention", "runs": runs}
        )
