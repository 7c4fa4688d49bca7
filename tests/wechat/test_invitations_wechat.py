"""Invitations in WeChat (5.2.1) and events' codes (5.2.5), over HTTP through the sandbox: the
host shares the invitation page, whose JS-SDK signature verifies against the ticket the sandbox
issued; the invited visitor who opens it in WeChat gets the pass and their WeChat linked; an
event's attendee proves their mobile and opens their pass; everything else is refused."""

from __future__ import annotations

import html
import io
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from wechatpy.utils import WeChatSigner

from forms.queries import current_version
from kernel.privacy import blind_index
from tenants.models import Building, User
from tests.conftest import client_for, member
from tests.forms.conftest import make_host
from tests.wechat.visitor_phone import (
    MOBILE,
    OTHER_E164,
    OTHER_MOBILE,
    WECHAT_USER_AGENT,
    in_wechat,
    link_wechat,
)
from tests.wechat_office import WeChatOffice, sign_in_with_wechat
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host
from visit_platform.notifications.actions import deliver_notification
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import Scenario
from visit_platform.visits.invite_tokens import (
    event_by_invite_token,
    event_invite_token,
    invitation_token,
)
from visit_platform.visits.models import MOBILE_INDEX, Event, Visit, WeChatLink
from workflows.actions import events as event_actions
from workflows.actions import remind_visitors

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
INVITED = "13700137000"
INVITED_E164 = "+8613700137000"


# --- Helpers --------------------------------------------------------------------------------


@pytest.fixture
def host(in_alpha: Building) -> Host:
    return make_host()


@pytest.fixture
def host_user(alpha: Building, host: Host) -> User:
    user = member(alpha, "host@company.example", Role.HOST, host.company)
    host.user = user
    host.save()
    return user


def invite(alpha: Building, user: User, hours_ahead: int = 1) -> Any:
    start = timezone.localtime() + timedelta(hours=hours_ahead)
    data = {
        "form_version": current_version(Scenario.INVITE).pk,
        "submission_id": str(uuid.uuid4()),
        "visitor_name": "王芳",
        "visitor_mobile": INVITED,
        "visit_start": start.strftime("%Y-%m-%dT%H:%M"),
        "visit_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "purpose": "business",
    }
    return client_for(alpha, user).post("/invite/", data)


@pytest.fixture
def invitation(alpha: Building, host_user: User) -> Visit:
    response = invite(alpha, host_user)
    assert response.status_code == 302, response.content.decode()[:2000]
    visit = Visit.objects.get(scenario="invite")
    assert response["Location"] == f"/invite/{visit.pk}/"
    assert visit.status == "approved"
    return visit


def page_path(visit: Visit) -> str:
    return f"/wx/invitations/{invitation_token(visit)}/"


def host_in_wechat(alpha: Building, user: User, office: WeChatOffice, path: str) -> Client:
    """The host's phone: signed in to the console, opening the page inside WeChat."""
    client = client_for(alpha, user)
    client.defaults["HTTP_USER_AGENT"] = WECHAT_USER_AGENT
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert sign_in_with_wechat(client, office, office.user("host").openid, path) == path
    return client


def json_in(page: Any, element_id: str) -> dict[str, Any]:
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>',
        page.content.decode(),
        re.S,
    )
    assert found, f"no #{element_id}"
    value: dict[str, Any] = json.loads(found.group(1))
    return value


# --- The host's side --------------------------------------------------------------------------


def test_after_inviting_the_host_sees_the_invitation_to_share(
    alpha: Building, host_user: User, invitation: Visit
) -> None:
    page = client_for(alpha, host_user).get(f"/invite/{invitation.pk}/")

    body = page.content.decode()
    assert page.status_code == 200
    assert f'value="http://alpha.localhost{page_path(invitation)}"' in body
    assert "<svg" in body and 'id="copy-link"' in body


def test_another_employee_cannot_see_someone_elses_invitation(
    alpha: Building, host_user: User, invitation: Visit
) -> None:
    other = member(alpha, "other@company.example", Role.HOST, make_host("13922223333").company)

    assert client_for(alpha, other).get(f"/invite/{invitation.pk}/").status_code in (403, 404)


def test_in_wechat_the_invitation_carries_a_js_sdk_signature_that_verifies(
    alpha: Building, host_user: User, invitation: Visit, wechat_office: WeChatOffice
) -> None:
    path = page_path(invitation)
    client = host_in_wechat(alpha, host_user, wechat_office, path)

    page = client.get(path)
    again = client.get(path)

    body = page.content.decode()
    assert 'data-role="host"' in body
    assert '<script src="https://res.wx.qq.com/open/js/jweixin-1.6.0.js">' in body
    config = json_in(page, "wx-config")
    [ticket] = wechat_office.sandbox.jsapi_tickets[wechat_office.remote.appid]  # fetched once
    signer = WeChatSigner(delimiter=b"&")
    signer.add_data(
        f"noncestr={config['nonceStr']}",
        f"jsapi_ticket={ticket}",
        f"timestamp={config['timestamp']}",
        f"url=http://alpha.localhost{path}",
    )
    assert config["appId"] == wechat_office.remote.appid
    assert config["signature"] == signer.signature
    assert json_in(page, "share-data")["link"] == f"http://alpha.localhost{path}"
    assert json_in(again, "wx-config")["nonceStr"] != config["nonceStr"]


def test_outside_wechat_the_page_works_without_the_js_sdk(
    alpha: Building, host_user: User, invitation: Visit, wechat_office: WeChatOffice
) -> None:
    path = page_path(invitation)
    client = client_for(alpha, host_user)
    sign_in_with_wechat(client, wechat_office, wechat_office.user().openid, path)

    page = client.get(path)

    body = page.content.decode()
    assert "res.wx.qq.com" not in body and 'id="wx-config"' not in body
    assert 'id="copy-link"' in body
    assert json_in(page, "share-data")["link"] == f"http://alpha.localhost{path}"
    assert wechat_office.remote.appid not in wechat_office.sandbox.jsapi_tickets


def test_the_host_sends_the_pass_by_sms_again_at_most_once_a_minute(
    alpha: Building, host_user: User, invitation: Visit, wechat_office: WeChatOffice
) -> None:
    path = page_path(invitation)
    client = host_in_wechat(alpha, host_user, wechat_office, path)
    first_text = Notification.objects.get(purpose="pass_link")
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    sent = client.post(f"{path}sms/")
    too_soon = client.post(f"{path}sms/")

    assert sent.status_code == 200 and 'id="notice"' in sent.content.decode()
    assert too_soon.status_code == 429
    assert "less than a minute ago" in too_soon.content.decode()
    texts = Notification.objects.filter(purpose="pass_link", channel="sms").order_by("pk")
    assert [n.recipient for n in texts] == [INVITED_E164, INVITED_E164]
    old_link = re.search(r"(/p/[^\s/]+/)", first_text.text).group(1)  # type: ignore[union-attr]
    new_link = re.search(r"(/p/[^\s/]+/)", texts[1].text).group(1)  # type: ignore[union-attr]
    assert client.get(old_link).status_code == 404  # a new link replaced it
    assert client.get(new_link).status_code == 200


def test_the_host_cannot_take_their_own_invitation(
    alpha: Building, host_user: User, invitation: Visit, wechat_office: WeChatOffice
) -> None:
    path = page_path(invitation)
    client = host_in_wechat(alpha, host_user, wechat_office, path)

    refused = client.post(f"{path}open/")

    assert refused.status_code == 403
    assert "This is your own invitation" in refused.content.decode()
    assert not WeChatLink.objects.exists()


def test_only_the_inviting_host_sends_the_pass_by_sms(
    alpha: Building, invitation: Visit, wechat_office: WeChatOffice
) -> None:
    stranger = in_wechat(wechat_office, wechat_office.user().openid, page_path(invitation))
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    response = stranger.post(f"{page_path(invitation)}sms/")

    assert response.status_code == 403
    assert Notification.objects.filter(purpose="pass_link").count() == 1


# --- The visitor's side -----------------------------------------------------------------------


def test_the_invited_visitor_opens_it_in_wechat_and_the_pass_is_bound_to_their_openid(
    invitation: Visit, wechat_office: WeChatOffice
) -> None:
    visitor = wechat_office.user("王芳")
    path = page_path(invitation)
    client = in_wechat(wechat_office, visitor.openid, path)

    page = client.get(path)
    opened = client.post(f"{path}open/")

    assert 'data-role="visitor"' in page.content.decode()
    assert "王*" in page.content.decode() and "王芳" not in page.content.decode()
    assert opened.status_code == 302 and opened["Location"].startswith("/p/")
    assert 'id="pass"' in client.get(opened["Location"]).content.decode()
    link = WeChatLink.objects.get()
    assert (link.openid, link.mobile_index) == (
        visitor.openid,
        blind_index(INVITED_E164, MOBILE_INDEX),
    )
    # Later notices about the visit go to that WeChat.
    Visit.objects.filter(pk=invitation.pk).update(decided_at=timezone.now() - timedelta(days=1))
    assert remind_visitors() == 1
    reminder = Notification.objects.get(purpose="reminder")
    assert (reminder.channel, reminder.recipient) == ("wechat", visitor.openid)
    # And My visits opens without a code.
    assert invitation.pk in [
        int(pk) for pk in re.findall(r'data-visit="(\d+)"', client.get("/me/").content.decode())
    ]


def test_an_invitation_opened_in_one_wechat_is_not_taken_by_another(
    invitation: Visit, wechat_office: WeChatOffice
) -> None:
    path = page_path(invitation)
    first = wechat_office.user()
    in_wechat(wechat_office, first.openid, path).post(f"{path}open/")
    second = in_wechat(wechat_office, wechat_office.user().openid, path)

    refused = second.post(f"{path}open/")

    assert refused.status_code == 409
    assert "already opened in another WeChat" in refused.content.decode()
    assert 'id="prove"' in refused.content.decode()
    assert list(WeChatLink.objects.values_list("openid", flat=True)) == [first.openid]


def test_a_wechat_linked_to_another_number_must_prove_the_invited_one(
    invitation: Visit, wechat_office: WeChatOffice
) -> None:
    path = page_path(invitation)
    user = wechat_office.user()
    client = in_wechat(wechat_office, user.openid, path)
    link_wechat(client, OTHER_MOBILE, OTHER_E164)

    refused = client.post(f"{path}open/")

    assert refused.status_code == 409
    assert "linked to another mobile number" in refused.content.decode()
    assert WeChatLink.objects.get().mobile_index == blind_index(OTHER_E164, MOBILE_INDEX)


@pytest.mark.parametrize("token", ["forged", "1-" + "a" * 24, "x" * 10_000, "<b>", "0-0"])
def test_a_forged_or_malformed_invitation_is_refused_readably(
    invitation: Visit, wechat_office: WeChatOffice, token: str
) -> None:
    client = in_wechat(wechat_office, wechat_office.user().openid, "/wx/")

    page = client.get(f"/wx/invitations/{token}/")
    opened = client.post(f"/wx/invitations/{token}/open/")

    assert page.status_code == opened.status_code == 404
    assert "This invitation is not valid." in page.content.decode()
    assert not WeChatLink.objects.exists()


def test_a_code_of_a_visit_that_is_no_invitation_is_not_one(
    invitation: Visit, wechat_office: WeChatOffice
) -> None:
    request = Visit.objects.filter(pk=invitation.pk)
    request.update(scenario=Scenario.REQUEST)
    client = in_wechat(wechat_office, wechat_office.user().openid, "/wx/")

    assert client.get(page_path(invitation)).status_code == 404


def test_an_invitation_called_off_no_longer_opens_the_pass(
    invitation: Visit, wechat_office: WeChatOffice
) -> None:
    Pass.objects.filter(visit=invitation).update(revoked_at=timezone.now())
    path = page_path(invitation)
    client = in_wechat(wechat_office, wechat_office.user().openid, path)

    page = client.get(path)
    opened = client.post(f"{path}open/")

    assert 'id="unusable"' in page.content.decode()
    assert opened.status_code == 410
    assert not WeChatLink.objects.exists()


# --- An event's code --------------------------------------------------------------------------


def attendee_list(rows: list[list[str]]) -> bytes:
    output = io.BytesIO()
    header = ["姓名", "手机号", "单位", "证件类型", "证件号码"]
    pd.DataFrame(rows, columns=header).to_excel(output, index=False, engine="openpyxl")
    return output.getvalue()


def make_event(host: Host, rows: list[list[str]]) -> Event:
    start = timezone.now() - timedelta(hours=1)
    event = event_actions.create_event(
        SYSTEM,
        name="合作伙伴大会",
        company=host.company,
        starts_at=start,
        ends_at=start + timedelta(hours=8),
        place="三楼报告厅",
    )
    pending = event_actions.check_list(SYSTEM, event, "list.xlsx", attendee_list(rows))
    event_actions.confirm_list(SYSTEM, event, pending.pk)
    event.refresh_from_db()
    return event


@pytest.fixture
def event(in_alpha: Building, host: Host) -> Event:
    return make_event(host, [["韩梅梅", MOBILE, "青木咨询", "", ""]])


def test_an_attendee_whose_wechat_is_linked_gets_the_invitation_in_wechat(
    in_alpha: Building, host: Host, wechat_office: WeChatOffice
) -> None:
    user = wechat_office.user()
    link_wechat(in_wechat(wechat_office, user.openid, "/wx/link/"))

    make_event(host, [["韩梅梅", MOBILE, "", "", ""], ["李四", OTHER_MOBILE, "", "", ""]])

    by_wechat = Notification.objects.get(purpose="pass_link", channel="wechat")
    by_sms = Notification.objects.get(purpose="pass_link", channel="sms")
    assert by_wechat.recipient == user.openid and "合作伙伴大会" in by_wechat.text
    assert by_sms.recipient == OTHER_E164
    deliver_notification(by_wechat.pk)
    [message] = wechat_office.sandbox.inbox(user.openid)
    assert message.url.startswith("http://alpha.localhost/p/")
    assert message.data["host"]["value"] == host.company.name


def test_an_attendee_on_the_list_proves_their_mobile_and_opens_their_pass(
    event: Event, wechat_office: WeChatOffice
) -> None:
    path = f"/wx/events/{event_invite_token(event)}/"
    user = wechat_office.user()
    client = in_wechat(wechat_office, user.openid, path)

    asked = client.get(path)
    linked = link_wechat(client, next_path=path)
    page = client.get(path)
    opened = client.post(f"{path}pass/")

    assert asked["Location"].startswith("/wx/link/")
    assert linked["Location"] == path
    assert 'data-on-list="yes"' in page.content.decode()
    assert "合作伙伴大会" in page.content.decode()
    assert opened.status_code == 302 and opened["Location"].startswith("/p/")
    assert 'data-state="valid"' in client.get(opened["Location"]).content.decode()
    assert WeChatLink.objects.get().openid == user.openid


def test_someone_not_on_the_list_is_told_so_and_gets_no_pass(
    event: Event, wechat_office: WeChatOffice
) -> None:
    path = f"/wx/events/{event_invite_token(event)}/"
    client = in_wechat(wechat_office, wechat_office.user().openid, path)
    link_wechat(client, OTHER_MOBILE, OTHER_E164, next_path=path)
    renewed_before = Pass.objects.values_list("link_hash", flat=True).get()

    page = client.get(path)
    opened = client.post(f"{path}pass/")

    assert 'data-on-list="no"' in page.content.decode()
    assert "is not on this event's list" in page.content.decode()
    assert opened.status_code == 404
    assert "is not on this event's list" in opened.content.decode()
    assert Pass.objects.values_list("link_hash", flat=True).get() == renewed_before


@pytest.mark.parametrize("token", ["forged", "1-" + "b" * 24, "y" * 10_000])
def test_a_forged_event_code_is_refused_readably(
    event: Event, wechat_office: WeChatOffice, token: str
) -> None:
    client = in_wechat(wechat_office, wechat_office.user().openid, "/wx/")

    page = client.get(f"/wx/events/{token}/")

    assert page.status_code == 404
    assert "This event's code is not valid." in html.unescape(page.content.decode())


def test_an_event_code_names_an_event_not_a_host_or_an_invitation(event: Event) -> None:
    from visit_platform.directory.invite_tokens import host_by_invite_token

    token = event_invite_token(event)

    assert event_by_invite_token(token) == event
    assert host_by_invite_token(token) is None
