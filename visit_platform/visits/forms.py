"""Console forms for the watchlist. They shape input; the actions validate and decide."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from visit_platform.visits.actions import MAX_REVIEW_REASON, MAX_WATCHLIST_REASON
from visit_platform.visits.choices import DocumentType


class WatchlistProposalForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=100, required=False)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    mobile = forms.CharField(label=_("Mobile"), max_length=32, required=False)
    id_type = forms.ChoiceField(
        label=_("Document type"),
        required=False,
        choices=[("", "—"), *DocumentType.choices],
    )
    id_number = forms.CharField(label=_("Document number"), max_length=40, required=False)
    expires_on = forms.DateField(
        label=_("Enforced until"),
        required=False,
        help_text=_("Leave empty to keep the entry until it is removed."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=MAX_WATCHLIST_REASON,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Seen only by security and property admins."),
    )

    def action_arguments(self, zone: ZoneInfo) -> dict[str, Any]:
        """What the proposal action takes: an end date means enforced through that whole day
        in the building's time zone."""
        data = dict(self.cleaned_data)
        expires_on = data.pop("expires_on")
        data["expires_at"] = (
            datetime.combine(expires_on + timedelta(days=1), time.min, zone) if expires_on else None
        )
        return data


class WatchlistReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        error_messages={"invalid_choice": _("Choose to approve or to reject.")},
    )
    # The status the reviewer saw: a decision never lands on a later proposal by mistake.
    stage = forms.CharField(max_length=20)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=MAX_REVIEW_REASON,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required to reject."),
    )


class WatchlistRemovalForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for removal"),
        max_length=MAX_REVIEW_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
