"""Sign-in throttling (issue 15): wrong passwords lock the account, and a client trying many
accounts, for a cool-off period; the page says sign-in is paused in the same words whether the
account exists or not, answers 429, and the building's audit log records the lockout once."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from axes.helpers import get_cache
from axes.middleware import AxesMiddleware
from axes.utils import reset
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django_tenants.utils import schema_context

from tenants.actions import building_domain
from tenants.models import Building, User
from tests.conftest import ADMIN_PASSWORD, admin_of, member
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.sign_in import keep_sign_in_page

pytestmark = pytest.mark.django_db

PAUSED = "Too many sign-in attempts. Sign-in is paused for a while; please try again later."
WRONG = "The e-mail address or password is not correct."


def browser(building: Building, address: str = "203.0.113.7", language: str = "en") -> Client:
    client = Client(HTTP_HOST=building_domain(building.schema_name), REMOTE_ADDR=address)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def alert(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(
        r'<div class="message error" role="alert">([^<]*)</div>', response.content.decode()
    )
    return match.group(1) if match else ""


def sign_in(client: Client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": email, "password": password})


def fail(client: Client, email: str, times: int) -> list[int]:
    return [sign_in(client, email, "wrong password").status_code for _ in range(times)]


def test_the_right_password_is_refused_while_the_account_is_locked_and_accepted_after(
    alpha: Building,
) -> None:
    client = browser(alpha)

    statuses = fail(client, "admin@alpha.example", 5)
    locked = sign_in(client, "admin@alpha.example", ADMIN_PASSWORD)

    assert statuses == [200, 200, 200, 200, 429]
    assert (locked.status_code, alert(locked)) == (429, PAUSED)
    assert locked["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in client.session
    # The counters expire with the cool-off; expiring them now stands for the 15 minutes.
    reset()
    assert sign_in(client, "admin@alpha.example", ADMIN_PASSWORD).status_code == 302


def test_the_lock_holds_for_the_account_from_every_client_and_for_every_spelling(
    alpha: Building,
) -> None:
    fail(browser(alpha, "203.0.113.7"), " Admin@Alpha.EXAMPLE", 5)

    response = sign_in(browser(alpha, "198.51.100.9"), "admin@alpha.example", ADMIN_PASSWORD)

    assert (response.status_code, alert(response)) == (429, PAUSED)


def test_a_client_trying_many_accounts_is_locked_for_all_of_them(alpha: Building, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SIGN_IN_FAILURES_PER_CLIENT = 4
    client = browser(alpha)

    statuses = [
        sign_in(client, f"guess{n}@alpha.example", "wrong password").status_code for n in range(4)
    ]
    refused = sign_in(client, "admin@alpha.example", ADMIN_PASSWORD)
    elsewhere = sign_in(browser(alpha, "198.51.100.9"), "admin@alpha.example", ADMIN_PASSWORD)

    assert statuses == [200, 200, 200, 429]
    assert (refused.status_code, alert(refused)) == (429, PAUSED)
    assert elsewhere.status_code == 302


def test_an_unknown_account_gets_the_same_answers_as_a_real_one(alpha: Building) -> None:
    real = [sign_in(browser(alpha, "203.0.113.7"), "admin@alpha.example", "x") for _ in range(5)]
    unknown = [
        sign_in(browser(alpha, "203.0.113.8"), "nobody@alpha.example", "x") for _ in range(5)
    ]

    assert [(r.status_code, alert(r)) for r in real] == [(r.status_code, alert(r)) for r in unknown]
    assert [alert(r) for r in real] == [WRONG] * 4 + [PAUSED]


def test_the_lockout_is_audited_once_in_the_building_signed_in_to(alpha: Building) -> None:
    client = browser(alpha)

    fail(client, "Admin@alpha.example", 8)

    with schema_context("alpha"):
        entries = list(AuditEntry.objects.filter(verb="sign_in.locked_out"))
    assert [(e.actor_label, e.ip_address, e.detail) for e in entries] == [
        (
            "sign-in throttle",
            "203.0.113.7",
            {
                "username": "admin@alpha.example",
                "locked": "account",
                "failures": 5,
                "cool_off_seconds": 900,
            },
        )
    ]
    with schema_context("beta"):
        assert not AuditEntry.objects.filter(verb="sign_in.locked_out").exists()


def test_another_user_signs_in_while_an_account_is_locked(alpha: Building) -> None:
    host = member(alpha, "host@alpha.example", Role.RECEPTION)
    fail(browser(alpha, "203.0.113.7"), "admin@alpha.example", 5)

    from_elsewhere = sign_in(browser(alpha, "198.51.100.9"), host.email, ADMIN_PASSWORD)
    from_the_same_client = sign_in(browser(alpha, "203.0.113.7"), host.email, ADMIN_PASSWORD)

    assert (from_elsewhere.status_code, from_the_same_client.status_code) == (302, 302)


def test_an_ipv6_client_is_counted_by_its_network(alpha: Building, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SIGN_IN_FAILURES_PER_CLIENT = 2
    sign_in(browser(alpha, "2001:db8:1:2::1"), "a@alpha.example", "x")
    sign_in(browser(alpha, "2001:db8:1:2::ffff"), "b@alpha.example", "x")

    same_network = sign_in(browser(alpha, "2001:db8:1:2::3"), "admin@alpha.example", ADMIN_PASSWORD)
    other_network = sign_in(
        browser(alpha, "2001:db8:1:3::1"), "admin@alpha.example", ADMIN_PASSWORD
    )

    assert (same_network.status_code, other_network.status_code) == (429, 302)


def test_the_counters_expire_with_the_cool_off(alpha: Building) -> None:
    fail(browser(alpha), "admin@alpha.example", 2)

    cache = get_cache()
    redis = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(redis.scan_iter(match="*sign_in*"))
    assert len(keys) == 2
    assert all(0 < redis.ttl(key) <= 15 * 60 for key in keys)


def test_the_operators_admin_site_is_throttled_too(db: None) -> None:
    operator = User.objects.create_superuser(email="operator@example.com", password=ADMIN_PASSWORD)
    client = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR="203.0.113.7")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    statuses = [
        client.post("/admin/login/", {"username": operator.email, "password": "x"}).status_code
        for _ in range(5)
    ]
    locked = client.post("/admin/login/", {"username": operator.email, "password": ADMIN_PASSWORD})

    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert PAUSED in locked.content.decode()


def test_the_paused_message_speaks_chinese_by_default(alpha: Building) -> None:
    client = browser(alpha, language="zh-hans")

    responses = [sign_in(client, "admin@alpha.example", "x") for _ in range(5)]

    assert alert(responses[-1]) == "登录尝试次数过多，已暂停登录一段时间，请稍后再试。"


def test_a_successful_sign_in_does_not_reset_the_clients_counter(alpha: Building, settings) -> None:  # type: ignore[no-untyped-def]
    """Otherwise an attacker with an account of their own could clear their address's count
    between guesses at other accounts."""
    settings.SIGN_IN_FAILURES_PER_CLIENT = 3
    client = browser(alpha)
    admin_of(alpha)
    sign_in(client, "a@alpha.example", "x")
    sign_in(client, "b@alpha.example", "x")
    assert sign_in(browser(alpha), "admin@alpha.example", ADMIN_PASSWORD).status_code == 302

    assert sign_in(browser(alpha), "c@alpha.example", "x").status_code == 429


def test_the_paused_page_is_kept_when_served_over_asgi() -> None:
    """Production runs ASGI, where axes' own middleware handed the lockout response its
    arguments out of order and lost the page the sign-in view drew."""
    request = RequestFactory().post("/login/", {"username": "a@example.com", "password": "x"})
    request.axes_locked_out = True  # type: ignore[attr-defined]

    async def sign_in_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("<form>the sign-in page</form>")

    response = async_to_sync(AxesMiddleware(keep_sign_in_page(sign_in_view)))(request)

    assert (response.status_code, response.content) == (429, b"<form>the sign-in page</form>")
    assert response["Retry-After"] == str(15 * 60)
