"""Security headers on every kind of page: a Content-Security-Policy whose nonce is the one the
page's own inline scripts carry (and no inline event handler, which no nonce can allow), and
``Cache-Control: no-store`` wherever the address itself is the credential."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tenants.models import Building
from tests.access.conftest import SYSTEM, make_visit
from tests.conftest import admin_of, client_for, member
from tests.forms.conftest import make_host
from tests.workflows.test_flows import link_in, submit_request
from visit_platform.access import actions
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'")

CONSOLE_PAGES = [
    "/",
    "/visits/",
    "/people/",
    "/tasks/",
    "/forms/",
    "/gates/",
    "/alerts/",
    "/audit/",
    "/policies/",
    "/security/",
    "/invite/",
    "/reception/walk_in/",
    "/roll-call/",
]
ANONYMOUS_PAGES = ["/login/", "/me/", "/visit/request/", "/account/password-reset/"]
API_ADDRESSES = ["/api/forms/request/form", "/api/gate/no-such-address"]
# Addresses whose code is a credential, spent, forged or unknown: still never cached.
SECRET_ADDRESSES = [
    "/a/not-a-real-code-000000/",
    "/o/not-a-real-code-000000/",
    "/p/not-a-real-code-000000/",
    "/p/not-a-real-code-000000/token.json",
    "/wx/invitations/not-a-real-token/",
    "/wx/events/not-a-real-token/",
    "/account/set-password/MQ/set-password/",
]


def policy(response) -> str:  # type: ignore[no-untyped-def]
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    return str(header)


def assert_scripts_carry_the_nonce(response) -> None:  # type: ignore[no-untyped-def]
    """The header's nonce is fresh and every inline script carries it; no inline handler."""
    header = policy(response)
    found = NONCE.search(header)
    assert found, header
    assert "frame-ancestors 'none'" in header
    assert "'unsafe-inline'" not in header.split("script-src", 1)[1].split(";", 1)[0]
    if "html" not in response.get("Content-Type", ""):
        return
    page = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", page):
        if "src=" not in tag and 'type="application/json"' not in tag:
            assert f'nonce="{found.group(1)}"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), "an inline event handler"


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_pages_carry_a_policy_with_the_nonce_of_their_scripts(
    alpha: Building, path: str
) -> None:
    response = client_for(alpha, admin_of(alpha)).get(path)

    assert response.status_code == 200, path
    assert_scripts_carry_the_nonce(response)


@pytest.mark.parametrize("path", ANONYMOUS_PAGES + API_ADDRESSES)
def test_public_mobile_and_api_answers_carry_the_policy(alpha: Building, path: str) -> None:
    response = client_for(alpha).get(path)

    assert response.status_code < 500, path
    assert_scripts_carry_the_nonce(response)


def test_the_operators_site_carries_the_policy(db: None) -> None:
    response = Client(HTTP_HOST="localhost").get("/admin/login/")

    assert response.status_code == 200
    assert NONCE.search(policy(response))


def test_each_response_gets_a_nonce_of_its_own(alpha: Building) -> None:
    """A nonce that repeats is a nonce an attacker can copy into injected markup."""
    client = client_for(alpha)
    nonces = {NONCE.search(policy(client.get("/login/"))).group(1) for _ in range(3)}  # type: ignore[union-attr]

    assert len(nonces) == 3


@pytest.mark.parametrize("path", SECRET_ADDRESSES)
def test_addresses_that_carry_a_secret_are_never_cached(alpha: Building, path: str) -> None:
    response = client_for(alpha).get(path)

    assert response.status_code < 500, path
    assert response["Cache-Control"] == "no-store", path
    assert NONCE.search(policy(response))


def test_a_real_decision_link_and_pass_page_are_never_cached(
    alpha: Building, in_alpha: Building
) -> None:
    make_host()
    submit_request(alpha)
    decision_link = link_in("approval_request", "/a/")
    issued = actions.issue_pass(SYSTEM, make_visit())
    client = client_for(alpha)

    for path in (decision_link, f"/p/{issued.link_code}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "no-store", path
        assert_scripts_carry_the_nonce(response)


def test_the_roll_call_and_pass_scripts_carry_the_nonce(
    alpha: Building, in_alpha: Building
) -> None:
    """The two pages with inline scripts: without the nonce, the browser would not run them."""
    issued = actions.issue_pass(SYSTEM, make_visit())
    security = member(alpha, "guard@alpha.example", Role.SECURITY)
    started = client_for(alpha, security).post("/roll-call/start/", {"confirm": "yes"})
    roll_call = client_for(alpha, security).get(started.url)

    for response in (client_for(alpha).get(f"/p/{issued.link_code}/"), roll_call):
        assert response.status_code == 200
        assert "<script nonce=" in response.content.decode()
        assert_scripts_carry_the_nonce(response)


def test_an_uploaded_file_keeps_its_own_stricter_policy(alpha: Building) -> None:
    """The answer-file view forbids everything (sandbox); the page policy must not replace it."""
    from visit_platform.web.middleware import SecurityHeadersMiddleware

    def view(request):  # type: ignore[no-untyped-def]
        from django.http import HttpResponse

        response = HttpResponse(b"x")
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    from django.test import RequestFactory

    response = SecurityHeadersMiddleware(view)(RequestFactory().get("/"))

    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
