"""The details of an audit entry (and of a flow step) in words: each key's label and each
value as people say it (yes/no, a step's title, a status's name, a local time), never a raw
``key=value`` dump.

The codes stay in the database. Key labels live here; the names of values that other
packages own (a visit's scenario, a flow's steps) are registered by the layer that knows
them (``workflows.audit_words``), since the audit package imports no other domain package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

DETAIL_LABELS: dict[str, Promise] = {
    "after": _("After"),
    "agent": _("Gate agent"),
    "appid": _("WeChat AppID"),
    "approved_by": _("Approved by"),
    "approver": _("Approver"),
    "bad": _("Rows with errors"),
    "before": _("Before"),
    "building": _("Building"),
    "by": _("Compared by"),
    "changed": _("Changed"),
    "changes": _("Changes"),
    "channel": _("Channel"),
    "checked_by_eye": pgettext_lazy("a yes/no detail", "Checked by eye"),
    "checks_zone": _("Checks the zone"),
    "cleared": _("Cleared"),
    "command": _("Command"),
    "company": _("Company"),
    "company_ids": _("Companies"),
    "consents": _("Consents"),
    "controller": _("Controller"),
    "cool_off_seconds": _("Paused for (seconds)"),
    "count": _("Count"),
    "counts": _("Records anonymised"),
    "cutoff": _("Cut-off"),
    "created": _("Created"),
    "date": _("Date"),
    "data_class": _("Data"),
    "days": _("Days"),
    "day_end": _("End of day"),
    "decision": _("Decision"),
    "denied_only": _("Refused entries only"),
    "direction": _("Direction"),
    "down_since": _("Down since"),
    "due": _("Answer due by"),
    "email": _("Email"),
    "end": _("Last day"),
    "entries": _("Entries"),
    "error": _("Error"),
    "error_code": _("Error code"),
    "event": _("Event"),
    "event_id": _("Access event"),
    "events": _("Events"),
    "expires_at": _("Expires"),
    "face_consent": _("Consent to the face comparison"),
    "face_match_score": _("Face match"),
    "failures": _("Failed attempts"),
    "field": _("Field"),
    "fields": _("Fields"),
    "filename": _("File"),
    "form": _("Form"),
    "format": _("Format"),
    "gate_ids": _("Gates"),
    "full_names": _("Full names shown"),
    "gate_passages": _("Gate passages"),
    "generated": _("Generated"),
    "gate_events": _("Who passed the gates"),
    "good": _("Good rows"),
    "handed_over": _("Handed over as"),
    "host": _("Host"),
    "host_consent": _("Host agreed"),
    "host_ids": _("Hosts"),
    "id_numbers": _("ID numbers"),
    "hosts": _("Hosts"),
    "id_number": _("ID number"),
    "identity_check": _("Identity check"),
    "inside": _("Inside now"),
    "instead_of": _("Instead of message"),
    "invited": _("Invited"),
    "invited_by": _("Invited by"),
    "is_active": _("Active"),
    "kept": _("Kept"),
    "key_id": _("Key"),
    "kind": _("Kind"),
    "lane": _("Lane"),
    "left_out": _("Left out"),
    "last_error": _("Last error"),
    "links": _("Links"),
    "locked": _("Paused"),
    "max_uses": _("Entries allowed"),
    "memberships": _("Roles"),
    "messages": _("Messages"),
    "mobile_differs": _("Mobile differs"),
    "mode": _("Decided by"),
    "model": _("Model"),
    "moved": _("Moved from another mobile"),
    "name": _("Name"),
    "names": _("Names and mobiles"),
    "name_differs": _("Name differs"),
    "new_accounts": _("New accounts"),
    "new_end": _("New end"),
    "note": _("Note"),
    "noted_at": _("Noted at"),
    "offline_since": _("Offline since"),
    "outcome": _("Outcome"),
    "overstay_noted_at": _("Overstay noted at"),
    "part": _("Part"),
    "pass_id": _("Pass"),
    "passes": _("Passes"),
    "passes_revoked": _("Passes revoked"),
    "people": _("People"),
    "person_searched": _("Person looked up"),
    "photos": _("Photos and face matches"),
    "port": _("Port"),
    "previous": _("Before"),
    "previous_agent": _("Previous gate agent"),
    "previous_end": _("Previous end"),
    "privacy": _("Privacy"),
    "purpose": _("Purpose"),
    "query": _("Search"),
    "reason": _("Reason"),
    "reasons": _("Reasons"),
    "registered_by": _("Registered by"),
    "replaced": _("Replaced"),
    "requests": _("Requests"),
    "restored_from": _("Restored from version"),
    "result": _("Result"),
    "role": _("Role"),
    "rows": _("Rows"),
    "scenario": _("Scenario"),
    "scenarios": _("Scenarios"),
    "score": _("Score"),
    "shown": _("Shown"),
    "silent_since": _("Silent since"),
    "since": _("Since"),
    "size": _("Size"),
    "skipped": _("Skipped"),
    "source": _("Exported"),
    "start": _("First day"),
    "status": _("Status"),
    "statuses": _("Statuses"),
    "step": _("Step"),
    "still_revoked": _("Still without their role"),
    "stored": _("Stored"),
    "tab": _("Tab"),
    "tasks_handed_back": _("Tasks handed back"),
    "terminal": _("Visitor terminal"),
    "to": _("To"),
    "typed": _("Typed"),
    "unchanged": _("Unchanged"),
    "updated": _("Updated"),
    "username": _("Account"),
    "vendor": _("Vendor"),
    "version": _("Version"),
    "via": _("Via"),
    "view": _("View"),
    "visit": _("Visit"),
    "visitor_records": _("Visitor records"),
    "visitors": _("Visitors"),
    "visits": _("Visits"),
    "visits_refused": _("Visits refused"),
    "watchlist_entries": _("Watchlist entries"),
    "watchlist_entry": _("Watchlist entry"),
    "wechat_unbound": _("WeChat unbound"),
    "window_ended": _("Visit window ended"),
    "window_seconds": _("Window (seconds)"),
    "word_of": _("On the word of"),
    "zone": _("Zone"),
    "zones": _("Zones"),
}

# Values that mean the same under every key.
_COMMON_VALUES: dict[str, Promise] = {
    "wechat": _("WeChat"),
    "sms": _("Text message"),
    "slip": _("Printed slip"),
    "link": _("Link"),
    "page": _("Page"),
    "pdf": _("PDF"),
    "account": _("Account"),
    "client": _("Device"),
    "user_left": _("The person left"),
    "wechat_staff_page": _("WeChat staff page"),
}

_VALUE_LABELS: dict[str, dict[str, str | Promise]] = {}


def name_values(key: str, labels: Iterable[tuple[str, str | Promise]]) -> None:
    """Register what a key's codes are called (``("scenario", Scenario.choices)``); called
    by the package that owns the codes when the app starts."""
    _VALUE_LABELS.setdefault(key, {}).update(dict(labels))


def detail_label(key: str, object_type: str = "") -> str:
    """A key's label; for a key named only by the changed object's model (a policy's
    settings), that field's verbose name; else the key made readable."""
    if key in DETAIL_LABELS:
        return str(DETAIL_LABELS[key])
    if object_type:
        try:
            model = apps.get_model(object_type)
            return str(model._meta.get_field(key).verbose_name).capitalize()
        except (LookupError, ValueError, FieldDoesNotExist, AttributeError):
            pass
    return key.replace("_", " ").capitalize()


def detail_value(key: str, value: object, object_type: str = "") -> str:
    """A value as people read it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list | tuple):
        separator = pgettext("between the items of a list", ", ")
        return separator.join(detail_value(key, item) for item in value) if value else "—"
    if isinstance(value, Mapping):
        return "; ".join(f"{label}: {text}" for label, text in describe(value, object_type))
    if isinstance(value, str):
        named = _VALUE_LABELS.get(key, {}).get(value) or _COMMON_VALUES.get(value)
        if named is not None:
            return str(named)
        moment = _moment(value)
        if moment is not None:
            return format_date(timezone.localtime(moment), "Y-m-d H:i")
    return str(value)


def describe(detail: Mapping[str, object], object_type: str = "") -> list[tuple[str, str]]:
    """The detail as ``(label, value)`` pairs, in the order written."""
    return [
        (detail_label(key, object_type), detail_value(key, value, object_type))
        for key, value in detail.items()
    ]


def _moment(text: str) -> datetime | None:
    if len(text) < 16 or text[4:5] != "-" or "T" not in text:
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment
