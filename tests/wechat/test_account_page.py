"""The console's WeChat account page: a property admin sets up and checks the building's
Official Account, pushes its menu and downloads the scene QR codes, against the sandbox; other
roles and other buildings see none of it, and the secrets never come back in full."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context
from PIL import Image

from tenants.models import Building, OfficialAccount
from tests.access.conftest import SYSTEM, make_host
from tests.conftest import admin_of, client_for, member
from tests.wechat.callback_client import public_client
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.invite_tokens import host_invite_token
from visit_platform.visits.invite_tokens import event_invite_token
from workflows.actions import events as event_actions

pytestmark = pytest.mark.django_db

PAGE = "/settings/wechat/"
APPID = "wx0123456789abcdef"
SECRET = "0123456789abcdef0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n"


def admin(building: Building):
    return client_for(building, admin_of(building))


def new_account(**changes: str) -> dict[str, str]:
    return {"name": "Beta Property", "appid": APPID, "secret": SECRET, **changes}


def html(response) -> str:
    return response.content.decode()


# --- Who sees what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.SECURITY, Role.COMPANY_ADMIN, Role.HOST])
def test_only_property_admins_open_the_page(alpha, wechat_office, role):
    company = None
    if role in (Role.COMPANY_ADMIN, Role.HOST):
        with schema_context("alpha"):
            company = make_host().company
    user = member(alpha, f"{role}@alpha.example", role, company)
    client = client_for(alpha, user)
    assert client.get(PAGE).status_code == 403
    assert client.post("/settings/wechat/check/").status_code == 403
    assert client.post("/settings/wechat/menu/").status_code == 403
    assert client.get("/settings/wechat/apply-code.png").status_code == 403
    assert wechat_office.sandbox.token_requests == {}


def test_the_page_shows_what_to_paste_into_wechat_and_never_a_secret(alpha, wechat_office):
    account = wechat_office.account
    page = html(admin(alpha).get(PAGE))
    assert account.appid in page
    assert f"http://localhost/wechat/{account.appid}/" in page
    assert f"••••{account.token[-4:]}" in page and f"••••{account.secret[-4:]}" in page
    for secret in (account.secret, account.token, account.encoding_aes_key):
        assert secret not in page
    assert "tpl-pass_link" in page


def test_an_admin_of_beta_sees_betas_account_only(alpha, beta, wechat_office):
    page = html(admin(beta).get(PAGE))
    assert wechat_office.account.appid not in page
    assert 'name="appid"' in page  # beta has none yet: the set-up form
    # and on alpha's domain beta's admin is nobody
    stranger = client_for(alpha, admin_of(beta))
    assert stranger.get(PAGE).status_code == 403


def test_an_account_serving_two_buildings_says_so(alpha, beta, wechat_office):
    wechat_office.serve(beta)
    page = html(admin(alpha).get(PAGE))
    assert "Beta Park" in page


def test_the_navigation_lists_the_page_for_property_admins(alpha):
    assert f'href="{PAGE}"' in html(admin(alpha).get("/"))


# --- Setting the account up -----------------------------------------------------------------


def test_setting_up_an_account_makes_token_and_key_and_shows_them_once(beta):
    client = admin(beta)
    answer = client.post(PAGE, new_account())
    assert answer.status_code == 200
    account = OfficialAccount.objects.get(appid=APPID)
    assert Building.objects.get(schema_name="beta").wechat_account == account
    page = html(answer)
    assert account.token in page and account.encoding_aes_key in page
    assert len(account.encoding_aes_key) == 43 and account.secret == SECRET
    assert SECRET not in page
    assert account.token not in html(client.get(PAGE))  # once only
    with schema_context("beta"):
        entry = AuditEntry.objects.get(verb="wechat_account.created")
    for secret in (SECRET, account.token, account.encoding_aes_key):
        assert secret not in str(entry.detail)
    assert entry.detail["generated"] == ["encoding_aes_key", "token"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"appid": "wx123"}, "appid", "An AppID is wx followed by 16"),
        ({"appid": "gh_0123456789abcdef"}, "appid", "An AppID is wx followed by 16"),
        ({"secret": ""}, "secret", ""),
        ({"secret": "short"}, "secret", "16 to 64 letters"),
        ({"token": "a!"}, "token", "3 to 32 letters"),
        ({"encoding_aes_key": "a" * 42}, "encoding_aes_key", "exactly 43"),
        ({"encoding_aes_key": "a" * 42 + "-"}, "encoding_aes_key", "exactly 43"),
        ({"template_pass_link": "t" * 65}, "template_pass_link", ""),
        ({"template_pass_link": "<script>"}, "template_pass_link", "at most 64 letters"),
        ({"name": ""}, "name", ""),
    ],
)
def test_bad_values_are_refused_readably_and_nothing_is_saved(beta, changes, field, message):
    client = admin(beta)
    client.cookies["django_language"] = "en"
    answer = client.post(PAGE, new_account(**changes))
    assert answer.status_code == 200
    assert field in answer.context["form"].errors
    assert message in " ".join(answer.context["form"].errors[field])
    assert not OfficialAccount.objects.filter(appid__iexact=APPID).exists()
    assert Building.objects.get(schema_name="beta").wechat_account is None


def test_an_appid_already_on_the_platform_cannot_be_taken_by_another_building(beta, wechat_office):
    taken = wechat_office.account
    answer = admin(beta).post(PAGE, new_account(appid=taken.appid))
    assert "appid" in answer.context["form"].errors
    assert Building.objects.get(schema_name="beta").wechat_account is None
    taken.refresh_from_db()
    assert taken.name == "Alpha Property"


def test_changing_the_account_keeps_secrets_left_blank(alpha, wechat_office):
    account = wechat_office.account
    old = (account.secret, account.token, account.encoding_aes_key)
    answer = admin(alpha).post(
        PAGE,
        {
            "name": "Alpha Property Co.",
            "appid": account.appid,
            "require_encryption": "on",
            "template_pass_link": "tpl-new",
        },
    )
    assert answer.status_code == 302
    account.refresh_from_db()
    assert (account.secret, account.token, account.encoding_aes_key) == old
    assert account.name == "Alpha Property Co."
    assert account.templates == {"pass_link": "tpl-new"}
    with schema_context("alpha"):
        entry = AuditEntry.objects.get(verb="wechat_account.changed")
    assert entry.detail["changed"] == ["name", "templates"]


def test_a_new_secret_replaces_the_old_one(alpha, wechat_office):
    account = wechat_office.account
    admin(alpha).post(PAGE, {"name": account.name, "appid": account.appid, "secret": SECRET})
    account.refresh_from_db()
    assert account.secret == SECRET


# --- Check, menu, codes ---------------------------------------------------------------------


def test_check_says_ok_when_wechat_gives_a_token(alpha, wechat_office):
    answer = admin(alpha).post("/settings/wechat/check/", follow=True)
    assert "WeChat accepted the AppID and AppSecret" in html(answer) or "微信已接受" in html(answer)
    assert wechat_office.sandbox.token_requests[wechat_office.remote.appid] == 1


def test_check_shows_wechats_code_for_a_wrong_secret(alpha, wechat_office):
    wechat_office.account.secret = "ffffffffffffffffffffffffffffffff"
    wechat_office.account.save()
    answer = admin(alpha).post("/settings/wechat/check/", follow=True)
    assert "40125" in html(answer)


def test_check_says_when_wechat_cannot_be_reached(alpha, wechat_office, settings):
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"
    answer = admin(alpha).post("/settings/wechat/check/", follow=True)
    assert "-1" in html(answer)


def test_the_menu_is_pushed_to_wechat(alpha, wechat_office):
    answer = admin(alpha).post("/settings/wechat/menu/")
    assert answer.status_code == 302
    menu = wechat_office.sandbox.accounts[wechat_office.remote.appid].menu
    assert menu is not None
    buttons = menu["button"]
    assert [button["name"] for button in buttons] == ["访客预约", "我的通行证", "员工服务"]
    appid = wechat_office.remote.appid
    assert buttons[0] == {
        "type": "view",
        "name": "访客预约",
        "url": f"http://localhost/wechat/{appid}/go/request/",
    }
    assert buttons[1] == {"type": "click", "name": "我的通行证", "key": "MY_PASSES"}
    assert buttons[2]["url"] == f"http://localhost/wechat/{appid}/go/staff/"
    with schema_context("alpha"):
        assert AuditEntry.objects.filter(verb="wechat_account.menu_pushed").count() == 1


def test_a_menu_wechat_refuses_is_reported_and_not_audited(alpha, wechat_office):
    wechat_office.sandbox.fail_next(45009, "/cgi-bin/menu/create")
    answer = admin(alpha).post("/settings/wechat/menu/", follow=True)
    assert "45009" in html(answer)
    with schema_context("alpha"):
        assert not AuditEntry.objects.filter(verb="wechat_account.menu_pushed").exists()


def _is_png(response) -> bool:
    image = Image.open(io.BytesIO(response.content))
    return response.content.startswith(PNG) and image.format == "PNG" and image.width > 200


def test_the_apply_code_downloads_as_a_png_made_through_wechat(alpha, wechat_office):
    answer = admin(alpha).get("/settings/wechat/apply-code.png")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert _is_png(answer)
    with schema_context("alpha"):
        url = cache.get(f"wechat:qr:{wechat_office.remote.appid}:b:alpha:apply")
    assert url.startswith("http://weixin.qq.com/q/")


def test_a_code_wechat_refuses_to_make_is_reported(alpha, wechat_office):
    wechat_office.sandbox.fail_next(45009, "/cgi-bin/qrcode/create")
    with schema_context("alpha"):
        cache.delete(f"wechat:qr:{wechat_office.remote.appid}:b:alpha:apply")
    answer = admin(alpha).get("/settings/wechat/apply-code.png", follow=True)
    assert answer.redirect_chain[-1][0] == PAGE
    assert "45009" in html(answer)


def test_a_company_admin_downloads_codes_of_their_own_employees_only(alpha, wechat_office):
    with schema_context("alpha"):
        own = make_host()
        other = make_host()
    boss = client_for(alpha, member(alpha, "boss@alpha.example", Role.COMPANY_ADMIN, own.company))
    answer = boss.get(f"/employees/{own.pk}/wechat-code.png")
    assert answer.status_code == 200 and _is_png(answer)
    assert boss.get(f"/employees/{other.pk}/wechat-code.png").status_code == 404
    with schema_context("alpha"):
        scene = f"b:alpha:host:{host_invite_token(own)}"
        assert cache.get(f"wechat:qr:{wechat_office.remote.appid}:{scene}")
    listing = html(boss.get("/employees/"))
    assert f"/employees/{own.pk}/wechat-code.png" in listing


def test_reception_gets_no_host_code(alpha, wechat_office):
    with schema_context("alpha"):
        host = make_host()
    desk = client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))
    assert desk.get(f"/employees/{host.pk}/wechat-code.png").status_code == 403


def test_an_events_code_is_on_its_page_and_downloads(alpha, wechat_office):
    with schema_context("alpha"):
        company = make_host().company
        start = timezone.now() + timedelta(days=1)
        event = event_actions.create_event(
            SYSTEM,
            name="大会",
            company=company,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
        token = event_invite_token(event)
    client = admin(alpha)
    assert f"/events/{event.pk}/wechat-code.png" in html(client.get(f"/events/{event.pk}/"))
    answer = client.get(f"/events/{event.pk}/wechat-code.png")
    assert _is_png(answer)
    with schema_context("alpha"):
        assert cache.get(f"wechat:qr:{wechat_office.remote.appid}:b:alpha:event:{token}")
    other_boss = client_for(
        alpha, member(alpha, "other@alpha.example", Role.COMPANY_ADMIN, make_other_company())
    )
    assert other_boss.get(f"/events/{event.pk}/wechat-code.png").status_code == 404


def make_other_company():
    with schema_context("alpha"):
        return make_host().company


def test_no_code_links_without_an_account(alpha):
    with schema_context("alpha"):
        make_host()
    assert "wechat-code.png" not in html(admin(alpha).get("/employees/"))
    answer = admin(alpha).get("/settings/wechat/apply-code.png")
    assert answer.status_code == 302


# --- The menu's building picker -------------------------------------------------------------


def test_the_picker_goes_straight_to_the_only_building(alpha, wechat_office):
    answer = public_client().get(f"/wechat/{wechat_office.remote.appid}/go/request/")
    assert answer.status_code == 302
    location = urlsplit(answer["Location"])
    assert (location.hostname, location.path) == ("alpha.localhost", "/wx/start/")
    assert parse_qs(location.query) == {"next": ["/visit/request/"]}


def test_the_picker_lists_the_buildings_of_an_account_serving_several(alpha, beta, wechat_office):
    wechat_office.serve(beta)
    answer = public_client().get(f"/wechat/{wechat_office.remote.appid}/go/staff/")
    page = html(answer)
    assert answer.status_code == 200
    assert "Alpha Tower" in page and "Beta Park" in page
    assert "http://alpha.localhost/wx/start/?next=%2Fwx%2Fstaff%2F" in page
    assert "http://beta.localhost/wx/start/?next=%2Fwx%2Fstaff%2F" in page


@pytest.mark.parametrize("path", ["go/nowhere/", "go/../admin/"])
def test_the_picker_knows_only_its_pages(wechat_office, path):
    answer = public_client().get(f"/wechat/{wechat_office.remote.appid}/{path}")
    assert answer.status_code == 404


def test_the_picker_of_an_unknown_account_is_a_404(db):
    assert public_client().get(f"/wechat/{APPID}/go/me/").status_code == 404


def test_check_shows_wechats_code_for_an_appid_it_does_not_know(alpha, wechat_office):
    del wechat_office.sandbox.accounts[wechat_office.remote.appid]
    answer = admin(alpha).post("/settings/wechat/check/", follow=True)
    assert "40013" in html(answer)
