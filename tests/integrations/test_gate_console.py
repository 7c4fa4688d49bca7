"""Console pages for controllers and gates: property admins manage them, the register map is
checked by the agent's own validator (the error names the field), "test" queues a pulse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
from tenants.models import Building
from tests.access.conftest import SYSTEM
from tests.conftest import admin_of, client_for, member
from visit_platform.access import actions
from visit_platform.access.models import Controller, Gate, GateCommand
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db


def admin(alpha: Building) -> Client:
    client = client_for(alpha, admin_of(alpha))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def controller_form(**fields: Any) -> dict[str, Any]:
    data = {
        "name": "大堂控制器",
        "host": "10.0.0.7",
        "port": "502",
        "device_id": "1",
        "poll_interval_ms": "200",
        "register_map": json.dumps(shipped_map(GENERIC_TURNSTILE)),
        "is_active": "on",
    }
    data.update(fields)
    return data


def test_a_property_admin_adds_a_controller_with_the_generic_map(alpha: Building) -> None:
    client = admin(alpha)

    form = client.get("/gates/controllers/new/")
    response = client.post("/gates/controllers/new/", controller_form())

    assert form.status_code == 200
    assert "generic-turnstile" in form.content.decode()  # offered as the starting map
    assert response.status_code == 302
    with schema_context("alpha"):
        controller = Controller.objects.get()
        assert (controller.name, controller.host, controller.register_map["model"]) == (
            "大堂控制器",
            "10.0.0.7",
            "generic-turnstile",
        )
        assert AuditEntry.objects.filter(verb="controller.created").count() == 1


def test_a_malformed_map_is_shown_with_the_field_it_names_and_nothing_is_saved(
    alpha: Building,
) -> None:
    data = shipped_map(GENERIC_TURNSTILE)
    data["gates"][1]["pulse_ms"] = 5

    response = admin(alpha).post(
        "/gates/controllers/new/", controller_form(register_map=json.dumps(data))
    )
    not_json = admin(alpha).post("/gates/controllers/new/", controller_form(register_map="{"))

    assert response.status_code == 200
    assert "gates[1].pulse_ms: must be an integer 50..10000" in response.content.decode()
    assert "map: is not valid JSON" in not_json.content.decode()
    with schema_context("alpha"):
        assert not Controller.objects.exists()


def test_a_second_controller_at_one_address_is_refused_with_a_message_on_the_host(
    alpha: Building,
) -> None:
    client = admin(alpha)
    client.post("/gates/controllers/new/", controller_form())

    english = client.post("/gates/controllers/new/", controller_form(name="重复"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.post("/gates/controllers/new/", controller_form(name="重复"))

    assert english.status_code == chinese.status_code == 200
    assert "is already in service at this address" in english.content.decode()
    assert "已在此地址运行" in chinese.content.decode()
    with schema_context("alpha"):
        assert list(Controller.objects.values_list("name", flat=True)) == ["大堂控制器"]


def test_an_out_of_range_port_is_shown_on_its_field(alpha: Building) -> None:
    response = admin(alpha).post("/gates/controllers/new/", controller_form(port="70000"))

    assert response.status_code == 200
    assert "The port must be between 1 and 65535." in response.content.decode()


def test_a_gate_is_created_and_wired_to_a_lane_and_the_test_button_queues_a_pulse(
    alpha: Building,
) -> None:
    client = admin(alpha)
    client.post("/gates/controllers/new/", controller_form())
    with schema_context("alpha"):
        controller = Controller.objects.get()

    created = client.post(
        "/gates/new/",
        {
            "name": "大堂 1 号",
            "zone": "大堂",
            "direction": "in",
            "is_active": "on",
            "controller": controller.pk,
            "lane": "2",
        },
    )
    with schema_context("alpha"):
        gate = Gate.objects.get(name="大堂 1 号")
    pulsed = client.post(f"/gates/{gate.pk}/pulse/", {"direction": "in"})
    listing = client.get("/gates/")

    assert created.status_code == pulsed.status_code == 302
    assert (gate.controller, gate.lane, gate.direction) == (controller, 2, "in")
    with schema_context("alpha"):
        command = GateCommand.objects.get()
        assert (command.gate, command.status, command.requested_by) == (
            gate,
            "pending",
            admin_of(alpha),
        )
    page = listing.content.decode()
    assert "Test (open once)" in page
    assert "Waiting for the gate agent" in page


def test_a_gate_cannot_be_wired_to_a_lane_the_map_lacks(alpha: Building) -> None:
    client = admin(alpha)
    client.post("/gates/controllers/new/", controller_form())
    with schema_context("alpha"):
        controller = Controller.objects.get()

    response = client.post(
        "/gates/new/",
        {"name": "侧门", "direction": "both", "controller": controller.pk, "lane": "9"},
    )

    assert response.status_code == 200
    assert "The controller&#x27;s map has lanes 1, 2." in response.content.decode()
    with schema_context("alpha"):
        assert not Gate.objects.filter(name="侧门").exists()


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.SECURITY, Role.HOST])
def test_roles_other_than_property_admin_may_not_manage_gates(alpha: Building, role: Role) -> None:
    company = None
    if role == Role.HOST:
        from visit_platform.directory.actions import create_company

        with schema_context("alpha"):
            company = create_company(SYSTEM, name="某公司")
    user = member(alpha, f"{role}@alpha.example", role, company)
    client = client_for(alpha, user)
    with schema_context("alpha"):
        gate = actions.create_gate(SYSTEM, name="x")

    assert client.get("/gates/").status_code == 403
    assert client.post("/gates/controllers/new/", controller_form()).status_code == 403
    assert client.post(f"/gates/{gate.pk}/pulse/").status_code == 403
    with schema_context("alpha"):
        assert not GateCommand.objects.exists()
        assert not Controller.objects.exists()


def test_the_gates_page_speaks_chinese_by_default(alpha: Building) -> None:
    response = client_for(alpha, admin_of(alpha)).get("/gates/")

    assert response.status_code == 200
    assert "闸机" in response.content.decode()
