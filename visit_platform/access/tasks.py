"""Work the gate hands off after commit, so that a turnstile never waits for it."""

from __future__ import annotations

from datetime import datetime

from tenants.jobs import in_every_building
from visit_platform.access.actions import check_gate_silence, check_overstays
from visit_platform.access.actions.arrivals import sweep_missed_arrivals, tell_host_of_arrival
from visit_platform.celery import app


@app.task(ignore_result=True)
def tell_host_of_arrival_task(visit_id: int, gate_id: int | None, arrived_at: str) -> None:
    """Safe to run twice: the host is told once per visit."""
    tell_host_of_arrival(visit_id, gate_id, datetime.fromisoformat(arrived_at))


@app.task(ignore_result=True)
def sweep_missed_arrivals_task() -> dict[str, str]:
    """Every building's arrival notices that the gate could not hand over (broker away):
    sent periodically by beat, with the notifications' sweep."""
    return in_every_building(lambda: f"{sweep_missed_arrivals()} arrival notices")


@app.task(ignore_result=True)
def check_overstays_task() -> dict[str, str]:
    """Every building's overstays noted (hosts told once) and, past its end of day, the
    visits not seen leaving checked out: sent periodically by beat."""
    return in_every_building(check_overstays)


@app.task(ignore_result=True)
def check_gate_silence_task() -> dict[str, str]:
    """Every building's silent gate agents and unreachable controllers: one alert per outage
    (safe to run twice, or two at once), sent periodically by beat."""
    return in_every_building(check_gate_silence)
