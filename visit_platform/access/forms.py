"""Console forms for controllers and gates. They shape input; the actions validate."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.modbus.register_map import (
    GENERIC_TURNSTILE,
    RegisterMapError,
    parse_register_map_text,
    shipped_map,
)
from visit_platform.access.choices import GateDirection
from visit_platform.access.models import Controller, GateAgent


def generic_map_text() -> str:
    return json.dumps(shipped_map(GENERIC_TURNSTILE), indent=2, ensure_ascii=False)


class ControllerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    host = forms.CharField(
        label=_("Host"),
        max_length=255,
        help_text=_("The controller's address on the building LAN."),
    )
    port = forms.IntegerField(label=_("Port"), initial=502)
    device_id = forms.IntegerField(label=_("Device id"), initial=1)
    poll_interval_ms = forms.IntegerField(
        label=_("Poll interval (ms)"),
        initial=200,
        help_text=_("How often the gate agent reads the passage counters."),
    )
    agent = forms.ModelChoiceField(
        label=_("Gate agent"),
        queryset=GateAgent.objects.filter(is_active=True),
        required=False,
        empty_label=_("The first gate agent that syncs"),
    )
    register_map = forms.CharField(
        label=_("Register map (JSON)"),
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
        help_text=_("Which coil opens each lane and which registers count passages."),
    )
    is_active = forms.BooleanField(label=_("In service"), required=False, initial=True)

    def clean_register_map(self) -> Any:
        """Checked by the same validator the gate agent uses: the message names the field."""
        text = self.cleaned_data["register_map"]
        try:
            parse_register_map_text(text)
        except RegisterMapError as error:
            raise forms.ValidationError(
                _("The register map is not valid: %(problems)s"), params={"problems": error}
            ) from error
        return json.loads(text)


class GateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    zone = forms.CharField(label=_("Zone"), max_length=100, required=False)
    checks_zone = forms.BooleanField(
        label=_("Only passes for this zone"),
        required=False,
        help_text=_(
            "Ticked: only passes that name this zone open the gate (a floor's turnstile). "
            "Unticked: a common area (lobby, car park) that every valid pass opens."
        ),
    )
    direction = forms.ChoiceField(label=_("Direction"), choices=GateDirection.choices)
    is_active = forms.BooleanField(label=_("In service"), required=False, initial=True)
    controller = forms.ModelChoiceField(
        label=_("Controller"), queryset=Controller.objects.all(), required=False
    )
    lane = forms.IntegerField(
        label=_("Lane"),
        required=False,
        min_value=1,
        max_value=255,
        help_text=_("The lane in the controller's register map."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("controller") is not None and cleaned.get("lane") is None:
            self.add_error("lane", _("Choose the lane this gate is wired to."))
        return cleaned


class SecuritySettingsForm(forms.Form):
    """The security desk's building settings; ``change_security_settings`` checks the ranges."""

    overstay_grace_minutes = forms.IntegerField(
        label=_("Overstay grace (minutes)"),
        help_text=_("A visitor still inside this long after their visit ended is an overstay."),
    )
    overstay_escalation_minutes = forms.IntegerField(
        label=_("Alert security after (minutes)"),
        help_text=_(
            "An overstay nobody answered (visitor still inside, visit not extended) this long "
            "after the host was told becomes an alert for security."
        ),
    )
    overstay_tells_visitor = forms.BooleanField(
        label=_("Also text the visitor that their visit has ended"), required=False
    )
    day_end_time = forms.TimeField(
        label=_("End of day"),
        input_formats=["%H:%M"],
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        help_text=_("Visitors not seen leaving are checked out at this local time."),
    )
    gate_silence_seconds = forms.IntegerField(
        label=_("Gate silence alert (seconds)"),
        help_text=_("A gate agent or controller silent this long raises an alert."),
    )
    denial_burst_count = forms.IntegerField(
        label=_("Refusals that make a burst"),
        help_text=_("This many refusals at one gate within the burst window raise an alert."),
    )
    denial_burst_seconds = forms.IntegerField(label=_("Burst window (seconds)"))
