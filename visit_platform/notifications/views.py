"""The notification log: property admins see what was sent to whom (masked) and whether it
went out; in development, where nothing is really sent, the demo also shows each text."""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urlsplit

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from integrations.sms.messenger import sends_nothing
from kernel.console import console_view
from visit_platform.directory.roles import VIEW_NOTIFICATIONS
from visit_platform.notifications.choices import Status
from visit_platform.notifications.models import Notification

PAGE_SIZE = 50


@console_view(VIEW_NOTIFICATIONS)
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = Notification.objects.all()
    status = request.GET.get("status", "")
    if status in Status.values:
        notifications = notifications.filter(status=status)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    own_hosts = set(request.tenant.domains.values_list("domain", flat=True))  # type: ignore[attr-defined]
    for notification in page:
        # Texts hold one-time codes and links that open passes and approvals: a screen may
        # show them only where they never reached anyone's phone.
        notification.shown_text = (  # type: ignore[attr-defined]
            linked_text(notification.text, own_hosts) if sends_nothing(notification.channel) else ""
        )
    return render(
        request,
        "notifications/notification_list.html",
        {
            "section": "notifications",
            "page": page,
            "status": status,
            "statuses": Status.choices,
            "outbox_only": sends_nothing("sms"),
        },
    )


# An address as texts carry it: ASCII only, so Chinese text right after a link is not taken
# into it; punctuation that ends a sentence is left out below.
_ADDRESS = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+", re.IGNORECASE)
_TRAILING = ".,;:!?"


def linked_text(text: str, own_hosts: Collection[str]) -> SafeString:
    """The text, escaped, with line breaks kept and its http(s) addresses on the building's
    own domains made into links, so the demo's texted links open with a click. Any other
    address (a name typed by a visitor can look like one) stays plain text."""
    parts: list[str] = []
    last = 0
    for found in _ADDRESS.finditer(text):
        address = found.group(0).rstrip(_TRAILING)
        end = found.start() + len(address)
        parts.append(escape(text[last : found.start()]))
        if _is_own_address(address, own_hosts):
            parts.append(
                format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', address, address)
            )
        else:
            parts.append(escape(address))
        last = end
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))  # noqa: S308 - every part escaped


def _is_own_address(address: str, own_hosts: Collection[str]) -> bool:
    try:
        parts = urlsplit(address)
        _port = parts.port  # a port that is no number is no address of ours
    except ValueError:
        return False
    return (
        parts.scheme.lower() in {"http", "https"}
        and parts.username is None
        and parts.password is None
        and (parts.hostname or "") in own_hosts
    )
