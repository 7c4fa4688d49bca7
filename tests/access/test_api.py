"""The gate API over HTTP: agents authenticate, scans are decided, passages are recorded once,
keys and revocations are served, and every bad request gets a clear JSON error and changes
nothing."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from kernel import pass_tokens as tokens
from tenants.actions import create_building
from tenants.models import Building
from tests.access.conftest import (
    SYSTEM,
    make_agent,
    make_gate,
    make_pass,
    make_visit,
    rotating_token,
    slip_token,
)
from tests.conftest import end_other_database_sessions
from visit_platform.access import actions
from visit_platform.access.choices import Reason
from visit_platform.access.models import AccessEvent, Gate, GateAgent, Pass, SigningKey
from visit_platform.access.queries import revocation_list

# Also the mark for the module-scoped building that the retry tests commit (at the end).
pytestmark = pytest.mark.django_db

API = "/api/gate"
ALPHA_HOST = "alpha.localhost"


# --- Helpers --------------------------------------------------------------------------------


@pytest.fixture
def agent_and_key(in_alpha: Building) -> tuple[GateAgent, str]:
    return make_agent()


@pytest.fixture
def agent(agent_and_key: tuple[GateAgent, str]) -> GateAgent:
    return agent_and_key[0]


@pytest.fixture
def client(agent_and_key: tuple[GateAgent, str]) -> Client:
    """A gate agent of building alpha, talking to alpha's domain with its key."""
    return agent_client(agent_and_key[1])


def agent_client(key: str | None, host: str = ALPHA_HOST, **options: Any) -> Client:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    return Client(HTTP_HOST=host, **headers, **options)


def post(client: Client, path: str, body: Any) -> HttpResponse:
    """POST ``body`` as JSON; a str or bytes body is sent as it is."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"{API}{path}", data=data, content_type="application/json")


def scan(client: Client, gate: Gate, token: str, **fields: Any) -> HttpResponse:
    return post(client, "/scans", {"gate_id": gate.pk, "token": token, **fields})


def assert_error(response: HttpResponse, status: int, code: str) -> dict[str, Any]:
    """A JSON error body with the code and a message for people."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def assert_denied(response: HttpResponse, reason: str) -> dict[str, Any]:
    assert response.status_code == 200
    body = response.json()
    assert (body["granted"], body["reason"], body["replayed"]) == (False, reason, False)
    return body


def assert_unused(pass_record: Pass) -> None:
    """Nothing happened to the pass or its visit."""
    pass_record.refresh_from_db()
    pass_record.visit.refresh_from_db()
    assert (pass_record.uses, pass_record.is_inside) == (0, False)
    assert pass_record.visit.status == "approved"


def passage(gate: Gate, **fields: Any) -> dict[str, Any]:
    item = {
        "event_id": str(uuid.uuid4()),
        "gate_id": gate.pk,
        "direction": "in",
        "occurred_at": "2026-03-02T09:15:00+08:00",
    }
    item.update(fields)
    return item


def current_key_id() -> int:
    return SigningKey.objects.filter(retired_at__isnull=True).values_list("key_id", flat=True)[0]


# --- Scans ----------------------------------------------------------------------------------


def test_a_valid_slip_token_is_granted_and_checks_the_visit_in(
    in_alpha: Building, client: Client, agent: GateAgent, gate: Gate, pass_record: Pass
) -> None:
    event_id = uuid.uuid4()

    response = scan(client, gate, slip_token(pass_record), event_id=str(event_id))

    with translation.override(in_alpha.default_language):
        granted = str(Reason.GRANTED.label)
    assert response.status_code == 200
    assert response.json() == {
        "event_id": str(event_id),
        "granted": True,
        "reason": "granted",
        "message": granted,
        "direction": "in",
        "pass_id": pass_record.pk,
        "replayed": False,
        "uses_left": None,  # an unlimited pass
    }
    pass_record.refresh_from_db()
    pass_record.visit.refresh_from_db()
    assert (pass_record.uses, pass_record.is_inside) == (1, True)
    assert pass_record.visit.status == "checked_in"
    event = AccessEvent.objects.get()
    assert (event.event_id, event.agent_id, event.gate_id, event.mode) == (
        event_id,
        agent.pk,
        gate.pk,
        "online",
    )


def test_random_bytes_as_a_token_are_denied_as_invalid_token(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    noise = random.Random(7).randbytes(84).decode("latin-1")

    response = scan(client, gate, noise)

    assert_denied(response, "invalid_token")
    assert_unused(pass_record)
    assert list(AccessEvent.objects.values_list("reason", "granted")) == [("invalid_token", False)]


def test_a_100_kb_token_is_refused_by_the_schema_and_records_nothing(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    response = scan(client, gate, "A" * 100_000)

    body = assert_error(response, 422, "invalid_request")
    assert body["details"] == [
        {
            "loc": ["token"],
            "message": "String should have at most 4096 characters",
            "type": "string_too_long",
        }
    ]
    assert len(response.content) < 1000  # the token is not echoed back
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_a_body_over_256_kb_is_refused_as_too_large_and_records_nothing(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    response = scan(client, gate, "A" * (256 * 1024))

    assert_error(response, 413, "too_large")
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_invalid_base45_is_denied_as_invalid_token(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    # Every character is in the alphabet, but ":::" stands for 91124, more than two bytes hold.
    response = scan(client, gate, ":" * 126)

    assert_denied(response, "invalid_token")
    assert_unused(pass_record)
    assert AccessEvent.objects.get().reason == "invalid_token"


def test_a_truncated_token_is_denied_as_invalid_token(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    response = scan(client, gate, slip_token(pass_record)[:-3])

    assert_denied(response, "invalid_token")
    assert_unused(pass_record)
    assert AccessEvent.objects.get().reason == "invalid_token"


def test_a_token_signed_by_another_key_under_the_right_key_id_is_denied_as_invalid_signature(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    claims = tokens.TokenClaims(
        kind=tokens.TokenKind.SLIP,
        building_tag=tokens.building_tag("alpha"),
        key_id=current_key_id(),
        pass_id=pass_record.pk,
        not_after=int(pass_record.valid_until.timestamp()),
    )
    forged = tokens.sign_token(claims, Ed25519PrivateKey.generate())

    response = scan(client, gate, forged)

    assert_denied(response, "invalid_signature")
    assert_unused(pass_record)
    assert AccessEvent.objects.get().reason == "invalid_signature"


def test_a_pass_of_building_beta_scanned_at_a_gate_of_alpha_is_denied_as_wrong_building(
    client: Client, gate: Gate
) -> None:
    with schema_context("beta"):
        beta_pass = make_pass()
        token = slip_token(beta_pass)

    response = scan(client, gate, token)

    assert_denied(response, "wrong_building")
    assert AccessEvent.objects.get().reason == "wrong_building"
    with schema_context("beta"):
        assert_unused(beta_pass)
        assert AccessEvent.objects.count() == 0


def test_an_expired_rotating_token_is_denied_as_token_expired(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    screenshot = rotating_token(pass_record, now=timezone.now() - timedelta(minutes=2))

    response = scan(client, gate, screenshot)

    body = assert_denied(response, "token_expired")
    assert body["pass_id"] == pass_record.pk
    assert_unused(pass_record)
    assert AccessEvent.objects.get().reason == "token_expired"


def test_a_scan_at_an_unknown_gate_is_refused_with_404_and_records_nothing(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    response = post(client, "/scans", {"gate_id": gate.pk + 1000, "token": slip_token(pass_record)})

    assert assert_error(response, 404, "unknown_gate")["details"] == {"field": "gate_id"}
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("gate_id", "1", "int_type"),
        ("gate_id", 0, "greater_than_equal"),
        ("token", 12345, "string_type"),
        ("direction", "sideways", "enum"),
        ("event_id", "not-a-uuid", "uuid_parsing"),
    ],
)
def test_a_scan_that_does_not_fit_the_schema_is_refused_and_records_nothing(
    client: Client, gate: Gate, pass_record: Pass, field: str, value: Any, error_type: str
) -> None:
    body = {"gate_id": gate.pk, "token": slip_token(pass_record), field: value}

    response = post(client, "/scans", body)

    details = assert_error(response, 422, "invalid_request")["details"]
    assert [(item["loc"], item["type"]) for item in details] == [([field], error_type)]
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_an_entry_answer_says_how_many_uses_the_pass_has_left(client: Client, gate: Gate) -> None:
    """The agent keeps this to decide offline without giving a pass more entries."""
    twice = make_pass(max_uses=2)

    answers = [scan(client, gate, slip_token(twice)).json() for _ in range(3)]

    assert [(answer["reason"], answer["uses_left"]) for answer in answers] == [
        ("granted", 1),
        ("granted", 0),
        ("uses_exhausted", 0),
    ]


def test_a_repeated_scan_event_gets_the_first_answer_replayed_and_uses_the_pass_once(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    event_id = str(uuid.uuid4())
    first = scan(client, gate, slip_token(pass_record), event_id=event_id)

    again = scan(client, gate, slip_token(pass_record), event_id=event_id)

    assert again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    assert first.json()["granted"] is True
    pass_record.refresh_from_db()
    assert pass_record.uses == 1
    assert AccessEvent.objects.count() == 1


def test_a_scan_needs_no_csrf_token(
    in_alpha: Building, agent_and_key: tuple[GateAgent, str]
) -> None:
    gate, pass_record = make_gate(), make_pass()
    browserless = agent_client(agent_and_key[1], enforce_csrf_checks=True)

    response = scan(browserless, gate, slip_token(pass_record))

    assert (response.status_code, response.json()["granted"]) == (200, True)


# --- Agent keys -----------------------------------------------------------------------------


def test_a_call_without_an_agent_key_is_refused_with_401_and_records_nothing(
    in_alpha: Building, gate: Gate, pass_record: Pass
) -> None:
    response = scan(agent_client(None), gate, slip_token(pass_record))

    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"] == 'Bearer realm="gate"'
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


@pytest.mark.parametrize("shape", ["right prefix, wrong secret", "not a key at all"])
def test_a_call_with_a_wrong_agent_key_is_refused_with_401_and_records_nothing(
    agent: GateAgent, gate: Gate, pass_record: Pass, shape: str
) -> None:
    key = f"{agent.key_prefix}.wrong-secret" if shape.startswith("right") else "open sesame"

    response = scan(agent_client(key), gate, slip_token(pass_record))

    assert_error(response, 401, "unauthorized")
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_a_call_with_the_key_of_a_deactivated_agent_is_refused_with_401(
    agent_and_key: tuple[GateAgent, str], gate: Gate, pass_record: Pass
) -> None:
    agent, key = agent_and_key
    GateAgent.objects.filter(pk=agent.pk).update(is_active=False)

    response = scan(agent_client(key), gate, slip_token(pass_record))

    assert_error(response, 401, "unauthorized")
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_an_agent_deactivated_after_its_calls_is_refused_at_once_in_this_process(
    agent_and_key: tuple[GateAgent, str], gate: Gate, pass_record: Pass
) -> None:
    agent, key = agent_and_key
    assert scan(agent_client(key), gate, slip_token(pass_record)).status_code == 200

    agent.is_active = False
    agent.save(update_fields=["is_active"])
    response = scan(agent_client(key), gate, slip_token(pass_record))

    assert_error(response, 401, "unauthorized")


def test_a_gate_taken_out_of_service_after_scans_refuses_the_next_one_at_once(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    assert scan(client, gate, slip_token(pass_record)).json()["granted"] is True

    gate.is_active = False
    gate.save(update_fields=["is_active"])
    answer = scan(client, gate, slip_token(pass_record)).json()

    assert (answer["granted"], answer["reason"]) == (False, "gate_inactive")


def test_an_agent_key_of_building_beta_is_refused_on_alpha(
    in_alpha: Building, gate: Gate, pass_record: Pass
) -> None:
    with schema_context("beta"):
        _beta_agent, beta_key = make_agent()
    assert agent_client(beta_key, host="beta.localhost").get(f"{API}/keys").status_code == 200

    response = scan(agent_client(beta_key), gate, slip_token(pass_record))

    assert_error(response, 401, "unauthorized")
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_a_successful_call_marks_the_agent_as_seen(client: Client, agent: GateAgent) -> None:
    assert agent.last_seen_at is None

    client.get(f"{API}/keys")

    agent.refresh_from_db()
    assert agent.last_seen_at is not None


# --- Request bodies -------------------------------------------------------------------------


def test_malformed_json_is_refused_with_400_and_records_nothing(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    response = post(client, "/scans", f'{{"gate_id": {gate.pk}, "token": ')

    assert_error(response, 400, "malformed_json")
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


@pytest.mark.parametrize("body", ["[1, 2, 3]", '"W500RA"', "null", "42", ""])
def test_a_body_that_is_not_a_json_object_is_refused_as_invalid_request(
    client: Client, gate: Gate, body: str
) -> None:
    response = post(client, "/scans", body)

    assert_error(response, 422, "invalid_request")
    assert AccessEvent.objects.count() == 0


# --- Reported passages ----------------------------------------------------------------------


def test_reported_passages_are_recorded_and_answered_in_order(
    client: Client, agent: GateAgent, gate: Gate, pass_record: Pass
) -> None:
    entry = passage(gate, pass_id=pass_record.pk, reason="granted")
    anonymous_exit = passage(gate, direction="out", occurred_at="2026-03-02T01:20:00Z")

    response = post(client, "/passages", {"passages": [entry, anonymous_exit]})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [
        (item["event_id"], item["granted"], item["reason"], item["direction"], item["pass_id"])
        for item in results
    ] == [
        (entry["event_id"], True, "granted", "in", pass_record.pk),
        (anonymous_exit["event_id"], True, "passage", "out", None),
    ]
    assert [item["replayed"] for item in results] == [False, False]
    pass_record.refresh_from_db()
    pass_record.visit.refresh_from_db()
    assert (pass_record.uses, pass_record.is_inside) == (1, True)
    assert pass_record.visit.status == "checked_in"
    assert set(AccessEvent.objects.values_list("event_id", "occurred_at", "mode", "agent_id")) == {
        (
            uuid.UUID(entry["event_id"]),
            datetime(2026, 3, 2, 1, 15, tzinfo=UTC),
            "offline",
            agent.pk,
        ),
        (
            uuid.UUID(anonymous_exit["event_id"]),
            datetime(2026, 3, 2, 1, 20, tzinfo=UTC),
            "offline",
            agent.pk,
        ),
    }


def test_a_repeated_passage_event_gets_the_first_answer_replayed_and_changes_nothing(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    batch = {"passages": [passage(gate, pass_id=pass_record.pk, reason="granted")]}
    first = post(client, "/passages", batch)

    again = post(client, "/passages", batch)

    assert again.status_code == 200
    assert again.json() == {"results": [{**first.json()["results"][0], "replayed": True}]}
    pass_record.refresh_from_db()
    assert pass_record.uses == 1
    assert AccessEvent.objects.count() == 1


def test_a_batch_with_an_unknown_gate_records_none_of_its_passages(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    batch = [passage(gate, pass_id=pass_record.pk, reason="granted"), passage(gate)]
    batch[1]["gate_id"] = gate.pk + 1000

    response = post(client, "/passages", {"passages": batch})

    body = assert_error(response, 422, "invalid_passages")
    assert [(item["loc"], item["type"]) for item in body["details"]] == [
        (["passages", 1, "gate_id"], "unknown_gate")
    ]
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_a_batch_the_action_refuses_midway_rolls_back_the_passages_before_it(
    client: Client, gate: Gate, pass_record: Pass
) -> None:
    batch = [
        passage(gate, pass_id=pass_record.pk, reason="granted"),
        passage(gate, granted=False, reason="passage"),
    ]

    response = post(client, "/passages", {"passages": batch})

    body = assert_error(response, 422, "invalid_passages")
    assert [(item["loc"], item["type"]) for item in body["details"]] == [
        (["passages", 1], "reason_invalid"),
    ]
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("occurred_at", "2026-03-02T09:15:00", "timezone_aware"),
        ("occurred_at", "1970-01-01T00:00:07Z", "value_error"),
        ("occurred_at", "0001-01-01T00:00:00+14:00", "value_error"),
        ("occurred_at", "9999-12-31T23:59:59-14:00", "value_error"),
        ("reason", "because", "enum"),
        ("direction", "up", "enum"),
        ("granted", "yes", "bool_type"),
    ],
)
def test_a_batch_with_an_item_that_does_not_fit_the_schema_records_none_of_it(
    client: Client, gate: Gate, pass_record: Pass, field: str, value: str, error_type: str
) -> None:
    batch = [passage(gate, pass_id=pass_record.pk, reason="granted"), passage(gate)]
    batch[1][field] = value

    response = post(client, "/passages", {"passages": batch})

    details = assert_error(response, 422, "invalid_request")["details"]
    assert [(item["loc"], item["type"]) for item in details] == [
        (["passages", 1, field], error_type)
    ]
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_a_batch_of_500_passages_is_accepted(client: Client, gate: Gate) -> None:
    batch = [passage(gate, direction=("in", "out")[index % 2]) for index in range(500)]

    response = post(client, "/passages", {"passages": batch})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 500
    assert AccessEvent.objects.count() == 500


def test_a_batch_of_501_passages_is_refused_and_records_nothing(client: Client, gate: Gate) -> None:
    batch = [passage(gate) for _ in range(501)]

    response = post(client, "/passages", {"passages": batch})

    details = assert_error(response, 422, "invalid_request")["details"]
    assert [(item["loc"], item["type"]) for item in details] == [(["passages"], "too_long")]
    assert AccessEvent.objects.count() == 0


# --- Keys and revocations -------------------------------------------------------------------


def test_keys_lists_the_building_tag_and_the_public_key_that_verifies_its_tokens(
    client: Client, pass_record: Pass
) -> None:
    key = SigningKey.objects.get()

    response = client.get(f"{API}/keys")

    assert response.status_code == 200
    assert response.json() == {
        "building": "alpha",
        "building_tag": tokens.building_tag("alpha").hex(),
        "keys": [{"key_id": key.key_id, "public_key": key.public_key, "retired": False}],
    }
    served = tokens.public_key_from_text(response.json()["keys"][0]["public_key"])
    tokens.verify_token(tokens.parse_token(slip_token(pass_record)), served)


def test_keys_keep_listing_a_retired_key_after_rotation(client: Client) -> None:
    old = SigningKey.objects.get()
    new = actions.rotate_signing_key(SYSTEM)

    response = client.get(f"{API}/keys")

    assert response.json()["keys"] == [
        {"key_id": old.key_id, "public_key": old.public_key, "retired": True},
        {"key_id": new.key_id, "public_key": new.public_key, "retired": False},
    ]


def test_revocations_carry_an_etag_and_answer_304_while_unchanged(
    client: Client, pass_record: Pass
) -> None:
    actions.revoke_pass(SYSTEM, pass_record, "lost")
    version = revocation_list().version

    first = client.get(f"{API}/revocations")
    unchanged = client.get(f"{API}/revocations", HTTP_IF_NONE_MATCH=f'"{version}"')

    assert first.status_code == 200
    assert first.json() == {"version": version, "pass_ids": [pass_record.pk]}
    assert first["ETag"] == f'"{version}"'
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged["ETag"] == f'"{version}"'


def test_revocations_answer_the_new_list_when_the_etag_is_stale(
    client: Client, pass_record: Pass
) -> None:
    stale = client.get(f"{API}/revocations")["ETag"]
    actions.revoke_pass(SYSTEM, pass_record, "lost")

    response = client.get(f"{API}/revocations", HTTP_IF_NONE_MATCH=stale)

    assert response.status_code == 200
    assert response.json()["pass_ids"] == [pass_record.pk]
    assert response["ETag"] != stale


# --- Schema and domains ---------------------------------------------------------------------


def test_the_openapi_schema_describes_every_endpoint(in_alpha: Building) -> None:
    response = Client(HTTP_HOST=ALPHA_HOST).get(f"{API}/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert (schema["info"]["title"], schema["info"]["version"]) == ("Gate API", "1")
    assert sorted(schema["paths"]) == [
        "/api/gate/alerts",
        "/api/gate/commands/claim",
        "/api/gate/commands/{command_id}/done",
        "/api/gate/config",
        "/api/gate/heartbeat",
        "/api/gate/keys",
        "/api/gate/passages",
        "/api/gate/revocations",
        "/api/gate/roll-call",
        "/api/gate/scans",
        "/api/gate/watchlist",
        "/api/gate/zones",
    ]
    assert schema["components"]["securitySchemes"]["AgentKey"] == {
        "type": "http",
        "scheme": "bearer",
    }


@pytest.mark.parametrize("path", ["/", "/nope", "/scans/1", "/keys/../scans"])
def test_an_address_the_api_does_not_have_is_a_json_404(client: Client, path: str) -> None:
    response = client.post(f"{API}{path}", "{}", content_type="application/json")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("get", "/scans", "POST"), ("put", "/passages", "POST"), ("delete", "/keys", "GET")],
)
def test_a_method_an_endpoint_does_not_take_is_a_json_405_naming_the_allowed_one(
    client: Client, gate: Gate, pass_record: Pass, method: str, path: str, allowed: str
) -> None:
    response = getattr(client, method)(f"{API}{path}")

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == allowed
    assert_unused(pass_record)
    assert AccessEvent.objects.count() == 0


def test_the_public_domain_has_no_gate_api(alpha: Building) -> None:
    public = Client(HTTP_HOST="localhost")

    assert (
        public.post(f"{API}/scans", data="{}", content_type="application/json").status_code == 404
    )
    assert public.get(f"{API}/keys").status_code == 404
    assert public.get(f"{API}/openapi.json").status_code == 404


# --- A retried request racing its first attempt ---------------------------------------------

# An agent that times out resends the same event while the first request is still running.
# These requests run in threads of their own, on connections of their own, which see only
# committed rows: the module gets a committed building, dropped again at the end.


@pytest.fixture(scope="module")
def committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock():
        building = create_building(
            slug="apiretry", name="重试测试", admin_email="admin@apiretry.example"
        ).building
        try:
            with schema_context("apiretry"):
                gate, pass_record = make_gate(), make_pass(make_visit())
                _agent, key = make_agent()
                token = slip_token(pass_record)
            yield {"gate": gate, "pass": pass_record, "key": key, "token": token}
        finally:
            connection.set_schema_to_public()
            building.delete(force_drop=True)
            end_other_database_sessions()


def _waiting_for_locks(pids: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)", [pids])
        return int(cursor.fetchone()[0])


def send_twice_at_once(path: str, body: dict[str, Any], key: str, pass_id: int) -> list[Any]:
    """Send the same request from two threads while a third holds the pass's row, so both
    get past the "seen this event?" check before either records it; then let them go."""
    holding, release = threading.Event(), threading.Event()
    answers: list[Any] = []
    errors: list[BaseException] = []
    pids: list[int] = []

    def hold_the_pass() -> None:
        try:
            with schema_context("apiretry"), transaction.atomic():
                Pass.objects.select_for_update().get(pk=pass_id)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def send() -> None:
        try:
            with connection.cursor() as cursor:  # the connection the request will use
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
            response = post(agent_client(key, host="apiretry.localhost"), path, body)
            answers.append(response.json())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_pass)
    holder.start()
    assert holding.wait(timeout=30)
    senders = [threading.Thread(target=send) for _ in range(2)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 30
    while (len(pids) < 2 or _waiting_for_locks(pids) < 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    release.set()
    for thread in [holder, *senders]:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return answers


def stored(pass_id: int) -> tuple[int, int]:
    with schema_context("apiretry"):
        return Pass.objects.get(pk=pass_id).uses, AccessEvent.objects.count()


@pytest.mark.parametrize("path", ["/scans", "/passages"])
def test_a_retry_racing_its_first_attempt_is_replayed_and_uses_the_pass_once(
    committed: dict[str, Any], path: str
) -> None:
    pass_id = committed["pass"].pk
    uses_before, events_before = stored(pass_id)
    event_id = str(uuid.uuid4())
    gate = committed["gate"]
    body: dict[str, Any] = (
        {"gate_id": gate.pk, "token": committed["token"], "event_id": event_id}
        if path == "/scans"
        else {"passages": [passage(gate, event_id=event_id, pass_id=pass_id, reason="granted")]}
    )

    answers = send_twice_at_once(path, body, committed["key"], pass_id)

    decisions = [answer["results"][0] if path == "/passages" else answer for answer in answers]
    assert sorted(decision["replayed"] for decision in decisions) == [False, True]
    assert {(decision["event_id"], decision["granted"]) for decision in decisions} == {
        (event_id, True)
    }
    assert stored(pass_id) == (uses_before + 1, events_before + 1)


def test_a_passage_naming_a_pass_that_no_longer_exists_is_counted_without_it(
    client: Client, gate: Gate
) -> None:
    response = post(client, "/passages", {"passages": [passage(gate, pass_id=987654)]})

    assert response.status_code == 200
    assert response.json()["results"][0]["pass_id"] is None
    assert AccessEvent.objects.get().pass_record_id is None
