"""Visitors' WeChat links (issue 13, 4): an openid of the building's Official Account linked to
the keyed hash of a mobile the visitor proved, so that their pages open inside WeChat without
asking again and their notices go to WeChat first.

One WeChat per mobile and one mobile per WeChat, in each building: linking moves an openid's
link to the new mobile, and takes the mobile from any other WeChat that had it (the latest
proof wins). ``Visitor.wechat_openid`` follows the links, on the visitor rows of that mobile.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, DomainError
from kernel.phones import normalise_mobile
from kernel.privacy import blind_index
from visit_platform.audit.actions import Actor, record
from visit_platform.visits.models import MOBILE_INDEX, Visit, Visitor, WeChatLink
from visit_platform.visits.queries import visit_mobile_index

# WeChat's openids are 28 characters; the column holds 64.
MAX_OPENID_LENGTH = 64


@transaction.atomic
def link_visitor_wechat(actor: Actor, openid: str, number: str) -> WeChatLink:
    """Link the WeChat user ``openid`` to the mobile ``number``, which they have just proved
    with an SMS code (``verify_one_time_code``): the caller checks the code."""
    _check_openid(openid)
    mobile = normalise_mobile(number)
    return _link(actor, openid, blind_index(mobile, MOBILE_INDEX), mobile, via="sms")


@transaction.atomic
def link_wechat_by_invitation(actor: Actor, openid: str, visit: Visit) -> WeChatLink:
    """Link the WeChat user who opened a host's invitation to the invited mobile: the
    invitation is the authority, as the pass link it leads to is (docs/adr/0017). Only where
    neither side is linked yet: a mobile linked to another WeChat, or a WeChat linked to
    another mobile, needs the SMS code, so a forwarded invitation cannot take a link over."""
    _check_openid(openid)
    mobile_index = visit_mobile_index(visit)
    if not mobile_index:
        raise DomainError("no_mobile", _("This invitation has no mobile number to link."))
    _lock(openid, mobile_index)
    mine = WeChatLink.objects.filter(openid=openid).first()
    if mine is not None and mine.mobile_index == mobile_index:
        return mine
    if mine is not None:
        raise ConflictError(
            "wechat_linked_elsewhere",
            _(
                "This WeChat is linked to another mobile number. Prove the invited number "
                "with a code to use this WeChat for it."
            ),
        )
    if WeChatLink.objects.filter(mobile_index=mobile_index).exists():
        raise ConflictError(
            "invitation_taken",
            _(
                "This invitation was already opened in another WeChat. Prove the invited "
                "number with a code to use this WeChat instead."
            ),
        )
    return _link(
        actor, openid, mobile_index, visit.visitor_mobile, via="invitation", visit=visit.pk
    )


@transaction.atomic
def unlink_visitor_wechat(actor: Actor, openid: str) -> bool:
    """The visitor stops using this WeChat here: the link goes, and with it the pages that
    opened without a code and the notices by WeChat (they go by SMS again). Returns whether
    there was a link."""
    link = WeChatLink.objects.select_for_update().filter(openid=openid).first()
    if link is None:
        return False
    Visitor.objects.filter(wechat_openid=openid).update(wechat_openid="")
    record(actor, "visitor.wechat_unlinked", link)
    link.delete()
    return True


def _check_openid(openid: str) -> None:
    if not openid or len(openid) > MAX_OPENID_LENGTH:
        raise DomainError("openid_invalid", _("WeChat did not say who you are."))


def _lock(openid: str, mobile_index: str) -> None:
    """Two links at once for the same WeChat or the same mobile: the second waits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"wechat_link:{openid}"])
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"wechat_link:{mobile_index}"]
        )


def _link(
    actor: Actor, openid: str, mobile_index: str, mobile: str, **detail: object
) -> WeChatLink:
    _lock(openid, mobile_index)
    previous = WeChatLink.objects.filter(openid=openid).first()
    others = WeChatLink.objects.filter(mobile_index=mobile_index).exclude(openid=openid)
    replaced = list(others.values_list("openid", flat=True))
    others.delete()
    Visitor.objects.filter(wechat_openid__in=[openid, *replaced]).update(wechat_openid="")
    link, _created = WeChatLink.objects.update_or_create(
        openid=openid, defaults={"mobile_index": mobile_index, "mobile": mobile}
    )
    Visitor.objects.filter(mobile_index=mobile_index).update(wechat_openid=openid)
    moved = previous is not None and previous.mobile_index != mobile_index
    record(actor, "visitor.wechat_linked", link, moved=moved, replaced=len(replaced), **detail)
    return link
