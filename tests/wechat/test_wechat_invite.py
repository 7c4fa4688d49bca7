"""A bound employee invites from WeChat (/wx/staff/invite/): the building's invitation form,
for them only; anyone else is sent to bind first, and bad input changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tenants.models import Building
from tests.access.conftest import make_host
from tests.wechat.employees import bound_phone, wechat_phone
from tests.wechat.visitor_phone import request_form_data
from tests.wechat_office import WeChatOffice
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db


def invitation_data(client: Client, **changes: Any) -> dict[str, Any]:
    """What the employee's phone posts: the invitation form's current version, a visitor."""
    page = client.get("/wx/staff/invite/").content.decode()
    found = re.search(r'name="form_version" value="(\d+)"', page)
    assert found, page[:2000]
    return request_form_data(host_mobile=None, form_version=found.group(1), **changes)


def test_a_wechat_user_bound_to_nobody_is_sent_to_bind_first(
    alpha: Building, in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    stranger = wechat_phone(alpha, wechat_office, "stranger")
    page = stranger.client.get("/wx/staff/invite/")
    posted = stranger.client.post("/wx/staff/invite/", request_form_data(host_mobile=None))

    assert (page.status_code, page["Location"]) == (302, "/wx/staff/")
    assert posted.status_code == 302
    assert not Visit.objects.exists()


def test_the_staff_page_offers_the_invitation_and_the_form_names_the_employee(
    alpha: Building, in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    host = make_host()
    employee = bound_phone(alpha, wechat_office, host)

    staff = employee.client.get("/wx/staff/").content.decode()
    form = employee.client.get("/wx/staff/invite/")

    assert 'href="/wx/staff/invite/"' in staff
    assert form.status_code == 200 and host.company.name in form.content.decode()
    assert form["Cache-Control"] == "no-store"


def test_malformed_oversized_and_forged_invitations_change_nothing(
    alpha: Building, in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    host = make_host()
    employee = bound_phone(alpha, wechat_office, host)

    malformed = employee.client.post(
        "/wx/staff/invite/", invitation_data(employee.client, visitor_mobile="not a number")
    )
    oversized = employee.client.post(
        "/wx/staff/invite/",
        {"visitor_name": "x" * 100},
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    employee.client.cookies.pop("csrftoken", None)
    employee.client.handler.enforce_csrf_checks = True
    forged = employee.client.post("/wx/staff/invite/", invitation_data(employee.client))

    assert malformed.status_code == 200 and 'class="ff-error"' in malformed.content.decode()
    assert oversized.status_code == 413
    assert forged.status_code == 403
    assert not Visit.objects.exists()


def test_a_replayed_invitation_invites_once(
    alpha: Building, in_alpha: Building, wechat_office: WeChatOffice
) -> None:
    host = make_host()
    employee = bound_phone(alpha, wechat_office, host)
    data = invitation_data(employee.client)

    first = employee.client.post("/wx/staff/invite/", data)
    again = employee.client.post("/wx/staff/invite/", data)

    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Visit.objects.filter(host=host, scenario="invite").count() == 1
