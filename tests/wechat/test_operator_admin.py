"""The platform operator's admin of Official Accounts (public site): secrets write-only, the
buildings an account serves chosen there."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tenants.models import Building, OfficialAccount, User
from tests.wechat_office import WeChatOffice

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db) -> Client:
    user = User.objects.create_superuser("operator@platform.example", "x" * 20)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user, backend="visit_platform.directory.backends.MembershipBackend")
    return client


def change_url(account: OfficialAccount) -> str:
    return f"/admin/tenants/officialaccount/{account.pk}/change/"


def form_data(account: OfficialAccount, buildings: list[Building], **changes: str) -> dict:
    return {
        "name": account.name,
        "appid": account.appid,
        "require_encryption": "on",
        "templates": json.dumps(account.templates),
        "buildings": [building.pk for building in buildings],
        "secret": "",
        "token": "",
        "encoding_aes_key": "",
        **changes,
    }


def test_the_change_page_shows_secrets_masked_only(operator, wechat_office: WeChatOffice):
    account = wechat_office.account
    page = operator.get(change_url(account)).content.decode()
    assert account.appid in page
    for secret in (account.secret, account.token, account.encoding_aes_key):
        assert secret not in page
    assert f"••••{account.secret[-4:]}" in page


def test_saving_with_blank_secrets_keeps_them_and_sets_the_buildings_served(
    operator, alpha, beta, wechat_office: WeChatOffice
):
    account = wechat_office.account
    old = (account.secret, account.token, account.encoding_aes_key)
    answer = operator.post(change_url(account), form_data(account, [beta], name="Renamed"))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    account.refresh_from_db()
    assert (account.secret, account.token, account.encoding_aes_key) == old
    assert account.name == "Renamed"
    assert list(account.buildings.values_list("schema_name", flat=True)) == ["beta"]


def test_bad_values_are_refused(operator, wechat_office: WeChatOffice):
    account = wechat_office.account
    answer = operator.post(
        change_url(account),
        form_data(account, [], appid="wx1", token="!", encoding_aes_key="short"),
    )
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert {"appid", "token", "encoding_aes_key"} <= set(errors)
    account.refresh_from_db()
    assert account.appid == wechat_office.remote.appid


def test_a_new_account_gets_a_token_and_key_when_left_blank(operator, alpha):
    answer = operator.post(
        "/admin/tenants/officialaccount/add/",
        {
            "name": "New Property",
            "appid": "wx00112233445566aa",
            "secret": "0123456789abcdef0123456789abcdef",
            "token": "",
            "encoding_aes_key": "",
            "require_encryption": "on",
            "templates": "{}",
            "buildings": [alpha.pk],
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    account = OfficialAccount.objects.get(appid="wx00112233445566aa")
    assert len(account.token) == 32 and len(account.encoding_aes_key) == 43
    assert Building.objects.get(schema_name="alpha").wechat_account == account
