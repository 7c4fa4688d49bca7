"""What the Official Account answers in the chat: to a scanned code, a follow, the menu's
我的通行证, and a few keywords. Each answer is a short text with links to the building's H5
pages (WeChat shows ``<a href>`` in a text as a link).

All of it is reading and replying, quick enough for WeChat's 5 seconds; the one write, the
audit entry of a visitor looking at their own passes, is an action. A scene is honoured only
when it names a building the account serves: a code of another building, forged or of another
system, gets no answer about it.
"""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from integrations.wechat.callback import Inbound
from kernel.privacy import mask_name
from tenants.actions import building_url
from tenants.models import Building
from visit_platform.audit.actions import Actor
from visit_platform.directory.invite_tokens import HOST_PARAMETER, host_by_invite_token
from visit_platform.notifications.wechat_accounts import (
    MY_PASSES,
    ServedAccount,
    building_page,
    picker_url,
    start_path,
)
from visit_platform.notifications.wechat_scenes import APPLY, HOST, Scene, parse_scene
from visit_platform.visits.actions import note_own_visits_viewed
from visit_platform.visits.invite_tokens import event_by_invite_token
from visit_platform.visits.models import WeChatLink
from visit_platform.visits.queries import live_passes_of_mobile

PASS_KEYWORDS = frozenset({"通行证", "我的通行证", "pass", "passes", "my pass", "my passes"})
HELP_KEYWORDS = frozenset({"帮助", "help", "?", "？"})
# Passes listed per building in one answer: a chat message is no place for a long list.
PASSES_SHOWN = 5


def answer(served: ServedAccount, inbound: Inbound) -> str | None:
    """The text to reply to ``inbound`` with, or None for "nothing to say" (``success``)."""
    with translation.override(served.language or settings.LANGUAGE_CODE):
        if inbound.kind == "event":
            if inbound.event in ("subscribe_scan", "scan"):
                reply = _scene_answer(served, inbound.scene)
                if reply is None and inbound.event == "subscribe_scan":
                    return _welcome(served)
                return reply
            if inbound.event == "subscribe":
                return _welcome(served)
            if inbound.event == "click" and inbound.key == MY_PASSES:
                return _my_passes(served, inbound.openid)
            return None  # VIEW (WeChat opens the page itself), unsubscribe, location...
        if inbound.kind == "text":
            keyword = " ".join(inbound.text.split()).lower()
            if keyword in PASS_KEYWORDS:
                return _my_passes(served, inbound.openid)
            if keyword in HELP_KEYWORDS:
                return _help()
            return _default()
        return None  # pictures, voice, locations: nothing to say


def _link(url: str, label: str) -> str:
    return f'<a href="{escape(url, quote=True)}">{label}</a>'


def _menu_words() -> dict[str, str]:
    return {
        "request": _("Visit booking"),
        "passes": _("My passes"),
        "staff": _("Staff services"),
    }


def _welcome(served: ServedAccount) -> str:
    return _(
        "Welcome to %(account)s.\n"
        "· %(request)s: apply to visit a company in the building.\n"
        "· %(passes)s: your current passes.\n"
        "· %(staff)s: for employees (bind your WeChat, approve visits).\n"
        "Send “help” at any time."
    ) % {"account": served.account.name, **_menu_words()}


def _help() -> str:
    return (
        _(
            "In the menu below:\n"
            "· %(request)s: apply to visit; the person you visit approves it.\n"
            "· %(passes)s: your current passes (or send “pass”).\n"
            "· %(staff)s: for employees.\n"
            "Scanning a code at the building opens its visit form."
        )
        % _menu_words()
    )


def _default() -> str:
    return _("Send “pass” for your current passes, or “help” to see what this account does.")


def _scene_answer(served: ServedAccount, text: str) -> str | None:
    scene = parse_scene(text)
    if scene is None:
        return None
    building = served.building(scene.schema)
    if building is None:
        return None  # a code naming a building this account does not serve
    with schema_context(building.schema_name):
        if scene.kind == APPLY:
            return _apply_answer(building)
        if scene.kind == HOST:
            return _host_answer(building, scene)
        return _event_answer(building, scene)


def _apply_answer(building: Building) -> str:
    return _("Welcome to %(building)s. %(link)s") % {
        "building": building.name,
        "link": _link(building_page(building.schema_name, "request"), _("Apply to visit")),
    }


def _host_answer(building: Building, scene: Scene) -> str:
    host = host_by_invite_token(scene.token)
    if host is None:
        return _("This invitation code is no longer valid. %(link)s") % {
            "link": _link(
                building_page(building.schema_name, "request"),
                _("Apply to visit %(building)s") % {"building": building.name},
            )
        }
    return _("%(building)s: %(host)s of %(company)s invites you. %(link)s") % {
        "building": building.name,
        "host": mask_name(host.name),
        "company": host.company.name,
        "link": _link(
            building_page(building.schema_name, "request", **{HOST_PARAMETER: scene.token}),
            _("Fill in your visit request"),
        ),
    }


def _event_answer(building: Building, scene: Scene) -> str:
    event = event_by_invite_token(scene.token)
    if event is None or event.ends_at <= timezone.now():
        return _("This event code is no longer valid.")
    zone = _zone(building)
    return _("%(event)s at %(building)s, %(when)s. %(link)s") % {
        "event": event.name,
        "building": building.name,
        "when": timezone.localtime(event.starts_at, zone).strftime("%Y-%m-%d %H:%M"),
        "link": _link(
            building_url(building.schema_name, start_path(f"/wx/events/{scene.token}/")),
            _("Your invitation"),
        ),
    }


def _zone(building: Building) -> ZoneInfo:
    try:
        return ZoneInfo(building.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _my_passes(served: ServedAccount, openid: str) -> str:
    """The passes of this WeChat user in every building the account serves: the mobile they
    linked in each building (``visits.WeChatLink``) and that mobile's live passes."""
    buildings = served.buildings
    if not buildings:
        return _default()
    linked = False
    lines: list[str] = []
    now = timezone.now()
    for building in buildings:
        with schema_context(building.schema_name):
            link = WeChatLink.objects.filter(openid=openid).first()
            if link is None:
                continue
            linked = True
            passes = list(live_passes_of_mobile(link.mobile_index, now)[:PASSES_SHOWN])
            note_own_visits_viewed(
                Actor(user=None, label="visitor (WeChat)"), [p.visit_id for p in passes]
            )
            zone = _zone(building)
            for pass_record in passes:
                visit = pass_record.visit
                company = visit.company or (visit.host.company if visit.host else None)
                whom = " · ".join(
                    part
                    for part in (
                        mask_name(visit.host.name) if visit.host else "",
                        company.name if company else "",
                    )
                    if part
                )
                start = timezone.localtime(max(pass_record.valid_from, now), zone)
                lines.append(
                    f"· {building.name} · {start:%Y-%m-%d %H:%M}" + (f" · {whom}" if whom else "")
                )
            if passes:
                lines.append(_link(building_page(building.schema_name, "me"), _("Show my pass")))
    my_visits = (
        building_page(buildings[0].schema_name, "me")
        if len(buildings) == 1
        else picker_url(served.account, "me")
    )
    if not linked:
        return _(
            "Your WeChat is not linked to a mobile number yet. %(link)s and confirm your "
            "number once; your passes then show here."
        ) % {"link": _link(my_visits, _("Open My visits"))}
    if not lines:
        return _("You have no current pass. %(link)s") % {
            "link": _link(my_visits, _("Open My visits"))
        }
    return "\n".join([_("Your current passes:"), *lines])
