"""Alerts the platform raises itself: once per key, audited, and on the screens after commit."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tests.access.conftest import make_visit
from visit_platform.access.actions import acknowledge_alert, raise_alert
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Alert, Gate
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry


async def _listen(group: str) -> tuple[Any, str]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


def test_an_alert_raised_twice_with_one_key_is_one_alert(gate: Gate) -> None:
    first, first_replayed = raise_alert(
        AlertKind.DENIAL_BURST, key=f"burst:{gate.pk}:1", gate=gate, details={"refusals": 5}
    )
    again, again_replayed = raise_alert(
        AlertKind.DENIAL_BURST, key=f"burst:{gate.pk}:1", gate=gate, details={"refusals": 6}
    )
    other, _ = raise_alert(AlertKind.DENIAL_BURST, key=f"burst:{gate.pk}:2", gate=gate)

    assert (first_replayed, again_replayed) == (False, True)
    assert again.pk == first.pk and other.pk != first.pk
    assert Alert.objects.get(pk=first.pk).details == {"refusals": 5}
    assert AuditEntry.objects.filter(verb="alert.raised").count() == 2


def test_a_raised_alert_reaches_the_screens_with_the_full_name_after_commit(
    gate: Gate, django_capture_on_commit_callbacks: Any
) -> None:
    visit = make_visit()
    layer, channel = async_to_sync(_listen)("occupancy.alpha")
    with django_capture_on_commit_callbacks(execute=True):
        alert, _ = raise_alert(AlertKind.WATCHLIST_HIT, key="hit:1", gate=gate, visit=visit)
    payload = async_to_sync(layer.receive)(channel)["payload"]

    assert payload["type"] == "alert"
    assert (payload["id"], payload["kind"], payload["urgent"]) == (alert.pk, "watchlist_hit", True)
    assert (payload["gate"], payload["visit_id"]) == (gate.name, visit.pk)
    assert payload["visitor"] == visit.visitor_name  # the consumer masks it where it must

    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_alert(Actor.system("test"), alert, "Guard sent to the gate.")
    acknowledged = async_to_sync(layer.receive)(channel)["payload"]

    assert acknowledged["type"] == "alert_acknowledged"
    assert (acknowledged["id"], acknowledged["note"]) == (alert.pk, "Guard sent to the gate.")
    async_to_sync(layer.group_discard)("occupancy.alpha", channel)
