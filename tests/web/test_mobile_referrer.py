"""The phone pages' referrer policy must let their own forms pass CSRF: under "no-referrer"
Chromium sends ``Origin: null`` with a form's POST, which Django's CSRF check refuses (the
marshal's roll-call page could not mark anyone). Other sites must still never see the
pages' addresses, which can be secret links."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tenants.actions import building_domain
from tenants.models import Building
from tests.access.conftest import make_gate
from tests.access.test_roll_call import entry_of, inside
from tests.conftest import member
from visit_platform.access.actions import start_roll_call
from visit_platform.access.models import RollCallEntry
from visit_platform.audit.actions import Actor
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db

LEAKS_TO_OTHER_SITES = {
    "unsafe-url",
    "origin",
    "origin-when-cross-origin",
    "no-referrer-when-downgrade",
}


def page_policy(html: str) -> str:
    found = re.search(r'<meta name="referrer" content="([^"]+)"', html)
    assert found, "a phone page must state its referrer policy"
    return found.group(1)


def chromium_origin(policy: str, page_origin: str) -> str:
    """The Origin header Chromium sends with a same-origin form POST from a page under
    ``policy``: "null" under no-referrer, the page's origin otherwise."""
    return "null" if policy == "no-referrer" else page_origin


def test_a_form_on_the_marshals_page_posts_past_csrf(in_alpha: Building) -> None:
    lobby = make_gate("大堂闸机", zone="A座大堂")
    inside("韩梅梅", "13800000071", lobby)
    roll_call = start_roll_call(Actor.system("tests"))
    host = building_domain(in_alpha.schema_name)
    client = Client(HTTP_HOST=host, enforce_csrf_checks=True)
    client.force_login(
        member(in_alpha, "marshal@alpha.example", Role.SECURITY),
        backend="visit_platform.directory.backends.MembershipBackend",
    )
    page = client.get(f"/roll-call/{roll_call.pk}/").content.decode()
    policy = page_policy(page)
    assert policy not in LEAKS_TO_OTHER_SITES
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    entry = entry_of(roll_call, "韩梅梅")

    answer = client.post(
        f"/roll-call/{roll_call.pk}/entries/{entry.pk}/",
        {"status": "safe", "csrfmiddlewaretoken": token.group(1)},
        HTTP_ORIGIN=chromium_origin(policy, f"http://{host}"),
    )

    assert answer.status_code == 302, answer.content.decode()[:500]
    assert RollCallEntry.objects.get(pk=entry.pk).status == "safe"


def test_a_forged_origin_is_still_refused(in_alpha: Building) -> None:
    lobby = make_gate("车库闸机", zone="地下车库")
    inside("王五", "13800000072", lobby)
    roll_call = start_roll_call(Actor.system("tests"))
    client = Client(HTTP_HOST=building_domain(in_alpha.schema_name), enforce_csrf_checks=True)
    client.force_login(
        member(in_alpha, "marshal2@alpha.example", Role.SECURITY),
        backend="visit_platform.directory.backends.MembershipBackend",
    )
    page = client.get(f"/roll-call/{roll_call.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    entry = entry_of(roll_call, "王五")

    answer = client.post(
        f"/roll-call/{roll_call.pk}/entries/{entry.pk}/",
        {"status": "safe", "csrfmiddlewaretoken": token.group(1)},
        HTTP_ORIGIN="https://evil.example",
    )

    assert answer.status_code == 403
    assert RollCallEntry.objects.get(pk=entry.pk).status == "unaccounted"
