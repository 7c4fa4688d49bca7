"""The platform's side of the gate agent: its configuration, the watchlist digest, alerts
and gate commands, each refusing bad input with a JSON error and changing nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
from kernel.errors import DomainError
from tenants.models import Building
from tests.access.conftest import (
    SYSTEM,
    make_agent,
    make_gate,
    make_pass,
    make_visit,
    make_visitor,
)
from visit_platform.access import actions
from visit_platform.access.models import Alert, Controller, Gate, GateAgent, GateCommand
from workflows.actions import add_to_watchlist

pytestmark = pytest.mark.django_db

API = "/api/gate"
ALPHA_HOST = "alpha.localhost"


@pytest.fixture
def agent_and_key(in_alpha: Building) -> tuple[GateAgent, str]:
    return make_agent()


@pytest.fixture
def client(agent_and_key: tuple[GateAgent, str]) -> Client:
    return Client(HTTP_HOST=ALPHA_HOST, HTTP_AUTHORIZATION=f"Bearer {agent_and_key[1]}")


@pytest.fixture
def controller(in_alpha: Building) -> Controller:
    return actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name="大堂闸机控制器", host="10.0.0.7", register_map=shipped_map(GENERIC_TURNSTILE)
        ),
    )


@pytest.fixture
def wired_gate(controller: Controller) -> Gate:
    return actions.wire_gate(SYSTEM, make_gate("lobby 1"), controller, 1)


def post(client: Client, path: str, body: Any) -> HttpResponse:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"{API}{path}", data=data, content_type="application/json")


def assert_error(response: HttpResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    return body


def alert(**fields: Any) -> dict[str, Any]:
    item = {
        "event_id": str(uuid.uuid4()),
        "kind": "door_forced",
        "occurred_at": "2026-03-02T09:15:00+08:00",
    }
    item.update(fields)
    return item


# --- Controllers ----------------------------------------------------------------------------


def test_a_controller_with_a_malformed_map_is_refused_naming_the_field(
    in_alpha: Building,
) -> None:
    data = shipped_map(GENERIC_TURNSTILE)
    data["gates"][0]["open_coil"] = 70000

    with pytest.raises(DomainError) as refused:
        actions.save_controller(
            SYSTEM, actions.ControllerFields(name="x", host="10.0.0.7", register_map=data)
        )

    assert refused.value.code == "register_map_invalid"
    assert refused.value.details["field"] == "register_map"
    assert "gates[0].open_coil: must be an integer 0..65535" in refused.value.message
    assert not Controller.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"host": "10.0.0.7 10.0.0.8"}, "host"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"device_id": 256}, "device_id"),
        ({"poll_interval_ms": 10}, "poll_interval_ms"),
    ],
)
def test_controller_settings_out_of_range_are_refused_naming_the_field(
    in_alpha: Building, fields: dict[str, Any], field: str
) -> None:
    values = {"name": "c", "host": "10.0.0.7", "register_map": shipped_map(GENERIC_TURNSTILE)}
    values.update(fields)

    with pytest.raises(DomainError) as refused:
        actions.save_controller(SYSTEM, actions.ControllerFields(**values))

    assert refused.value.details["field"] == field


def test_a_map_that_drops_a_wired_lane_is_refused(wired_gate: Gate, controller: Controller) -> None:
    one_lane = shipped_map(GENERIC_TURNSTILE)
    one_lane["gates"] = [one_lane["gates"][1]]

    with pytest.raises(DomainError) as refused:
        actions.save_controller(
            SYSTEM,
            actions.ControllerFields(name="c", host="10.0.0.7", register_map=one_lane),
            controller,
        )

    assert refused.value.code == "lane_in_use"


def test_a_gate_is_wired_only_to_a_lane_the_map_has_and_nobody_else_uses(
    wired_gate: Gate, controller: Controller
) -> None:
    other = make_gate("lobby 2")

    with pytest.raises(DomainError) as unknown:
        actions.wire_gate(SYSTEM, other, controller, 3)
    with pytest.raises(DomainError) as taken:
        actions.wire_gate(SYSTEM, other, controller, 1)

    assert (unknown.value.code, taken.value.code) == ("lane_unknown", "lane_taken")
    other.refresh_from_db()
    assert other.controller is None


def test_a_second_controller_in_service_at_one_address_is_refused(
    controller: Controller,
) -> None:
    same_address = actions.ControllerFields(
        name="另一个", host="10.0.0.7", register_map=shipped_map(GENERIC_TURNSTILE)
    )

    with pytest.raises(DomainError) as refused:
        actions.save_controller(SYSTEM, same_address)

    assert (refused.value.code, refused.value.details["field"]) == (
        "controller_address_taken",
        "host",
    )
    assert "大堂闸机控制器" in refused.value.message
    assert Controller.objects.count() == 1


def test_one_address_may_have_another_device_id_or_a_controller_out_of_service(
    controller: Controller,
) -> None:
    register_map = shipped_map(GENERIC_TURNSTILE)

    behind_a_gateway = actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name="二号", host="10.0.0.7", device_id=2, register_map=register_map
        ),
    )
    spare = actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name="备用", host="10.0.0.7", register_map=register_map, is_active=False
        ),
    )

    assert Controller.objects.filter(pk__in=[behind_a_gateway.pk, spare.pk]).count() == 2
    # Putting the spare in service while the first still is would poll one device twice.
    with pytest.raises(DomainError) as refused:
        actions.save_controller(
            SYSTEM,
            actions.ControllerFields(name="备用", host="10.0.0.7", register_map=register_map),
            spare,
        )
    assert refused.value.code == "controller_address_taken"


def test_the_database_refuses_two_controllers_in_service_at_one_address(
    controller: Controller,
) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Controller.objects.create(
            name="绕过检查", host="10.0.0.7", register_map=controller.register_map
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Controller.objects.create(name="大写", host="LOBBY.local", register_map={})
        Controller.objects.create(name="小写", host="lobby.local", register_map={})


# --- Config and watchlist -------------------------------------------------------------------


def test_config_gives_the_agent_its_controllers_building_tag_and_reason_wording(
    client: Client, wired_gate: Gate, controller: Controller, in_alpha: Building
) -> None:
    response = client.get(f"{API}/config")

    assert response.status_code == 200
    body = response.json()
    assert body["building"] == "alpha"
    assert body["offline_entries_per_pass"] == 1
    assert body["messages"]["revoked"] == "通行证已被撤销"
    [described] = body["controllers"]
    assert (described["id"], described["host"], described["port"]) == (
        controller.pk,
        "10.0.0.7",
        502,
    )
    assert [gate["id"] for gate in described["gates"]] == [wired_gate.pk]


def test_a_free_controller_goes_to_the_first_agent_that_syncs_and_no_other(
    client: Client, wired_gate: Gate, controller: Controller, agent_and_key: tuple[GateAgent, str]
) -> None:
    from visit_platform.audit.models import AuditEntry

    _second, second_key = make_agent("second agent")
    second = Client(HTTP_HOST=ALPHA_HOST, HTTP_AUTHORIZATION=f"Bearer {second_key}")

    first_sync = client.get(f"{API}/config")
    second_sync = second.get(f"{API}/config")
    first_again = client.get(f"{API}/config")

    assert [c["id"] for c in first_sync.json()["controllers"]] == [controller.pk]
    assert second_sync.json()["controllers"] == []
    assert [c["id"] for c in first_again.json()["controllers"]] == [controller.pk]
    controller.refresh_from_db()
    assert controller.agent == agent_and_key[0]
    assert AuditEntry.objects.filter(verb="controller.claimed").count() == 1


def test_a_controller_assigned_to_another_agent_is_not_handed_to_a_new_one(
    client: Client, controller: Controller
) -> None:
    holder, _key = make_agent("holder")
    actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name=controller.name,
            host=controller.host,
            register_map=controller.register_map,
            agent=holder,
        ),
        controller,
    )

    assert client.get(f"{API}/config").json()["controllers"] == []
    controller.refresh_from_db()
    assert controller.agent == holder


def test_the_controllers_of_a_deactivated_agent_go_to_the_next_agent_that_syncs(
    client: Client, controller: Controller
) -> None:
    retired, _key = make_agent("retired")
    Controller.objects.filter(pk=controller.pk).update(agent=retired)
    actions.deactivate_gate_agents(SYSTEM, name="retired")

    listed = client.get(f"{API}/config").json()["controllers"]

    assert [c["id"] for c in listed] == [controller.pk]


def test_the_watchlist_digest_lists_open_passes_of_watchlisted_visitors_with_an_etag(
    client: Client, in_alpha: Building
) -> None:
    clean = make_pass()
    pass_record = make_pass(make_visit(visitor=make_visitor("张三", "13900000077", "")))
    first = client.get(f"{API}/watchlist")
    assert first.json()["pass_ids"] == []

    entry = add_to_watchlist(
        SYSTEM, mobile=pass_record.visit.visitor.mobile, reason="测试", approve=True
    )
    assert entry.pk
    changed = client.get(f"{API}/watchlist", HTTP_IF_NONE_MATCH=first["ETag"])
    unchanged = client.get(f"{API}/watchlist", HTTP_IF_NONE_MATCH=changed["ETag"])

    assert changed.status_code == 200
    assert changed.json()["pass_ids"] == [pass_record.pk]
    assert clean.pk not in changed.json()["pass_ids"]
    assert unchanged.status_code == 304


# --- Alerts ---------------------------------------------------------------------------------


def test_alerts_are_stored_once_by_event_id(
    client: Client, wired_gate: Gate, controller: Controller
) -> None:
    item = alert(gate_id=wired_gate.pk, controller_id=controller.pk)

    first = post(client, "/alerts", {"alerts": [item]})
    again = post(client, "/alerts", {"alerts": [item]})

    assert first.status_code == again.status_code == 200
    assert first.json()["results"] == [
        {"event_id": item["event_id"], "kind": "door_forced", "replayed": False}
    ]
    assert again.json()["results"][0]["replayed"] is True
    stored = Alert.objects.get()
    assert (stored.gate, stored.controller, stored.kind) == (wired_gate, controller, "door_forced")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        ({"alerts": [alert(kind="fire")]}, 422, "invalid_request"),
        # The platform's own kinds are never taken from an agent.
        ({"alerts": [alert(kind="watchlist_hit")]}, 422, "invalid_request"),
        ({"alerts": [alert(kind="agent_offline")]}, 422, "invalid_request"),
        ({"alerts": [alert(occurred_at="2026-03-02T09:15:00")]}, 422, "invalid_request"),
        ({"alerts": [alert(occurred_at="1970-01-01T00:00:00+00:00")]}, 422, "invalid_request"),
        ({"alerts": [alert(gate_id=987654)]}, 422, "invalid_alerts"),
        ({"alerts": [alert(controller_id=987654)]}, 422, "invalid_alerts"),
        ({"alerts": [alert()] * 501}, 422, "invalid_request"),
        ({"alerts": [alert(event_id="not-a-uuid")]}, 422, "invalid_request"),
    ],
)
def test_bad_alert_batches_are_refused_and_store_nothing(
    client: Client, body: Any, status: int, code: str
) -> None:
    assert_error(post(client, "/alerts", body), status, code)
    assert not Alert.objects.exists()


def test_an_oversized_alert_body_is_refused_as_too_large(client: Client) -> None:
    assert_error(post(client, "/alerts", b"x" * (300 * 1024)), 413, "too_large")
    assert not Alert.objects.exists()


@pytest.mark.parametrize("header", [None, "Bearer forged.key", "Bearer 12345678.wrong-secret"])
def test_every_agent_endpoint_refuses_a_missing_or_forged_key(
    in_alpha: Building, header: str | None
) -> None:
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    forged = Client(HTTP_HOST=ALPHA_HOST, **headers)

    assert_error(forged.get(f"{API}/config"), 401, "unauthorized")
    assert_error(forged.get(f"{API}/watchlist"), 401, "unauthorized")
    assert_error(post(forged, "/alerts", {"alerts": [alert()]}), 401, "unauthorized")
    assert_error(post(forged, "/commands/claim", {}), 401, "unauthorized")
    assert_error(post(forged, "/commands/1/done", {"ok": True}), 401, "unauthorized")
    assert not Alert.objects.exists()


# --- Commands -------------------------------------------------------------------------------


def test_a_pulse_command_is_claimed_once_and_its_result_kept(
    client: Client, wired_gate: Gate, agent_and_key: tuple[GateAgent, str]
) -> None:
    command = actions.request_gate_pulse(SYSTEM, wired_gate, "in")
    client.get(f"{API}/config")  # the agent's first sync claims the controller

    claimed = post(client, "/commands/claim", {})
    claimed_again = post(client, "/commands/claim", {})
    done = post(client, f"/commands/{command.pk}/done", {"ok": True})
    reported_twice = post(client, f"/commands/{command.pk}/done", {"ok": False, "message": "x"})

    assert claimed.json() == {
        "commands": [
            {"id": command.pk, "kind": "pulse", "gate_id": wired_gate.pk, "direction": "in"}
        ]
    }
    assert claimed_again.json() == {"commands": []}
    assert done.json() == {"id": command.pk, "status": "done"}
    assert reported_twice.json() == {"id": command.pk, "status": "done"}
    command.refresh_from_db()
    assert command.agent == agent_and_key[0]


def test_a_command_for_another_agents_controller_is_not_handed_out(
    client: Client, controller: Controller, wired_gate: Gate
) -> None:
    other, _key = make_agent("other")
    Controller.objects.filter(pk=controller.pk).update(agent=other)
    actions.request_gate_pulse(SYSTEM, wired_gate)

    assert post(client, "/commands/claim", {}).json() == {"commands": []}


def test_a_command_for_a_controller_no_agent_holds_yet_waits_for_its_agent(
    client: Client, wired_gate: Gate
) -> None:
    actions.request_gate_pulse(SYSTEM, wired_gate)

    before_sync = post(client, "/commands/claim", {}).json()
    client.get(f"{API}/config")
    after_sync = post(client, "/commands/claim", {}).json()

    assert before_sync == {"commands": []}
    assert [command["gate_id"] for command in after_sync["commands"]] == [wired_gate.pk]


def test_reporting_on_a_command_the_agent_never_claimed_is_404(
    client: Client, wired_gate: Gate
) -> None:
    command = actions.request_gate_pulse(SYSTEM, wired_gate)

    assert_error(post(client, f"/commands/{command.pk}/done", {"ok": True}), 404, "unknown_command")
    assert_error(post(client, "/commands/0/done", {"ok": True}), 422, "invalid_request")
    assert_error(
        post(client, f"/commands/{command.pk}/done", {"ok": "yes"}), 422, "invalid_request"
    )
    assert_error(post(client, f"/commands/{command.pk}/done", b"{not json"), 400, "malformed_json")
    assert_error(
        post(client, f"/commands/{command.pk}/done", b"x" * (300 * 1024)), 413, "too_large"
    )
    command.refresh_from_db()
    assert command.status == "pending"


def test_a_gate_without_a_controller_cannot_be_pulsed(in_alpha: Building) -> None:
    with pytest.raises(DomainError) as refused:
        actions.request_gate_pulse(SYSTEM, make_gate())

    assert refused.value.code == "gate_not_wired"
    assert not GateCommand.objects.exists()


# --- manage.py gate_agent and the demo ------------------------------------------------------


def test_the_gate_agent_command_builds_its_config_from_the_database(
    controller: Controller, wired_gate: Gate, agent_and_key: tuple[GateAgent, str], tmp_path: Any
) -> None:
    from visit_platform.access.agent_setup import agent_config_from_database

    config = agent_config_from_database(
        "alpha",
        agent_and_key[1],
        platform_url="http://127.0.0.1:8000",
        journal_path=tmp_path / "journal.db",
    )

    assert (config.platform_host, config.platform_url) == (
        "alpha.localhost",
        "http://127.0.0.1:8000",
    )
    [configured] = config.controllers or []
    assert (configured.id, configured.host, configured.register_map.lanes) == (
        controller.pk,
        "10.0.0.7",
        [1, 2],
    )
    assert [(gate.gate_id, gate.lane) for gate in configured.gates] == [(wired_gate.pk, 1)]


def test_the_gate_agent_command_refuses_a_key_that_is_not_the_buildings(
    in_alpha: Building, tmp_path: Any
) -> None:
    from visit_platform.access.agent_setup import agent_config_from_database

    with pytest.raises(DomainError) as refused:
        agent_config_from_database(
            "alpha", "12345678.nope", platform_url="http://x", journal_path=tmp_path / "j.db"
        )

    assert refused.value.code == "unauthorized"


def test_the_demo_wires_its_gates_to_a_simulated_controller_and_replaces_its_agent(
    in_alpha: Building,
) -> None:
    from visit_platform.access.demo import DEMO_AGENT, seed_demo_access
    from visit_platform.directory.demo import seed_demo_directory

    seed_demo_directory()
    first = seed_demo_access(15999)
    second = seed_demo_access(15999)

    gates = Gate.objects.filter(pk__in=second.gate_ids).order_by("lane")
    assert [(gate.controller.port, gate.lane) for gate in gates] == [(15999, 1), (15999, 2)]
    assert first.agent_key != second.agent_key
    assert GateAgent.objects.filter(name=DEMO_AGENT, is_active=True).count() == 1


def test_the_zones_list_gives_open_passes_limited_to_zones_with_an_etag(
    client: Client, in_alpha: Building
) -> None:
    """What an offline gate needs to refuse a wrong zone: passes with zones, and theirs;
    a pass for every zone and a revoked pass are not listed."""
    zoned = make_pass(zones=["A座", "8"])
    make_pass(make_visit(visitor=make_visitor("张三", "13900000078", "")), zones=[])
    revoked = make_pass(make_visit(visitor=make_visitor("李四", "13900000079", "")))
    actions.revoke_pass(SYSTEM, revoked, "测试")

    first = client.get(f"{API}/zones")
    unchanged = client.get(f"{API}/zones", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.json()["passes"] == [{"pass_id": zoned.pk, "zones": ["8", "A座"]}]
    assert unchanged.status_code == 304
    assert_error(Client(HTTP_HOST=ALPHA_HOST).get(f"{API}/zones"), 401, "unauthorized")
