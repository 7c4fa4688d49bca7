"""Signing in by e-mail on a building's domain, signing out, and choosing a first password."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.conftest import ADMIN_PASSWORD, admin_of, client_for, member
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Membership

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


def invite(alpha: Building, email: str, capture: Any) -> tuple[Any, str]:
    """Grant a role to a new person; return the page and the link path from their e-mail."""
    admin = browser(alpha, admin_of(alpha))
    with capture(execute=True):
        granted = admin.post("/people/", {"email": email, "role": "security"}, follow=True)
    assert [message.to for message in mail.outbox] == [[email]]
    link = re.search(r"http://alpha\.localhost(/account/set-password/\S+)", mail.outbox[0].body)
    assert link is not None
    return granted, link.group(1)


def test_invitation_link_is_e_mailed_to_the_person_and_never_shown_to_the_admin(
    alpha: Building, django_capture_on_commit_callbacks: Any
) -> None:
    granted, link = invite(alpha, "new.guard@alpha.example", django_capture_on_commit_callbacks)

    assert link not in text(granted)
    assert "/account/set-password/" not in text(granted)
    assert "new.guard@alpha.example" in text(granted)


def test_new_member_sets_a_password_through_the_link_and_signs_in(
    alpha: Building, django_capture_on_commit_callbacks: Any
) -> None:
    _granted, path = invite(alpha, "new.guard@alpha.example", django_capture_on_commit_callbacks)
    newcomer = browser(alpha)

    form = newcomer.get(path, follow=True)
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


def test_set_password_link_works_only_once(
    alpha: Building, django_capture_on_commit_callbacks: Any
) -> None:
    _granted, path = invite(alpha, "new.guard@alpha.example", django_capture_on_commit_callbacks)
    first = browser(alpha)
    form = first.get(path, follow=True)
    first.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Guard-Post-2026!", "new_password2": "Guard-Post-2026!"},
    )

    again = browser(alpha).get(path, follow=True)

    assert "This link is no longer valid" in text(again)


def test_admin_resends_an_invitation_by_e_mail_and_the_audit_log_records_it(
    alpha: Building, django_capture_on_commit_callbacks: Any
) -> None:
    invite(alpha, "late.guard@alpha.example", django_capture_on_commit_callbacks)
    with schema_context(alpha.schema_name):
        membership = Membership.objects.get(user__email="late.guard@alpha.example")
    admin = browser(alpha, admin_of(alpha))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/people/{membership.pk}/invite/")

    assert (response.status_code, response["Location"]) == (302, "/people/")
    assert [message.to for message in mail.outbox] == [
        ["late.guard@alpha.example"],
        ["late.guard@alpha.example"],
    ]
    with schema_context(alpha.schema_name):
        assert (
            AuditEntry.objects.filter(
                verb="membership.invitation_sent", object_id=str(membership.pk)
            ).count()
            == 1
        )


def test_resending_an_invitation_to_someone_with_a_password_is_refused(alpha: Building) -> None:
    guard = member(alpha, "active.guard@alpha.example", Role.SECURITY)
    with schema_context(alpha.schema_name):
        membership = Membership.objects.get(user=guard)
    admin = browser(alpha, admin_of(alpha))

    response = admin.post(f"/people/{membership.pk}/invite/", follow=True)

    assert "already chosen a password" in text(response)
    assert mail.outbox == []
