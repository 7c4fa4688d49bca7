"""Gate decisions reach the building's live screens after commit, and only that building's."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tests.access.conftest import slip_token
from visit_platform.access import live
from visit_platform.access.actions import decide_scan
from visit_platform.access.models import Gate, Pass


async def _listen(group: str) -> tuple[Any, str]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


def test_a_committed_decision_is_pushed_to_the_building_s_occupancy_group(
    gate: Gate, pass_record: Pass, django_capture_on_commit_callbacks: Any
) -> None:
    layer, channel = async_to_sync(_listen)("occupancy.alpha")
    with django_capture_on_commit_callbacks(execute=True):
        decision = decide_scan(gate=gate, token=slip_token(pass_record))
    message = async_to_sync(layer.receive)(channel)

    assert message["type"] == "occupancy.event"
    assert message["payload"]["event_id"] == str(decision.event.event_id)
    assert (message["payload"]["granted"], message["payload"]["gate"]) == (True, gate.name)
    async_to_sync(layer.group_discard)("occupancy.alpha", channel)


def test_the_push_waits_for_the_decision_to_commit(
    gate: Gate, pass_record: Pass, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decide_scan(gate=gate, token=slip_token(pass_record))

    # The live push and, the visit's first entry, the host's arrival notice: both after commit.
    assert len(callbacks) == 2


def test_events_published_together_reach_the_group_as_one_batch_in_order() -> None:
    group = f"occupancy.batch{uuid.uuid4().hex[:8]}"
    layer, channel = async_to_sync(_listen)(group)

    for number in range(3):
        live.publish(group, {"type": "occupancy.event", "payload": {"number": number}})
    message = async_to_sync(layer.receive)(channel)

    assert message["type"] == "live.batch"
    assert [inner["payload"]["number"] for inner in message["messages"]] == [0, 1, 2]
    async_to_sync(layer.group_discard)(group, channel)
