"""The notification log: property admins see what was sent to whom (masked) and whether it
went out; in development, where nothing is really sent, the demo also shows each text."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

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
    for notification in page:
        # Texts hold one-time codes and links that open passes and approvals: a screen may
        # show them only where they never reached anyone's phone.
        notification.shown_text = (  # type: ignore[attr-defined]
            notification.text if sends_nothing(notification.channel) else ""
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
