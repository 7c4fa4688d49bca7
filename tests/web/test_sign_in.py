"""Signing in by e-mail on a building's domain, signing out, and choosing a first password."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from tenants.models import Building, User
from tests.conftest import ADMIN_PASSWORD, admin_of, client_for, member
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db


def browser(building: Building, user: User | None = None) -> Client:
    client = client_for(building, user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def alert(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'<div class="message error" role="alert">([^<]*)</div>', text(response))
    return match.group(1) if match else ""


def test_property_admin_signs_in_with_email_and_password(alpha: Building) -> None:
    client = browser(alpha)

    response = client.post(
        "/login/", {"username": "admin@alpha.example", "password": ADMIN_PASSWORD}
    )

    assert (response.status_code, response["Location"]) == (302, "/")
    assert int(client.session["_auth_user_id"]) == admin_of(alpha).pk


def test_email_is_matched_whatever_its_case(alpha: Building) -> None:
    client = browser(alpha)

    response = client.post(
        "/login/", {"username": " Admin@Alpha.EXAMPLE", "password": ADMIN_PASSWORD}
    )

    assert (response.status_code, response["Location"]) == (302, "/")


def test_wrong_password_is_refused_with_a_readable_message(alpha: Building) -> None:
    client = browser(alpha)

    response = client.post("/login/", {"username": "admin@alpha.example", "password": "nope"})

    assert response.status_code == 200
    assert alert(response) == "The e-mail address or password is not correct."
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_message_as_a_wrong_password(alpha: Building) -> None:
    response = browser(alpha).post(
        "/login/", {"username": "nobody@alpha.example", "password": ADMIN_PASSWORD}
    )

    assert alert(response) == "The e-mail address or password is not correct."


def test_revoked_member_cannot_sign_in_any_more(alpha: Building) -> None:
    clerk = member(alpha, "clerk@alpha.example", Role.RECEPTION)
    admin = browser(alpha, admin_of(alpha))
    people = admin.get("/people/")
    revoke_url = re.search(
        r'<td>clerk@alpha.example.*?action="(/people/\d+/revoke/)"', text(people), re.S
    )
    assert revoke_url is not None
    admin.post(revoke_url.group(1))

    response = browser(alpha).post("/login/", {"username": clerk.email, "password": ADMIN_PASSWORD})

    assert alert(response) == "This account has no role in this building."


def test_sign_in_returns_to_the_page_asked_for(alpha: Building) -> None:
    client = browser(alpha)

    response = client.post(
        "/login/?next=/employees/",
        {"username": "admin@alpha.example", "password": ADMIN_PASSWORD, "next": "/employees/"},
    )

    assert response["Location"] == "/employees/"


def test_sign_in_does_not_return_to_another_site(alpha: Building) -> None:
    response = browser(alpha).post(
        "/login/",
        {
            "username": "admin@alpha.example",
            "password": ADMIN_PASSWORD,
            "next": "https://evil.example/",
        },
    )

    assert response["Location"] == "/"


def test_signing_out_ends_the_session(alpha: Building) -> None:
    client = browser(alpha, admin_of(alpha))

    response = client.post("/logout/")

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert client.get("/companies/")["Location"] == "/login/?next=/companies/"


def test_new_member_sets_a_password_through_the_link_and_signs_in(alpha: Building) -> None:
    admin = browser(alpha, admin_of(alpha))
    granted = admin.post("/people/", {"email": "new.guard@alpha.example", "role": "security"})
    link = re.search(
        r'<code id="set-password-link">http://alpha\.localhost([^<]+)</code>', text(granted)
    )
    assert link is not None
    newcomer = browser(alpha)

    form = newcomer.get(link.group(1), follow=True)
    chosen = newcomer.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Guard-Post-2026!", "new_password2": "Guard-Post-2026!"},
    )
    signed_in = newcomer.post(
        "/login/", {"username": "new.guard@alpha.example", "password": "Guard-Post-2026!"}
    )

    assert "Choose a password" in text(form)
    assert (chosen.status_code, chosen["Location"]) == (302, "/login/")
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")


def test_set_password_link_works_only_once(alpha: Building) -> None:
    admin = browser(alpha, admin_of(alpha))
    granted = admin.post("/people/", {"email": "new.guard@alpha.example", "role": "security"})
    link = re.search(
        r'<code id="set-password-link">http://alpha\.localhost([^<]+)</code>', text(granted)
    )
    assert link is not None
    first = browser(alpha)
    form = first.get(link.group(1), follow=True)
    first.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Guard-Post-2026!", "new_password2": "Guard-Post-2026!"},
    )

    again = browser(alpha).get(link.group(1), follow=True)

    assert "This link is no longer valid" in text(again)
