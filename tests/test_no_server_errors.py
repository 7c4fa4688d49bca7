"""Every URL of both hosts, with junk ids, control characters, huge values and wrong types,
for every role: no answer is a server error (issue 15).

The URLs come from the URL configurations themselves, and the form field names from the
views' own source, so a new page or field is walked without anyone remembering to add it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django_tenants.utils import schema_context

from tenants.actions import building_domain
from tenants.models import Building, User
from tests.conftest import admin_of, member
from visit_platform.access.actions import create_gate_agent
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role

ROOT = Path(__file__).resolve().parent.parent
BIG = str(2**63)
# Values put in every place a URL takes a parameter; one URL per value.
JUNK_IDS = ["0", BIG, "abc", "%00", "x" * 3000]
# <name>, <int:name>... in a route; (?P<name>...) in a regular expression.
ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?\w+>")
REGEX_GROUP = re.compile(r"\(\?P<\w+>[^)]*\)")
FIELD_NAME = re.compile(r"""(?:POST|GET|FILES)(?:\.get|\.getlist)?[(\[]\s*["'](\w+)["']""")


def _field_names() -> list[str]:
    """Every name a view reads from a query or a form, found in the project's source."""
    names: set[str] = {"q", "company", "reason", "decision", "page", "next", "csrfmiddlewaretoken"}
    for package in ("visit_platform", "forms", "workflows", "kernel", "tenants", "integrations"):
        for source in (ROOT / package).rglob("*.py"):
            names.update(FIELD_NAME.findall(source.read_text(encoding="utf-8")))
    return sorted(names)


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def _urls(urlconf: str) -> list[str]:
    """One URL per route and junk value: parameters filled with it, regex syntax removed.
    URLs that no view serves (``abc`` for a number) are left out: the resolver answers 404."""
    urls: set[str] = set()
    for route in _routes(get_resolver(urlconf).url_patterns):
        for junk in JUNK_IDS:
            url = REGEX_GROUP.sub(junk, ROUTE_PARAMETER.sub(junk, route))
            url = re.sub(r"[\^$]|\\Z|\\A", "", url).replace("\\", "").replace("(?:", "")
            try:
                resolve("/" + url, urlconf)
            except Resolver404:
                continue
            urls.add("/" + url)
    return sorted(urls)


FIELDS = _field_names()
# Form bodies: wrong types, numbers past bigint, negative, huge text, NUL and control codes.
BODIES = [
    {name: "abc" for name in FIELDS},
    {name: BIG for name in FIELDS},
    {name: "-1" for name in FIELDS},
    {name: "字" * 3000 for name in FIELDS[:20]},
    {name: "bad\x00value\x1b" for name in FIELDS},
]
QUERIES = BODIES[:2]


def _walk(client: Client, urls: list[str]) -> list[str]:
    """The requests answered with a server error, as "METHOD url (body)", and the pages
    answered without a Content-Security-Policy naming a nonce (every page, whatever its
    status, carries one: issue 15)."""
    failures = []
    for url in urls:
        for query in [{}, *QUERIES]:
            response = client.get(url, query)
            if response.status_code >= 500:
                failures.append(f"GET {url} {sorted(query.items())[:3]}")
            elif _page_without_policy(response):
                failures.append(f"no Content-Security-Policy: GET {url}")
        for index, body in enumerate(BODIES):
            response = client.post(url, body)
            if response.status_code >= 500:
                failures.append(f"POST {url} body#{index}")
    return failures


def _page_without_policy(response: Any) -> bool:
    is_page = response.get("Content-Type", "").startswith("text/html")
    return is_page and "'nonce-" not in response.get("Content-Security-Policy", "")


def _members(alpha: Building) -> list[User | None]:
    with schema_context(alpha.schema_name):
        system = Actor.system("tests")
        company = create_company(system, name="云图科技", floors="12", zone="A座")
        create_host(system, company, name="张伟", mobile="13812345678")
    users: list[User | None] = [None, admin_of(alpha)]
    for role in Role:
        if role == Role.PROPERTY_ADMIN:
            continue
        scoped = company if role in (Role.COMPANY_ADMIN, Role.HOST) else None
        users.append(member(alpha, f"{role}@alpha.example", role, scoped))
    return users


@pytest.mark.slow
def test_no_url_of_a_building_answers_a_server_error_for_any_role(alpha: Building) -> None:
    urls = _urls("visit_platform.urls")
    failures = []
    for user in _members(alpha):
        client = Client(HTTP_HOST=building_domain(alpha.schema_name), raise_request_exception=False)
        if user is not None:
            client.force_login(user, backend="visit_platform.directory.backends.MembershipBackend")
        failures += [f"{user}: {failure}" for failure in _walk(client, urls)]
    assert failures == []


@pytest.mark.slow
def test_no_url_of_the_public_site_answers_a_server_error(db: None) -> None:
    """Anonymously and as a platform operator (a superuser in the operators' admin site)."""
    urls = _urls("visit_platform.urls_public")
    operator = User.objects.create_superuser(email="operator@example.com", password="x" * 20)
    failures = []
    for user in (None, operator):
        client = Client(HTTP_HOST=settings.BASE_DOMAIN, raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        failures += [f"{user}: {failure}" for failure in _walk(client, urls)]
    assert failures == []


# --- The cases the probe found (issue 15), fast enough for every run -------------------------


def _admin_client(alpha: Building) -> Client:
    client = Client(HTTP_HOST=building_domain(alpha.schema_name), raise_request_exception=False)
    client.force_login(
        admin_of(alpha), backend="visit_platform.directory.backends.MembershipBackend"
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.parametrize("page", ["/people/", "/visits/", "/companies/", "/employees/", "/audit/"])
def test_a_nul_in_a_list_search_is_refused_with_a_readable_page(alpha: Building, page: str) -> None:
    response = _admin_client(alpha).get(page, {"q": "bad\x00name"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "control characters" in response.content.decode()


def test_a_nul_in_a_refusal_reason_on_a_decision_link_is_refused(alpha: Building) -> None:
    client = Client(HTTP_HOST=building_domain(alpha.schema_name), raise_request_exception=False)

    response = client.post("/a/any-code/", {"decision": "refuse", "reason": "bad\x00reason"})

    assert response.status_code == 400


@pytest.mark.parametrize("character", ["\x01", "\x0b", "\x1f"])
def test_other_control_characters_in_a_form_are_refused_but_tab_and_newlines_pass(
    alpha: Building, character: str
) -> None:
    client = _admin_client(alpha)

    refused = client.post("/forms/", {"scenario": "invite", "company": f"1{character}"})
    allowed = client.post("/forms/", {"scenario": "invite", "company": "1\t\r\n"})

    assert refused.status_code == 400
    assert allowed.status_code == 302


def test_a_company_that_is_not_a_number_is_a_form_error_on_the_forms_page(alpha: Building) -> None:
    client = _admin_client(alpha)

    for company in ("abc", "-1", BIG, "1" * 40):
        response = client.post("/forms/", {"scenario": "invite", "company": company}, follow=True)
        assert response.status_code == 200
        assert "Choose a scenario and a company." in response.content.decode()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/heartbeat", {"version": "1.0\x00", "controllers": []}),
        (
            "/heartbeat",
            {"controllers": [{"id": 1, "connected": False, "last_error": "timeout\x1b"}]},
        ),
        ("/commands/1/done", {"ok": False, "message": "jammed\x00"}),
    ],
)
def test_the_gate_api_refuses_control_characters_in_its_text_fields(
    alpha: Building, path: str, body: dict[str, object]
) -> None:
    """The gate API runs without the guard (its own handler, ADR 0005): its schemas refuse."""
    with schema_context(alpha.schema_name):
        _agent, key = create_gate_agent(Actor.system("tests"), name="lobby")
    client = Client(
        HTTP_HOST=building_domain(alpha.schema_name),
        HTTP_AUTHORIZATION=f"Bearer {key}",
        raise_request_exception=False,
    )

    response = client.post(f"/api/gate{path}", json.dumps(body), content_type="application/json")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_a_control_character_in_an_api_query_is_refused_with_a_json_answer(alpha: Building) -> None:
    client = Client(HTTP_HOST=building_domain(alpha.schema_name), raise_request_exception=False)

    response = client.get("/api/forms/request", {"lang": "zh\x00"})

    assert response.status_code == 400
    assert response.json()["code"] == "control_characters"


def test_a_gate_agent_key_with_a_nul_is_no_key(alpha: Building) -> None:
    """The gate API's own handler runs without the guard (it must stay fast): its bodies are
    checked by the shared JSON parser, and its key, the only other input, refuses a NUL."""
    client = Client(
        HTTP_HOST=building_domain(alpha.schema_name),
        HTTP_AUTHORIZATION="Bearer \x00bcdef0.secret",
        raise_request_exception=False,
    )

    response = client.get("/api/gate/keys")

    assert response.status_code == 401
