"""The operator's notice on every admin page while the platform holds face data of at least
the alert threshold's number of people (ADR 0036)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from tenants.db import current_schema
from tenants.models import FaceRecordCensus

register = template.Library()


@register.simple_tag(takes_context=True)
def face_records_notice(context: dict[str, Any]) -> SafeString | str:
    """A warning line for the operator (a superuser on the public site), from the latest
    census; nothing otherwise."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_superuser or current_schema() != "public":
        return ""
    census = FaceRecordCensus.objects.order_by("-counted_at", "-pk").first()
    if census is None or not census.over_threshold:
        return ""
    return format_html(
        '<ul class="messagelist"><li class="warning" data-test="face-records-notice">'
        '{} <a href="{}">{}</a></li></ul>',
        _(
            "The platform holds face data of %(total)s people (counted %(at)s), at or over "
            "the alert threshold of %(threshold)s. The 2025 face-recognition rules ask for a "
            "filing with the cyberspace authority at 100,000."
        )
        % {
            "total": census.total,
            "threshold": census.threshold,
            "at": census.counted_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
        reverse("admin:tenants_facerecordcensus_change", args=[census.pk]),
        _("See the numbers by building"),
    )
