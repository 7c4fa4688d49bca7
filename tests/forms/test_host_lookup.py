"""The visitor's form names the host by mobile, or by company and full name (issue 16): a miss
is answered in one neutral sentence, whatever did not match, and lookups are rate-limited."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from forms.actions import host_not_found_message
from forms.queries import current_version
from tests.conftest import client_for
from tests.forms.conftest import SYSTEM, make_host, request_answers
from visit_platform.directory.actions import create_company, create_host, set_company_active
from visit_platform.directory.models import Host
from visit_platform.directory.queries import find_host
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit, Visitor

pytestmark = pytest.mark.django_db


def _local(iso: str) -> str:
    from datetime import datetime

    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%dT%H:%M")


def post_data(**changes: Any) -> dict[str, Any]:
    answers = request_answers()
    data = {
        "form_version": str(current_version(Scenario.REQUEST).pk),
        "submission_id": str(uuid.uuid4()),
        "visitor_name": answers["visitor_name"],
        "visitor_mobile": answers["visitor_mobile"],
        "host_mobile": "",
        "visit_start": _local(answers["visit_start"]),
        "visit_end": _local(answers["visit_end"]),
        "purpose": "business",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def errors(response: Any) -> list[str]:
    return re.findall(
        r'<div class="ff-error" role="alert">([^<]*)</div>', response.content.decode()
    )


@pytest.fixture
def host(in_alpha: Any) -> Host:
    return make_host()


def send(building: Any, **changes: Any) -> Any:
    with override_settings(LANGUAGE_CODE="en"):
        client = client_for(building)
        client.cookies["django_language"] = "en"
        return client.post("/visit/request/", post_data(**changes))


def test_a_visitor_names_the_host_by_company_and_full_name(in_alpha: Any, host: Host) -> None:
    response = send(in_alpha, host_company=str(host.company_id), host_name="  李雷 ")

    assert response.status_code == 302
    assert Visit.objects.get().host == host


def test_inner_whitespace_is_normalised_and_latin_case_ignored(in_alpha: Any) -> None:
    company = create_company(SYSTEM, name="Northwind", floors="21")
    david = create_host(SYSTEM, company, name="David  Chen", mobile="13911110007")

    response = send(in_alpha, host_company=str(company.pk), host_name="david chen")

    assert response.status_code == 302
    assert Visit.objects.get().host == david


@pytest.mark.parametrize(
    "changes",
    [
        {"host_mobile": "13700000000"},  # nobody's number
        {"host_mobile": "13911112222", "host_name": "王五"},  # a host's number, another name
        {"host_company": "{other}", "host_name": "李雷"},  # the name, in another company
        {"host_company": "{company}", "host_name": "李"},  # part of the name is no name
        {"host_name": "李雷"},  # a name without a company: no building-wide search
    ],
    ids=[
        "unknown-mobile",
        "known-mobile-wrong-name",
        "wrong-company",
        "partial-name",
        "no-company",
    ],
)
def test_every_miss_gets_the_same_neutral_message_and_stores_nothing(
    in_alpha: Any, host: Host, changes: dict[str, str]
) -> None:
    other = create_company(SYSTEM, name="别的公司", floors="3")
    changes = {
        key: value.format(company=host.company_id, other=other.pk) for key, value in changes.items()
    }

    response = send(in_alpha, **changes)

    assert response.status_code == 200
    with override_settings(LANGUAGE_CODE="en"):
        from django.utils import translation

        with translation.override("en"):
            expected = host_not_found_message()
    assert errors(response) == [expected.replace("'", "&#x27;")]
    assert Visit.objects.count() == 0
    assert Visitor.objects.count() == 0


def test_unknown_mobile_and_known_mobile_with_wrong_name_read_the_same(
    in_alpha: Any, host: Host
) -> None:
    unknown = send(in_alpha, host_mobile="13700000000")
    wrong_name = send(in_alpha, host_mobile="13911112222", host_name="王五")

    assert errors(unknown) == errors(wrong_name)
    assert "No employee" not in unknown.content.decode()


def test_a_host_found_by_name_never_has_their_mobile_shown_back(in_alpha: Any, host: Host) -> None:
    # Found by name, but the form is sent back for another answer: the number stays hidden.
    response = send(in_alpha, host_company=str(host.company_id), host_name="李雷", purpose="")

    html = response.content.decode()
    assert response.status_code == 200
    host_input = re.search(r'<input[^>]*name="host_mobile"[^>]*>', html)
    assert host_input is not None
    assert "value=" not in host_input.group(0) or 'value=""' in host_input.group(0)
    assert "139 1111 2222" not in html and "+8613911112222" not in html
    assert Visit.objects.count() == 0


def test_the_form_lists_companies_but_never_employees(in_alpha: Any, host: Host) -> None:
    html = client_for(in_alpha).get("/visit/request/").content.decode()

    assert f'<option value="{host.company_id}"' in html
    assert host.company.name in html
    assert "李雷" not in html


def test_the_hosts_mobile_is_not_marked_required_where_the_name_may_replace_it(
    in_alpha: Any, host: Host
) -> None:
    html = client_for(in_alpha).get("/visit/request/").content.decode()
    response = send(in_alpha, host_mobile="")  # neither a mobile nor a name

    mobile_field = re.search(r'<div class="ff[^"]*" data-key="host_mobile">.*?</div>', html, re.S)
    assert mobile_field is not None
    assert "ff-req" not in mobile_field.group(0) and " required" not in mobile_field.group(0)
    # Still, a host must be named one way or the other.
    assert 'has-error" data-key="host_mobile"' in response.content.decode()
    assert Visit.objects.count() == 0


def test_an_inactive_company_is_neither_listed_nor_matched(in_alpha: Any, host: Host) -> None:
    set_company_active(SYSTEM, host.company, False)

    html = client_for(in_alpha).get("/visit/request/").content.decode()
    response = send(in_alpha, host_company=str(host.company_id), host_name="李雷")

    assert f'<option value="{host.company_id}"' not in html
    assert response.status_code == 200
    assert Visit.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"host_company": "abc", "host_name": "李雷"}, 200),
        ({"host_company": "-1", "host_name": "李雷"}, 200),
        ({"host_company": "9" * 40, "host_name": "李雷"}, 200),
        ({"host_company": "{company}", "host_name": "李" * 10_000}, 200),
        # Control characters are refused at the edge (ADR 0025), before any lookup.
        ({"host_company": "{company}", "host_name": "李\x00雷"}, 400),
        ({"host_company": "{company}\x00", "host_name": "李雷"}, 400),
    ],
    ids=["letters", "negative", "past-bigint", "oversized-name", "nul-in-name", "nul-in-id"],
)
def test_malformed_or_forged_host_details_are_a_plain_miss(
    in_alpha: Any, host: Host, changes: dict[str, str], status: int
) -> None:
    changes = {
        key: value.replace("{company}", str(host.company_id)) for key, value in changes.items()
    }

    response = send(in_alpha, **changes)

    assert response.status_code == status
    if status == 200:
        assert len(errors(response)) == 1
    assert Visit.objects.count() == 0


def test_a_resent_submission_makes_one_visit(in_alpha: Any, host: Host) -> None:
    data = {
        "host_company": str(host.company_id),
        "host_name": "李雷",
        "submission_id": str(uuid.uuid4()),
    }

    first = send(in_alpha, **data)
    again = send(in_alpha, **data)

    assert first.status_code == again.status_code == 302
    assert Visit.objects.count() == 1


def test_lookups_past_the_limit_are_refused_with_429(in_alpha: Any, host: Host) -> None:
    limits = {
        "sms_code": (10, 200, 3600),
        "visit_request": (100, 500, 3600),
        "decision_link": (20, 600, 600),
        "forms_api": (60, 3000, 600),
        "host_lookup": (2, 300, 3600),
    }
    with override_settings(RATE_LIMITS=limits):
        tries = [send(in_alpha, host_mobile=f"1370000000{digit}") for digit in range(3)]
        after = send(in_alpha, host_company=str(host.company_id), host_name="李雷")

    assert [response.status_code for response in tries] == [200, 200, 429]
    assert after.status_code == 429
    assert int(after["Retry-After"]) > 0
    assert Visit.objects.count() == 0


def test_find_host_needs_a_mobile_or_a_company_and_a_name(in_alpha: Any, host: Host) -> None:
    assert find_host(name="李雷") is None
    assert find_host(company_id=host.company_id) is None
    assert find_host(company_id=host.company_id, name="李雷") == host
    assert find_host(mobile=host.mobile) == host
    assert find_host(mobile=host.mobile, name="李 雷") is None


def test_two_employees_of_one_name_in_a_company_are_no_match(in_alpha: Any, host: Host) -> None:
    create_host(SYSTEM, host.company, name="李雷", mobile="13911113333")

    assert find_host(company_id=host.company_id, name="李雷") is None
    assert find_host(company_id=host.company_id, name="李雷", mobile="+8613911113333") is not None
