"""The Official Account's callback on the platform's public host: real requests signed and
encrypted with wechatpy's crypto (through the sandbox), every mode and event, and everything
WeChat could get wrong or an attacker could forge: refused with its code, nothing changed,
never a server error."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from integrations.wechat.callback import MAX_BODY_BYTES
from integrations.wechat.sandbox import _xml
from tests.access.conftest import SYSTEM, make_host, make_pass, make_visit, make_visitor
from tests.wechat.callback_client import (
    post,
    public_client,
    sealed_at,
    send,
    signed_query,
)
from tests.wechat_office import WeChatOffice
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import set_host_active
from visit_platform.directory.invite_tokens import host_invite_token
from visit_platform.notifications.wechat_scenes import Scene
from visit_platform.visits.invite_tokens import event_invite_token
from visit_platform.visits.models import WeChatLink
from visit_platform.wechat import handlers
from workflows.actions import events as event_actions

pytestmark = pytest.mark.django_db


def links(text: str) -> list[str]:
    """The addresses of the ``<a href>`` links in a reply."""
    found = []
    for part in text.split('<a href="')[1:]:
        found.append(part.split('"', 1)[0].replace("&amp;", "&"))
    return found


def opened_page(url: str) -> tuple[str, str]:
    """(host, page opened after WeChat's sign-in) of a link to ``/wx/start/?next=...``."""
    parts = urlsplit(url)
    assert parts.path == "/wx/start/", url
    return parts.hostname or "", parse_qs(parts.query)["next"][0]


def audit_count() -> int:
    with schema_context("alpha"):
        return AuditEntry.objects.count()


# --- URL verification and modes -------------------------------------------------------------


def test_wechat_checks_the_url_with_its_echostr(wechat_office: WeChatOffice):
    query = {**signed_query(wechat_office), "echostr": "8937461120583"}
    answer = public_client().get(f"/wechat/{wechat_office.remote.appid}/", query)
    assert answer.status_code == 200
    assert answer.content == b"8937461120583"


def test_a_url_check_with_a_forged_signature_is_refused(wechat_office: WeChatOffice):
    query = {**signed_query(wechat_office), "echostr": "1", "signature": "0" * 40}
    answer = public_client().get(f"/wechat/{wechat_office.remote.appid}/", query)
    assert answer.status_code == 400
    assert answer.json()["code"] == "signature_invalid"


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_each_mode_is_answered_in_kind(wechat_office: WeChatOffice, mode: str):
    wechat_office.account.require_encryption = False
    wechat_office.account.save()
    user = wechat_office.user()
    answer = send(wechat_office, user.openid, "subscribe", mode=mode)
    assert answer.status_code == 200
    encrypted = b"<Encrypt>" in answer.body
    assert encrypted == (mode != "plain")
    assert answer.reply is not None and answer.reply["ToUserName"] == user.openid
    assert "Alpha Property" in answer.text


def test_an_account_in_safe_mode_refuses_plain_messages(wechat_office: WeChatOffice):
    assert wechat_office.account.require_encryption
    user = wechat_office.user()
    answer = send(wechat_office, user.openid, "text", mode="plain", text="help")
    assert answer.status_code == 400
    assert answer.problem["code"] == "encryption_required"


# --- Events -----------------------------------------------------------------------------------


def test_a_follow_without_a_scene_is_welcomed_with_the_menu_explained(wechat_office):
    answer = send(wechat_office, wechat_office.user().openid, "subscribe")
    assert answer.reply is not None and answer.reply["MsgType"] == "text"
    assert "Alpha Property" in answer.text
    assert "访客预约" in answer.text and "我的通行证" in answer.text and "员工服务" in answer.text


def test_the_buildings_apply_code_opens_its_request_form(alpha, wechat_office):
    scene = str(Scene("alpha", "apply"))
    for event in ("subscribe", "SCAN"):
        answer = send(wechat_office, wechat_office.user().openid, event, scene=scene)
        [link] = links(answer.text)
        assert opened_page(link) == ("alpha.localhost", "/visit/request/")
        assert "Alpha Tower" in answer.text


def test_a_hosts_code_opens_the_form_with_the_host_and_names_them_masked(in_alpha, wechat_office):
    host = make_host()
    token = host_invite_token(host)
    answer = send(wechat_office, wechat_office.user().openid, "SCAN", scene=f"b:alpha:host:{token}")
    [link] = links(answer.text)
    where, page = opened_page(link)
    assert where == "alpha.localhost"
    assert urlsplit(page).path == "/visit/request/"
    assert parse_qs(urlsplit(page).query) == {"host": [token]}
    assert host.company.name in answer.text
    assert host.name not in answer.text  # 李雷 is shown masked


def test_a_code_of_a_host_who_has_left_opens_the_plain_form(in_alpha, wechat_office):
    host = make_host()
    token = host_invite_token(host)
    set_host_active(SYSTEM, host, False)
    answer = send(wechat_office, wechat_office.user().openid, "SCAN", scene=f"b:alpha:host:{token}")
    [link] = links(answer.text)
    assert opened_page(link)[1] == "/visit/request/"


def test_a_forged_host_code_names_nobody(in_alpha, wechat_office):
    host = make_host()
    forged = f"{host.pk}-{'0' * 16}"
    answer = send(
        wechat_office, wechat_office.user().openid, "SCAN", scene=f"b:alpha:host:{forged}"
    )
    assert forged not in answer.text
    assert all("host=" not in link for link in links(answer.text))


def test_an_events_code_opens_the_events_page(in_alpha, wechat_office):
    host = make_host()
    start = timezone.now() + timedelta(hours=1)
    event = event_actions.create_event(
        SYSTEM,
        name="年度大会",
        company=host.company,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
    )
    token = event_invite_token(event)
    answer = send(
        wechat_office, wechat_office.user().openid, "subscribe", scene=f"b:alpha:event:{token}"
    )
    [link] = links(answer.text)
    assert opened_page(link) == ("alpha.localhost", f"/wx/events/{token}/")
    assert "年度大会" in answer.text


def test_a_scene_naming_a_building_the_account_does_not_serve_is_ignored(
    alpha, beta, wechat_office
):
    before = audit_count()
    scanned = send(wechat_office, wechat_office.user().openid, "SCAN", scene="b:beta:apply")
    assert (scanned.status_code, scanned.body) == (200, b"success")
    followed = send(wechat_office, wechat_office.user().openid, "subscribe", scene="b:beta:apply")
    assert "beta" not in followed.text.lower() and "Beta Park" not in followed.text
    assert "Alpha Property" in followed.text  # welcomed as any follower
    assert audit_count() == before


def test_the_same_scene_is_honoured_once_the_account_serves_that_building(
    alpha, beta, wechat_office
):
    wechat_office.serve(beta)
    answer = send(wechat_office, wechat_office.user().openid, "SCAN", scene="b:beta:apply")
    [link] = links(answer.text)
    assert opened_page(link) == ("beta.localhost", "/visit/request/")


@pytest.mark.parametrize("scene", ["", "qrscene_", "b:alpha", "b:alpha:host:1", "x" * 200, "∞"])
def test_scenes_that_are_not_ours_are_ignored(wechat_office, scene):
    answer = send(wechat_office, wechat_office.user().openid, "SCAN", scene=scene)
    assert (answer.status_code, answer.body) == (200, b"success")


def test_a_menu_view_is_answered_success(wechat_office):
    answer = send(wechat_office, wechat_office.user().openid, "VIEW", key="https://x.example/")
    assert (answer.status_code, answer.body) == (200, b"success")


def test_my_passes_for_an_unlinked_wechat_says_how_to_link_the_number(wechat_office):
    answer = send(wechat_office, wechat_office.user().openid, "CLICK", key="MY_PASSES")
    [link] = links(answer.text)
    assert opened_page(link) == ("alpha.localhost", "/me/")


def test_my_passes_lists_the_linked_visitors_live_passes(in_alpha, wechat_office):
    user = wechat_office.user()
    visitor = make_visitor()
    live = make_pass(make_visit(visitor=visitor))
    make_pass(make_visit(visitor=make_visitor(mobile="13700000002", id_number="")))  # not theirs
    WeChatLink.objects.create(openid=user.openid, mobile_index=visitor.mobile_index)
    answer = send(wechat_office, user.openid, "CLICK", key="MY_PASSES")
    lines = [line for line in answer.text.splitlines() if line.startswith("·")]
    assert len(lines) == 1
    assert "Alpha Tower" in lines[0] and live.visit.host.company.name in lines[0]
    assert live.visit.host.name not in answer.text
    [link] = links(answer.text)
    assert opened_page(link) == ("alpha.localhost", "/me/")
    with schema_context("alpha"):
        viewed = AuditEntry.objects.get(verb="visitor.visits_viewed")
    assert viewed.detail == {"visits": [live.visit_id]}


@pytest.mark.parametrize("keyword", ["通行证", "我的通行证", " Pass ", "pass"])
def test_pass_keywords_answer_like_the_menu(in_alpha, wechat_office, keyword):
    user = wechat_office.user()
    visitor = make_visitor()
    make_pass(make_visit(visitor=visitor))
    WeChatLink.objects.create(openid=user.openid, mobile_index=visitor.mobile_index)
    answer = send(wechat_office, user.openid, "text", text=keyword)
    assert len([line for line in answer.text.splitlines() if line.startswith("·")]) == 1


def test_a_linked_visitor_without_a_live_pass_is_told_so(in_alpha, wechat_office):
    user = wechat_office.user()
    visitor = make_visitor()
    expired = make_pass(make_visit(visitor=visitor, starts=timezone.now() - timedelta(days=2)))
    assert expired.valid_until < timezone.now()
    WeChatLink.objects.create(openid=user.openid, mobile_index=visitor.mobile_index)
    answer = send(wechat_office, user.openid, "text", text="通行证")
    assert not [line for line in answer.text.splitlines() if line.startswith("·")]
    [link] = links(answer.text)
    assert opened_page(link)[1] == "/me/"


def test_my_passes_covers_every_building_the_account_serves(alpha, beta, wechat_office):
    wechat_office.serve(beta)
    user = wechat_office.user()
    for building in ("alpha", "beta"):
        with schema_context(building):
            visitor = make_visitor()
            make_pass(make_visit(visitor=visitor))
            WeChatLink.objects.create(openid=user.openid, mobile_index=visitor.mobile_index)
    answer = send(wechat_office, user.openid, "CLICK", key="MY_PASSES")
    lines = [line for line in answer.text.splitlines() if line.startswith("·")]
    assert sorted(line.split(" · ")[0] for line in lines) == ["· Alpha Tower", "· Beta Park"]
    assert sorted(urlsplit(link).hostname for link in links(answer.text)) == [
        "alpha.localhost",
        "beta.localhost",
    ]


def test_help_and_other_texts_get_short_answers(wechat_office):
    user = wechat_office.user()
    helped = send(wechat_office, user.openid, "text", text="帮助")
    other = send(wechat_office, user.openid, "text", text="你好")
    assert "访客预约" in helped.text
    assert other.text and other.text != helped.text


# --- Forged, stale, replayed, hostile -------------------------------------------------------


def test_a_forged_signature_is_refused_and_changes_nothing(in_alpha, wechat_office):
    user = wechat_office.user()
    visitor = make_visitor()
    make_pass(make_visit(visitor=visitor))
    WeChatLink.objects.create(openid=user.openid, mobile_index=visitor.mobile_index)
    fields = wechat_office.sandbox.event_xml(
        wechat_office.remote.appid, user.openid, "CLICK", key="MY_PASSES"
    )
    query, body = wechat_office.sandbox.signed_request(wechat_office.remote.appid, fields)
    before = audit_count()
    for name in ("signature", "msg_signature"):
        answer = post(wechat_office, {**query, name: "f" * 40}, body)
        assert answer.status_code == 400
        assert answer.problem["code"] == "signature_invalid"
    assert audit_count() == before
    # Not remembered as seen either: the genuine message is still handled.
    assert post(wechat_office, query, body).reply is not None


def test_a_stale_timestamp_is_refused(wechat_office):
    user = wechat_office.user()
    fields = wechat_office.sandbox.event_xml(wechat_office.remote.appid, user.openid, "subscribe")
    stale = str(int(time.time()) - 3600)
    query, body = sealed_at(wechat_office, _xml(fields), stale)
    answer = post(wechat_office, query, body)
    assert answer.status_code == 400
    assert answer.problem["code"] == "timestamp_stale"


def test_a_replayed_message_is_answered_success_and_handled_once(in_alpha, wechat_office):
    user = wechat_office.user()
    visitor = make_visitor()
    make_pass(make_visit(visitor=visitor))
    WeChatLink.objects.create(openid=user.openid, mobile_index=visitor.mobile_index)
    fields = wechat_office.sandbox.event_xml(
        wechat_office.remote.appid, user.openid, "text", text="通行证"
    )
    query, body = wechat_office.sandbox.signed_request(wechat_office.remote.appid, fields)
    first = post(wechat_office, query, body)
    again = post(wechat_office, query, body)
    assert first.reply is not None
    assert (again.status_code, again.body) == (200, b"success")
    # WeChat's own retry comes with a new timestamp and nonce: the same message all the same.
    retried_query, retried_body = wechat_office.sandbox.signed_request(
        wechat_office.remote.appid, fields
    )
    assert post(wechat_office, retried_query, retried_body).body == b"success"
    with schema_context("alpha"):
        assert AuditEntry.objects.filter(verb="visitor.visits_viewed").count() == 1


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b"<xml><ToUserName>x</ToUserName>", b"<other/>", b"<xml>text</xml>"],
)
def test_malformed_xml_is_refused(wechat_office, body):
    wechat_office.account.require_encryption = False
    wechat_office.account.save()
    answer = post(wechat_office, signed_query(wechat_office), body)
    assert answer.status_code == 400
    assert answer.problem["code"] in {"xml_malformed"}


def test_a_safe_mode_payload_that_is_not_xml_inside_is_refused(wechat_office):
    query, body = wechat_office.sandbox.signed_request(
        wechat_office.remote.appid, {"FromUserName": "o1"}, plain="<xml><broken>"
    )
    answer = post(wechat_office, query, body)
    assert (answer.status_code, answer.problem["code"]) == (400, "xml_malformed")


EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&secret;</Content><MsgId>1</MsgId></xml>"
)
ENTITY_EXPANSION = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]><xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&i;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize("hostile", [EXTERNAL_ENTITY, ENTITY_EXPANSION])
def test_xml_with_entities_is_refused_in_the_envelope_and_inside(wechat_office, hostile):
    wechat_office.account.require_encryption = False
    wechat_office.account.save()
    outside = post(wechat_office, signed_query(wechat_office), hostile.encode())
    assert (outside.status_code, outside.problem["code"]) == (400, "xml_forbidden")
    query, body = wechat_office.sandbox.signed_request(
        wechat_office.remote.appid, {"FromUserName": "o1"}, plain=hostile
    )
    inside = post(wechat_office, query, body)
    assert (inside.status_code, inside.problem["code"]) == (400, "xml_forbidden")


def test_an_oversized_body_is_refused_before_it_is_read(wechat_office):
    body = b"<xml>" + b"a" * MAX_BODY_BYTES + b"</xml>"
    answer = post(wechat_office, signed_query(wechat_office), body)
    assert (answer.status_code, answer.problem["code"]) == (400, "too_large")


@pytest.mark.parametrize("appid", ["wx0000000000000000", "gh_12345", "wx" + "a" * 200])
def test_an_unknown_appid_is_a_404_with_a_code(wechat_office, appid):
    answer = post(wechat_office, signed_query(wechat_office), b"<xml/>", appid=appid)
    assert answer.status_code == 404
    assert answer.problem == {
        "code": "account_unknown",
        "message": "No Official Account with this AppID.",
    }


def test_other_methods_are_refused(wechat_office):
    answer = public_client().put(f"/wechat/{wechat_office.remote.appid}/", b"<xml/>")
    assert answer.status_code == 405


def test_the_callback_is_not_served_on_a_buildings_domain(alpha, wechat_office):
    from tests.conftest import client_for

    answer = client_for(alpha).post(f"/wechat/{wechat_office.remote.appid}/", b"<xml/>", "text/xml")
    assert answer.status_code == 404


def test_a_message_whose_handling_fails_is_forgotten_so_the_retry_is_handled(
    wechat_office, monkeypatch
):
    user = wechat_office.user()
    fields = wechat_office.sandbox.event_xml(wechat_office.remote.appid, user.openid, "subscribe")
    query, body = wechat_office.sandbox.signed_request(wechat_office.remote.appid, fields)
    original = handlers.answer

    def failing(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(handlers, "answer", failing)
    failed = post(wechat_office, query, body)
    assert failed.status_code == 500 and failed.problem["code"] == "internal_error"
    monkeypatch.setattr(handlers, "answer", original)
    retried = post(wechat_office, query, body)
    assert retried.reply is not None and "Alpha Property" in retried.text


def test_the_dedupe_store_keeps_keys_by_appid(wechat_office):
    store = redis.Redis.from_url(settings.REDIS_URL)
    user = wechat_office.user()
    send(wechat_office, user.openid, "subscribe")
    assert store.keys(f"wechat:seen:{wechat_office.remote.appid}:event:{user.openid}:*")


def test_a_declared_length_over_the_bound_is_refused_for_any_appid(db):
    answer = public_client().post(
        "/wechat/wx0000000000000000/",
        b"<xml/>",
        content_type="text/xml",
        CONTENT_LENGTH=str(MAX_BODY_BYTES + 1),
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "too_large"
