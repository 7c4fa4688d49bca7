"""The pass reached from WeChat: a host's invitation forwarded as a share card (5.2.1) and an
event's code (5.2.5) lead the visitor to their pass, with a new link made for them (as My
visits does: only hashes of links are kept); the host may also send the pass by SMS again."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import GoneError, NotFoundError, RateLimitedError
from visit_platform.access.actions import pass_url, renew_pass_link
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.notifications.actions import in_building_language, send_notification
from visit_platform.notifications.choices import Channel, Purpose
from visit_platform.notifications.models import Notification
from visit_platform.visits.actions import link_wechat_by_invitation
from visit_platform.visits.choices import ADMITTING_STATUSES
from visit_platform.visits.models import Attendee, Event, Visit
from visit_platform.visits.queries import visits_of_mobile
from workflows.actions.steps import PASS_LINK_TEXT

# The host's "send by SMS" at most once a minute per visit: texts cost money and annoy.
RESEND_INTERVAL = timedelta(minutes=1)


def usable_pass(visit: Visit) -> Pass | None:
    """The visit's pass that can still be used (not revoked, window not over), if any, while
    the visit admits its visitor."""
    if visit.status not in ADMITTING_STATUSES:
        return None
    return (
        Pass.objects.filter(visit=visit, revoked_at__isnull=True, valid_until__gt=timezone.now())
        .order_by("-created_at", "-pk")
        .first()
    )


def _pass_or_gone(visit: Visit) -> Pass:
    pass_record = usable_pass(visit)
    if pass_record is None:
        raise GoneError("pass_unusable", _("This visit has no pass that can be used."))
    return pass_record


@transaction.atomic
def open_invitation(actor: Actor, openid: str, visit: Visit) -> str:
    """The visitor opened the host's invitation in WeChat: their WeChat is linked to the
    invited mobile (``link_wechat_by_invitation``: the invitation is the authority, once) and
    the pass gets a new link, which is returned (the one texted earlier stops working)."""
    pass_record = _pass_or_gone(visit)
    link_wechat_by_invitation(actor, openid, visit)
    return renew_pass_link(actor, pass_record)


def attendance_of(event: Event, mobile_index: str) -> Attendee | None:
    """The attendee of the event's list whose visit is of this mobile, if any."""
    return (
        Attendee.objects.select_related("visit")
        .filter(event=event, visit__in=visits_of_mobile(mobile_index))
        .first()
    )


@transaction.atomic
def open_event_pass(actor: Actor, event: Event, mobile_index: str) -> str:
    """An attendee who proved their mobile opens their pass to the event: a new link to it."""
    attendee = attendance_of(event, mobile_index)
    if attendee is None:
        raise NotFoundError(
            "not_on_list",
            _("Your mobile number is not on this event's list. Please ask the organiser."),
        )
    return renew_pass_link(actor, _pass_or_gone(attendee.visit))


@transaction.atomic
def resend_pass_by_sms(actor: Actor, visit: Visit) -> Notification:
    """The host sends the visitor their pass by SMS again, with a new link (the earlier one
    stops working), whatever channel the first went by."""
    recent = Notification.objects.filter(
        visit=visit,
        purpose=Purpose.PASS_LINK,
        channel=Channel.SMS,
        created_at__gt=timezone.now() - RESEND_INTERVAL,
    )
    if recent.exists():
        raise RateLimitedError(
            "sent_too_soon", _("The pass was texted less than a minute ago; wait a little.")
        )
    if not visit.visitor_mobile:
        raise GoneError("no_mobile", _("This invitation has no mobile number to text."))
    code = renew_pass_link(actor, _pass_or_gone(visit))
    text = in_building_language(PASS_LINK_TEXT, link=pass_url(code))
    return send_notification(
        actor,
        channel=Channel.SMS,
        to=visit.visitor_mobile,
        purpose=Purpose.PASS_LINK,
        text=text,
        visit=visit,
    )
