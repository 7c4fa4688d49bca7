"""WeChat's OAuth on a building's pages: the openid is learnt through the sandbox's authorize
page and kept for this building only."""

from __future__ import annotations

import pytest

from tests.conftest import client_for
from tests.wechat_office import WeChatOffice, sign_in_with_wechat

pytestmark = pytest.mark.django_db


def test_a_page_for_wechat_users_goes_through_oauth_and_back(alpha, wechat_office: WeChatOffice):
    user = wechat_office.user("visitor")
    client = client_for(alpha)
    first = client.get("/wx/")
    assert first.status_code == 302 and first["Location"].startswith("/wx/start/")
    assert sign_in_with_wechat(client, wechat_office, user.openid, "/wx/") == "/wx/"
    assert client.get("/wx/").status_code == 200


def test_an_openid_signed_in_in_one_building_is_nothing_in_another(
    alpha, beta, wechat_office: WeChatOffice
):
    wechat_office.serve(beta)
    user = wechat_office.user()
    client = client_for(alpha)
    sign_in_with_wechat(client, wechat_office, user.openid, "/wx/")
    client.defaults["HTTP_HOST"] = "beta.localhost"
    assert client.get("/wx/").status_code == 302


@pytest.mark.parametrize(
    "query",
    [{}, {"code": "x"}, {"code": "x", "state": "forged"}, {"code": "x" * 500, "state": "s"}],
)
def test_a_return_from_oauth_without_our_state_is_refused(alpha, wechat_office, query):
    client = client_for(alpha)
    client.get("/wx/start/", {"next": "/wx/"})
    answer = client.get("/wx/oauth/", query)
    assert answer.status_code == 400
    assert client.get("/wx/").status_code == 302


def test_a_code_wechat_does_not_know_signs_nobody_in(alpha, wechat_office):
    client = client_for(alpha)
    started = client.get("/wx/start/", {"next": "/wx/"})
    state = started["Location"].split("state=")[1].split("#")[0]
    assert client.get("/wx/oauth/", {"code": "made-up", "state": state}).status_code == 502
    assert client.get("/wx/").status_code == 302


def test_next_never_leads_off_site(alpha, wechat_office):
    user = wechat_office.user()
    client = client_for(alpha)
    assert sign_in_with_wechat(client, wechat_office, user.openid, "//evil.example/") == "/wx/"


def test_a_building_without_an_account_says_so(alpha):
    assert client_for(alpha).get("/wx/start/").status_code == 404
