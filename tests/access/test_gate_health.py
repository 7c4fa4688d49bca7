"""Gate health (ADR 0019): the heartbeat endpoint keeps each agent's and controller's last
contact and link state and refuses bad reports whole; the silence check raises one alert per
outage, none for an agent never heard from; the gate console shows it all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
from tenants.models import Building
from tests.access.conftest import SYSTEM, make_agent, make_gate
from tests.conftest import admin_of, client_for
from visit_platform.access import actions
from visit_platform.access.actions import check_gate_silence
from visit_platform.access.models import Alert, Controller, GateAgent
from visit_platform.access.tasks import check_gate_silence_task
from visit_platform.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

API = "/api/gate"
ALPHA_HOST = "alpha.localhost"
SILENCE = timedelta(seconds=120)  # the building's default gate_silence_seconds


# --- Helpers --------------------------------------------------------------------------------


@pytest.fixture
def agent_and_key(in_alpha: Building) -> tuple[GateAgent, str]:
    return make_agent()


@pytest.fixture
def agent(agent_and_key: tuple[GateAgent, str]) -> GateAgent:
    return agent_and_key[0]


@pytest.fixture
def client(agent_and_key: tuple[GateAgent, str]) -> Client:
    return Client(HTTP_HOST=ALPHA_HOST, HTTP_AUTHORIZATION=f"Bearer {agent_and_key[1]}")


def make_controller(
    agent: GateAgent | None, name: str = "大堂控制器", host: str = "10.0.0.7"
) -> Controller:
    return actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name=name, host=host, register_map=shipped_map(GENERIC_TURNSTILE), agent=agent
        ),
    )


@pytest.fixture
def controller(agent: GateAgent) -> Controller:
    return make_controller(agent)


def heartbeat(client: Client, body: Any) -> HttpResponse:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"{API}/heartbeat", data=data, content_type="application/json")


def report(*controllers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "version": "0.1.0",
        "uptime_seconds": 3600,
        "journal_depth": 4,
        "controllers": list(controllers),
        **fields,
    }


def link(controller: Controller, connected: bool = True, **fields: Any) -> dict[str, Any]:
    return {"id": controller.pk, "connected": connected, **fields}


def assert_error(response: HttpResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    return body


def stored(controller: Controller) -> tuple[bool | None, Any, Any, str]:
    controller.refresh_from_db()
    return (
        controller.link_up,
        controller.link_changed_at,
        controller.last_contact_at,
        controller.last_error,
    )


def nothing_recorded(agent: GateAgent, *controllers: Controller) -> None:
    agent.refresh_from_db()
    assert (agent.journal_depth, agent.version, agent.started_at) == (None, "", None)
    for controller in controllers:
        assert stored(controller) == (None, None, None, "")


@pytest.fixture
def screens(in_alpha: Building) -> Iterator[Any]:
    """What the building's live screens are sent, as a function returning the payloads of
    the next message (a batch is unpacked)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("occupancy.alpha", channel)

    def receive() -> list[dict[str, Any]]:
        message = async_to_sync(layer.receive)(channel)
        if message["type"] == "live.batch":
            return [item["payload"] for item in message["messages"]]
        return [message["payload"]]

    yield receive
    async_to_sync(layer.group_discard)("occupancy.alpha", channel)


def silent_since(agent: GateAgent, when: datetime) -> None:
    GateAgent.objects.filter(pk=agent.pk).update(last_seen_at=when)
    agent.refresh_from_db()


# --- The heartbeat --------------------------------------------------------------------------


def test_a_heartbeat_records_the_agents_contact_and_each_controllers_link(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    second = make_controller(agent, name="侧门控制器", host="10.0.0.8")
    before = timezone.now()

    response = heartbeat(
        client,
        report(
            link(controller),
            link(second, connected=False, since_seconds=30, last_error="TimeoutError: no answer"),
        ),
    )

    assert response.status_code == 200
    assert response.json()["controllers"] == 2
    agent.refresh_from_db()
    assert agent.last_seen_at is not None and agent.last_seen_at >= before
    assert (agent.version, agent.journal_depth) == ("0.1.0", 4)
    assert agent.started_at is not None
    assert agent.last_seen_at - agent.started_at == timedelta(hours=1)
    link_up, changed_at, contact, error = stored(controller)
    assert (link_up, error) == (True, "")
    assert changed_at is not None and contact == agent.last_seen_at
    link_up, changed_at, contact, error = stored(second)
    assert (link_up, contact, error) == (False, None, "TimeoutError: no answer")
    # Down for 30 s by the agent's clock: the outage began then, not when it was reported.
    assert changed_at == agent.last_seen_at - timedelta(seconds=30)


def test_a_link_that_changes_tells_the_screens_and_the_audit_trail_once(
    client: Client,
    agent: GateAgent,
    controller: Controller,
    screens: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    gate = actions.wire_gate(SYSTEM, make_gate("大堂 1 号"), controller, 1)
    with django_capture_on_commit_callbacks(execute=True):
        heartbeat(client, report(link(controller)))
    [up] = screens()
    with django_capture_on_commit_callbacks(execute=True) as unchanged:
        heartbeat(client, report(link(controller)))
    with django_capture_on_commit_callbacks(execute=True):
        heartbeat(client, report(link(controller, connected=False, last_error="refused")))
    [down] = screens()

    assert unchanged == []  # the usual heartbeat changes nothing and tells nobody
    assert up == {
        "type": "gate_health",
        "agent_id": agent.pk,
        "agent": agent.name,
        "online": True,
        "controllers": [
            {"id": controller.pk, "name": controller.name, "online": True, "gate_ids": [gate.pk]}
        ],
    }
    assert down["controllers"][0]["online"] is False and down["online"] is True
    assert list(
        AuditEntry.objects.filter(object_id=str(controller.pk), verb__startswith="controller.link")
        .order_by("pk")
        .values_list("verb", flat=True)
    ) == ["controller.link_up", "controller.link_down"]


def test_the_same_heartbeat_sent_again_changes_nothing(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    body = report(link(controller, connected=False, since_seconds=5, last_error="refused"))
    heartbeat(client, body)
    first = stored(controller)
    audit_rows = AuditEntry.objects.count()

    again = heartbeat(client, body)

    assert again.status_code == 200
    assert stored(controller) == first  # the outage still began when it first did
    assert AuditEntry.objects.count() == audit_rows


def test_a_heartbeat_from_an_agent_marked_offline_marks_it_online(
    client: Client,
    agent: GateAgent,
    controller: Controller,
    screens: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    heartbeat(client, report(link(controller)))
    silent_since(agent, timezone.now() - SILENCE - timedelta(seconds=5))
    check_gate_silence()

    with django_capture_on_commit_callbacks(execute=True):
        heartbeat(client, report(link(controller)))
    [back] = screens()

    agent.refresh_from_db()
    assert agent.offline_since is None
    assert (back["type"], back["online"], back["controllers"][0]["online"]) == (
        "gate_health",
        True,
        True,
    )
    assert AuditEntry.objects.filter(verb="gate_agent.back_online").count() == 1


# --- Bad heartbeats: refused whole, nothing recorded ------------------------------------------


def test_malformed_json_is_refused_with_400_and_records_nothing(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    response = heartbeat(client, '{"controllers": [{"id": ')

    assert_error(response, 400, "malformed_json")
    nothing_recorded(agent, controller)


def test_a_body_over_the_limit_is_refused_as_too_large_and_records_nothing(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    padding = "x" * (300 * 1024)
    response = heartbeat(client, report(link(controller, last_error=padding)))

    assert_error(response, 413, "too_large")
    nothing_recorded(agent, controller)


def test_more_controllers_than_an_agent_drives_are_refused(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    many = [{"id": index, "connected": True} for index in range(1, 202)]

    response = heartbeat(client, report(*many))

    assert_error(response, 422, "invalid_request")
    nothing_recorded(agent, controller)


@pytest.mark.parametrize(
    "change",
    [
        {"connected": "yes"},
        {"connected": 1},
        {"id": "1"},
        {"id": 0},
        {"since_seconds": -1},
        {"since_seconds": "5"},
        {"last_error": "e" * 501},
    ],
    ids=repr,
)
def test_a_controller_entry_that_does_not_fit_the_schema_records_nothing(
    client: Client, agent: GateAgent, controller: Controller, change: dict[str, Any]
) -> None:
    entry = link(controller)
    entry.update(change)

    response = heartbeat(client, report(entry))

    assert_error(response, 422, "invalid_request")
    nothing_recorded(agent, controller)


@pytest.mark.parametrize(
    "body",
    [
        {"version": "0.1.0"},  # no controllers at all
        {"controllers": [], "journal_depth": -1},
        {"controllers": [], "journal_depth": 2.5},
        {"controllers": [], "uptime_seconds": 10**12},
        {"controllers": [], "version": "v" * 41},
        [],
        "null",
    ],
    ids=repr,
)
def test_a_heartbeat_that_does_not_fit_the_schema_is_refused(
    client: Client, agent: GateAgent, body: Any
) -> None:
    response = heartbeat(client, body)

    assert_error(response, 422, "invalid_request")
    nothing_recorded(agent)


def test_a_controller_reported_twice_in_one_heartbeat_is_refused(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    response = heartbeat(client, report(link(controller), link(controller, connected=False)))

    assert_error(response, 422, "invalid_request")
    nothing_recorded(agent, controller)


def test_a_heartbeat_with_a_forged_key_is_refused_and_records_nothing(
    agent: GateAgent, controller: Controller
) -> None:
    for key in (f"{agent.key_prefix}.forged-secret", "open sesame"):
        forged = Client(HTTP_HOST=ALPHA_HOST, HTTP_AUTHORIZATION=f"Bearer {key}")
        response = heartbeat(forged, report(link(controller)))
        assert_error(response, 401, "unauthorized")

    agent.refresh_from_db()
    assert agent.last_seen_at is None  # a forged key is not contact
    nothing_recorded(agent, controller)


def test_an_unknown_controller_refuses_the_whole_heartbeat(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    response = heartbeat(client, report(link(controller), {"id": 987654, "connected": False}))

    body = assert_error(response, 422, "unknown_controller")
    assert [detail["loc"] for detail in body["details"]] == [["controllers", 1, "id"]]
    nothing_recorded(agent, controller)


def test_an_agent_may_not_report_another_agents_controller(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    other_agent, _key = make_agent("east agent")
    others = make_controller(other_agent, name="东门控制器", host="10.0.0.9")
    out_of_service = make_controller(agent, name="旧控制器", host="10.0.0.10")
    Controller.objects.filter(pk=out_of_service.pk).update(is_active=False)

    response = heartbeat(client, report(link(others, connected=False)))
    retired = heartbeat(client, report(link(out_of_service)))

    assert_error(response, 422, "unknown_controller")
    assert_error(retired, 422, "unknown_controller")
    assert stored(others) == (None, None, None, "")
    nothing_recorded(agent, controller, out_of_service)


def test_another_buildings_agent_key_cannot_report_here(
    in_alpha: Building, controller: Controller, agent: GateAgent
) -> None:
    with schema_context("beta"):
        _beta_agent, beta_key = make_agent()
    intruder = Client(HTTP_HOST=ALPHA_HOST, HTTP_AUTHORIZATION=f"Bearer {beta_key}")

    assert_error(heartbeat(intruder, report(link(controller))), 401, "unauthorized")
    nothing_recorded(agent, controller)


# --- The silence check ----------------------------------------------------------------------


def test_an_agent_silent_longer_than_the_building_allows_raises_one_alert_per_outage(
    client: Client,
    agent: GateAgent,
    controller: Controller,
    screens: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    heartbeat(client, report(link(controller)))
    first_silence = timezone.now() - SILENCE - timedelta(seconds=1)
    silent_since(agent, first_silence)

    with django_capture_on_commit_callbacks(execute=True):
        check_gate_silence()
    published = screens()
    check_gate_silence()  # the next run: the same outage
    [alert] = Alert.objects.filter(kind="agent_offline")

    assert (alert.agent, alert.details) == (agent, {"silent_since": first_silence.isoformat()})
    assert [payload["type"] for payload in published] == ["alert", "gate_health"]
    health = published[1]
    assert (health["online"], health["controllers"][0]["online"]) == (False, False)
    agent.refresh_from_db()
    assert agent.offline_since == first_silence

    # Heard from again (any call counts), then silent once more: a second outage.
    client.get(f"{API}/keys")
    with django_capture_on_commit_callbacks(execute=True):
        check_gate_silence()
    [back] = screens()
    alert.refresh_from_db()
    assert (back["type"], back["online"]) == ("gate_health", True)
    assert (alert.acknowledged_at, alert.details) == (
        None,
        {"silent_since": first_silence.isoformat()},
    )  # the alert stays as it was until a person acknowledges it
    silent_since(agent, timezone.now() - SILENCE - timedelta(seconds=1))
    check_gate_silence()

    assert Alert.objects.filter(kind="agent_offline", agent=agent).count() == 2


def test_an_agent_never_heard_from_raises_no_alert(agent: GateAgent) -> None:
    GateAgent.objects.filter(pk=agent.pk).update(created_at=timezone.now() - timedelta(days=3))

    check_gate_silence()

    assert not Alert.objects.exists()
    agent.refresh_from_db()
    assert agent.offline_since is None


def test_an_agent_heard_from_within_the_limit_raises_no_alert(
    alpha: Building, agent: GateAgent
) -> None:
    Building.objects.filter(pk=alpha.pk).update(gate_silence_seconds=30)
    silent_since(agent, timezone.now() - timedelta(seconds=20))

    check_gate_silence()

    assert not Alert.objects.exists()


def test_the_buildings_silence_setting_decides_when_silence_is_an_outage(
    alpha: Building, agent: GateAgent
) -> None:
    Building.objects.filter(pk=alpha.pk).update(gate_silence_seconds=30)
    silent_since(agent, timezone.now() - timedelta(seconds=45))

    check_gate_silence()

    assert Alert.objects.filter(kind="agent_offline", agent=agent).count() == 1


def test_a_deactivated_agent_is_not_an_outage(agent: GateAgent) -> None:
    silent_since(agent, timezone.now() - timedelta(days=1))
    GateAgent.objects.filter(pk=agent.pk).update(is_active=False)

    check_gate_silence()

    assert not Alert.objects.exists()


def test_a_controller_down_longer_than_the_limit_raises_one_alert_per_outage(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    long_ago = SILENCE.total_seconds() + 10
    heartbeat(
        client,
        report(link(controller, connected=False, since_seconds=long_ago, last_error="refused")),
    )
    check_gate_silence()
    check_gate_silence()
    [alert] = Alert.objects.filter(kind="controller_offline")
    assert (alert.controller, alert.agent) == (controller, agent)
    assert alert.details["last_error"] == "refused"

    heartbeat(client, report(link(controller)))  # back
    _up, _changed, back_at, _error = stored(controller)
    heartbeat(client, report(link(controller, connected=False, since_seconds=long_ago)))
    # It was up a moment ago: this outage cannot have begun before that, whatever it says.
    _up, second_outage, _contact, _error = stored(controller)
    assert back_at is not None and second_outage == back_at
    Controller.objects.filter(pk=controller.pk).update(
        link_changed_at=second_outage - SILENCE - timedelta(seconds=1)
    )  # and it lasts
    check_gate_silence()

    assert Alert.objects.filter(kind="controller_offline", controller=controller).count() == 2


def test_a_controller_down_briefly_raises_no_alert(client: Client, controller: Controller) -> None:
    heartbeat(client, report(link(controller, connected=False, since_seconds=10)))

    check_gate_silence()

    assert not Alert.objects.filter(kind="controller_offline").exists()


def test_the_controllers_of_a_silent_agent_raise_no_alert_of_their_own(
    client: Client, agent: GateAgent, controller: Controller
) -> None:
    """The agent's alert says it all: what it last said of its controllers is stale."""
    heartbeat(client, report(link(controller, connected=False, since_seconds=10)))
    GateAgent.objects.filter(pk=agent.pk).update(
        last_seen_at=timezone.now() - SILENCE - timedelta(minutes=5)
    )
    Controller.objects.filter(pk=controller.pk).update(
        link_changed_at=timezone.now() - SILENCE - timedelta(minutes=6)
    )

    check_gate_silence()

    assert list(Alert.objects.values_list("kind", flat=True)) == ["agent_offline"]


def test_the_periodic_job_checks_every_building(alpha: Building, beta: Building) -> None:
    with schema_context("beta"):
        beta_agent, _key = make_agent("beta agent")
        silent_since(beta_agent, timezone.now() - timedelta(hours=1))

    reports = check_gate_silence_task.apply().get()

    assert reports["alpha"] == "0 agents offline, 0 back, 0 controllers unreachable"
    assert reports["beta"] == "1 agents offline, 0 back, 0 controllers unreachable"
    with schema_context("beta"):
        assert Alert.objects.filter(kind="agent_offline", agent=beta_agent).count() == 1


# --- The gate console -----------------------------------------------------------------------


def console(alpha: Building, language: str = "en") -> str:
    browser = client_for(alpha, admin_of(alpha))
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = browser.get("/gates/")
    assert response.status_code == 200
    return response.content.decode()


def row(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start : page.index("</tr>", start)]


def test_the_console_shows_each_agent_and_controller_with_its_state(
    alpha: Building, client: Client, agent: GateAgent, controller: Controller
) -> None:
    unreachable = make_controller(agent, name="侧门控制器", host="10.0.0.8")
    never_reported = make_controller(agent, name="新控制器", host="10.0.0.11")
    heartbeat(
        client,
        report(
            link(controller),
            link(unreachable, connected=False, last_error="ConnectionException: refused"),
        ),
    )
    silent, _key = make_agent("west agent")
    silent_since(silent, timezone.now() - timedelta(hours=3))
    check_gate_silence()
    unheard, _key = make_agent("spare agent")

    page = console(alpha)

    online_agent = row(page, f'data-agent="{agent.pk}"')
    assert "Online" in online_agent and "s ago" in online_agent
    assert ">4<" in online_agent.replace(" ", "")  # the journal depth
    assert "0.1.0" in online_agent
    assert "Offline" in row(page, f'data-agent="{silent.pk}"')
    assert "Never heard from" in row(page, f'data-agent="{unheard.pk}"')
    assert "Online" in row(page, f'data-controller="{controller.pk}"')
    down = row(page, f'data-controller="{unreachable.pk}"')
    assert "Offline" in down and "ConnectionException: refused" in down
    assert "Not reported" in row(page, f'data-controller="{never_reported.pk}"')
    assert "for 120 s raises an alert" in page


def test_the_console_speaks_chinese_by_default(
    alpha: Building, client: Client, agent: GateAgent, controller: Controller
) -> None:
    heartbeat(client, report(link(controller)))

    page = console(alpha, "zh-hans")

    assert "秒前" in row(page, f'data-agent="{agent.pk}"')
    assert "在线" in row(page, f'data-controller="{controller.pk}"')


def test_an_offline_agent_comes_back_only_when_heard_from_not_when_the_limit_grows(
    alpha: Building, agent: GateAgent
) -> None:
    silent_since(agent, timezone.now() - timedelta(minutes=10))
    check_gate_silence()
    Building.objects.filter(pk=alpha.pk).update(gate_silence_seconds=3600)

    check_gate_silence()

    agent.refresh_from_db()
    assert agent.offline_since is not None
    assert not AuditEntry.objects.filter(verb="gate_agent.back_online").exists()
