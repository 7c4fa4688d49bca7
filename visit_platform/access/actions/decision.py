"""The gate decision: a scan at a gate is granted or denied and recorded as an AccessEvent.

The decision is the platform's hot path: every turnstile in the building waits on it. Its
statements are written in SQL (ADR 0005): built through the ORM they cost about 5 ms of CPU
per scan, most of the decision. Past the building's search path and BEGIN, a granted entry is
two statements and the commit: read the pass, its visit and the watchlist match; take the
use, check the visit in and record the event. Round trips, more than CPU, set the latency.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kernel import pass_tokens as tokens
from kernel.zones import checked_zone, zone_admits
from tenants.db import current_schema
from visit_platform.access.actions._common import publish_on_commit
from visit_platform.access.actions.alerts import raise_watchlist_hit
from visit_platform.access.actions.arrivals import announce_arrival
from visit_platform.access.actions.bursts import count_refusal
from visit_platform.access.choices import PASSAGE_REASONS, Direction, GateDirection, Mode, Reason
from visit_platform.access.models import AccessEvent, Gate, GateAgent, Pass
from visit_platform.access.queries import (
    HOLDER_COLUMNS,
    HOLDER_JOINS,
    PassHolder,
    holder_from_row,
    public_key,
)
from visit_platform.visits.choices import ADMITTING_STATUSES, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import WATCHLISTED_SQL


@dataclass
class Decision:
    """The answer to a scan or a reported passage."""

    event: AccessEvent
    replayed: bool = False  # the event id had been seen: this is the first answer again
    # After a granted entry, the pass's entries left (None: unlimited); agents keep it to
    # decide offline without giving a pass more entries than it has.
    uses_left: int | None = None

    @property
    def granted(self) -> bool:
        return self.event.granted

    @property
    def reason(self) -> str:
        return self.event.reason

    @property
    def message(self) -> str:
        return str(Reason(self.event.reason).label)


@dataclass(frozen=True)
class ScannedPass:
    """What the decision needs to know about the pass a token names, read in one statement."""

    pass_id: int
    visit_id: int
    valid_from: datetime
    valid_until: datetime
    zones: list[str]
    is_revoked: bool
    visit_status: str
    is_watchlisted: bool
    holder: PassHolder  # for the live screens

    @property
    def ids(self) -> tuple[int, int]:
        return self.pass_id, self.visit_id


class _Denied(Exception):
    def __init__(self, reason: Reason, scanned: ScannedPass | None = None) -> None:
        self.reason = reason
        self.scanned = scanned


class _Replayed(Exception):
    """The event id is already recorded: what this attempt changed must be rolled back."""


def decide_scan(
    *,
    gate: Gate,
    token: str,
    direction: str | None = None,
    event_id: uuid.UUID | None = None,
    agent: GateAgent | None = None,
    now: datetime | None = None,
) -> Decision:
    """Decide a scan at a gate and record it as an AccessEvent, granted or denied.

    The checks run in this order: token format, building, key, signature, pass; then the
    watchlist (first, so security learns why even when the entry already revoked the pass),
    revocation, visit status, the pass's window, the token's own freshness (a screenshot of
    an old rotating code), zone, and finally anti-passback and the use count, taken with one
    conditional UPDATE so that two gates can never both admit a single-use pass. Exits are
    let through on any genuine pass of this building: nobody is trapped inside.

    A repeated event id is answered with the first answer and changes nothing: the event's
    unique index tells, and what this attempt did before it got there is rolled back.
    """
    event_id = event_id or uuid.uuid4()
    now = now or timezone.now()
    try:
        with transaction.atomic():
            try:
                resolved = _resolve_direction(gate, direction)
                scanned, not_after = _verified_pass(token, now)
                event = _new_event(event_id, gate, agent, scanned.ids, resolved, now)
                if resolved == Direction.OUT:
                    _let_out(scanned.pass_id, scanned.visit_id, now)
                    return _record(event, scanned.holder)
                _check_entry(scanned, not_after, gate, now)
                return _admit(scanned, event)
            except _Denied as denial:
                event = _new_event(
                    event_id,
                    gate,
                    agent,
                    denial.scanned.ids if denial.scanned else None,
                    direction or gate.direction,
                    now,
                    denial.reason,
                )
                decision = _record(event)
                note_refusal(decision.event)
                return decision
    except _Replayed:
        return _first_answer(event_id)


def note_refusal(event: AccessEvent) -> None:
    """What a refusal just recorded means beyond the gate's answer: a watchlisted person
    raises an alert (in the decision's transaction, once per event), and every refusal counts
    towards a burst at its gate (after commit). Never called for a granted scan."""
    if event.reason == Reason.WATCHLISTED:
        raise_watchlist_hit(event)
    count_refusal(event)


def _resolve_direction(gate: Gate, requested: str | None) -> Direction:
    if not gate.is_active:
        raise _Denied(Reason.GATE_INACTIVE)
    if gate.direction == GateDirection.BOTH:
        return Direction(requested) if requested in Direction.values else Direction.IN
    if requested not in (None, "", gate.direction):
        raise _Denied(Reason.WRONG_DIRECTION)
    return Direction(gate.direction)


# Composed of constants only: nothing from a request is formatted into it. It also reads what
# the live screens show of the holder (two joins on primary keys): the screens cost the gate
# no round trip.
_SCANNED_PASS_SQL = f"""
    SELECT pass.id, pass.visit_id, pass.valid_from, pass.valid_until, pass.zones::text,
           pass.revoked_at IS NOT NULL, visit.status, {WATCHLISTED_SQL}, {HOLDER_COLUMNS}
    FROM access_pass pass
    JOIN visits_visit visit ON visit.id = pass.visit_id
    JOIN visits_visitor visitor ON visitor.id = visit.visitor_id
    {HOLDER_JOINS}
    WHERE pass.id = %s
"""  # noqa: S608


def _verified_pass(token: str, now: datetime) -> tuple[ScannedPass, int]:
    """The pass a genuine token of this building names, with the token's not-after time."""
    try:
        parsed = tokens.parse_token(token)
    except tokens.TokenError as error:
        raise _Denied(Reason.INVALID_TOKEN) from error
    claims = parsed.claims
    if claims.building_tag != tokens.building_tag(current_schema()):
        raise _Denied(Reason.WRONG_BUILDING)
    key = public_key(claims.key_id)
    if key is None:
        raise _Denied(Reason.UNKNOWN_KEY)
    try:
        tokens.verify_token(parsed, key)
    except tokens.TokenError as error:
        raise _Denied(Reason.INVALID_SIGNATURE) from error
    with connection.cursor() as cursor:
        cursor.execute(_SCANNED_PASS_SQL, [now, claims.pass_id])
        row = cursor.fetchone()
    if row is None:
        raise _Denied(Reason.UNKNOWN_PASS)
    pass_id, visit_id, valid_from, valid_until, zones, is_revoked, status, watchlisted, *holder = (
        row
    )
    # jsonb comes back as text (Django leaves JSON to its fields); zones match whole names.
    scanned = ScannedPass(
        pass_id,
        visit_id,
        valid_from,
        valid_until,
        json.loads(zones),
        is_revoked,
        status,
        watchlisted,
        holder_from_row(visit_id, holder),
    )
    return scanned, claims.not_after


def _check_entry(scanned: ScannedPass, not_after: int, gate: Gate, now: datetime) -> None:
    """Everything an entry needs but the use itself, in the order of the reason codes."""
    if scanned.is_watchlisted:
        raise _Denied(Reason.WATCHLISTED, scanned)
    if scanned.is_revoked:
        raise _Denied(Reason.REVOKED, scanned)
    if scanned.visit_status not in ADMITTING_STATUSES:
        raise _Denied(Reason.NOT_APPROVED, scanned)
    if now < scanned.valid_from:
        raise _Denied(Reason.NOT_YET_VALID, scanned)
    if now > scanned.valid_until:
        raise _Denied(Reason.EXPIRED, scanned)
    if not_after < int(now.timestamp()):
        raise _Denied(Reason.TOKEN_EXPIRED, scanned)
    if not zone_admits(scanned.zones, checked_zone(gate.zone, gate.checks_zone)):
        raise _Denied(Reason.WRONG_ZONE, scanned)


_EVENT_COLUMNS = (
    "event_id, gate_id, agent_id, pass_id, visit_id, direction, granted, reason, mode, "
    "occurred_at, recorded_at"
)
_EVENT_VALUES = (
    "%s::uuid, %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s, %s::boolean, %s, %s, "
    "%s::timestamptz, %s::timestamptz"
)

# One conditional UPDATE takes the use: PostgreSQL re-checks the condition on the row's latest
# version after waiting for its lock, so of two gates scanning a single-use pass at the same
# moment exactly one gets a row back. The same statement reads the building's anti-passback
# setting, checks the visit in and records the granted event (one round trip for the whole
# entry), and says whether this entry checked the visit in for the first time (its time became
# the visit's ``checked_in_at``: the host is told of the arrival once). Nothing is recorded when
# the use is refused; a repeated event id records nothing either, and the caller rolls the use
# back.
_ADMIT_SQL = f"""
    WITH admitted AS (
        UPDATE access_pass SET uses = uses + 1, is_inside = true
        WHERE id = %s AND revoked_at IS NULL
          AND (max_uses IS NULL OR uses < max_uses)
          AND (NOT is_inside OR NOT EXISTS (
              SELECT 1 FROM tenants_building WHERE schema_name = %s AND anti_passback))
        RETURNING visit_id, max_uses - uses AS uses_left
    ), checked_in AS (
        UPDATE visits_visit SET status = %s, checked_in_at = COALESCE(checked_in_at, %s)
        WHERE id IN (SELECT visit_id FROM admitted) AND status IN (%s, %s)
        RETURNING checked_in_at = %s AS first_entry
    ), recorded AS (
        INSERT INTO access_accessevent ({_EVENT_COLUMNS})
        SELECT {_EVENT_VALUES} FROM admitted
        ON CONFLICT (event_id) DO NOTHING
        RETURNING id
    )
    SELECT (SELECT count(*) FROM admitted), (SELECT id FROM recorded),
           (SELECT uses_left FROM admitted), (SELECT first_entry FROM checked_in)
"""  # noqa: S608 - composed of constants only

# Only to explain a refused use, so only on that path.
_REFUSAL_SQL = """
    SELECT pass.revoked_at IS NOT NULL, pass.is_inside AND building.anti_passback
    FROM access_pass pass, tenants_building building
    WHERE pass.id = %s AND building.schema_name = %s
"""


def _admit(scanned: ScannedPass, event: AccessEvent) -> Decision:
    """Take a use of the pass, check the visit in and record the granted ``event``, or say why
    the use was refused (revoked a moment ago, anti-passback, or no uses left). The visit's
    first entry announces the arrival to its host, after commit."""
    schema = current_schema()
    with connection.cursor() as cursor:
        cursor.execute(
            _ADMIT_SQL,
            [
                scanned.pass_id,
                schema,
                VisitStatus.CHECKED_IN,
                event.occurred_at,
                VisitStatus.APPROVED,
                VisitStatus.CHECKED_OUT,
                event.occurred_at,
                *_event_values(event),
            ],
        )
        admitted, event_pk, uses_left, first_entry = cursor.fetchone()
        if not admitted:
            cursor.execute(_REFUSAL_SQL, [scanned.pass_id, schema])
            is_revoked, is_passed_back = cursor.fetchone()
            if is_revoked:
                raise _Denied(Reason.REVOKED, scanned)
            if is_passed_back:
                raise _Denied(Reason.ANTI_PASSBACK, scanned)
            raise _Denied(Reason.USES_EXHAUSTED, scanned)
    if event_pk is None:
        raise _Replayed
    decision = _recorded(event, event_pk, scanned.holder, first_entry=bool(first_entry))
    decision.uses_left = uses_left
    if first_entry:
        announce_arrival(scanned.visit_id, event.gate_id, event.occurred_at)
    return decision


def _let_out(pass_id: int, visit_id: int, now: datetime) -> None:
    Pass.objects.filter(pk=pass_id).update(is_inside=False)
    Visit.objects.filter(pk=visit_id, status=VisitStatus.CHECKED_IN).update(
        status=VisitStatus.CHECKED_OUT, checked_out_at=now
    )


def _first_answer(event_id: uuid.UUID) -> Decision:
    """The decision recorded for a repeated event id."""
    return Decision(AccessEvent.objects.select_related("gate").get(event_id=event_id), True)


_RECORD_SQL = f"""
    INSERT INTO access_accessevent ({_EVENT_COLUMNS}) VALUES ({_EVENT_VALUES})
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id
"""  # noqa: S608 - composed of constants only


def _new_event(
    event_id: uuid.UUID,
    gate: Gate,
    agent: GateAgent | None,
    pass_ids: tuple[int, int] | None,
    direction: str,
    occurred_at: datetime,
    reason: Reason = Reason.GRANTED,
    mode: str = Mode.ONLINE,
) -> AccessEvent:
    """The decision as an AccessEvent, not yet stored."""
    return AccessEvent(
        event_id=event_id,
        gate=gate,
        agent=agent,
        pass_record_id=pass_ids[0] if pass_ids else None,
        visit_id=pass_ids[1] if pass_ids else None,
        direction=direction if direction in Direction.values else Direction.IN,
        granted=reason in PASSAGE_REASONS,
        reason=reason,
        mode=mode,
        occurred_at=occurred_at,
        recorded_at=timezone.now(),
    )


def _event_values(event: AccessEvent) -> list[Any]:
    """The event's values in the order of _EVENT_COLUMNS."""
    return [
        event.event_id,
        event.gate_id,
        event.agent_id,
        event.pass_record_id,
        event.visit_id,
        event.direction,
        event.granted,
        event.reason,
        event.mode,
        event.occurred_at,
        event.recorded_at,
    ]


def _record(
    event: AccessEvent, holder: PassHolder | None = None, *, first_entry: bool = False
) -> Decision:
    """Store the decision; raises _Replayed if the event id is taken (also by a concurrent
    request with the same id, whose transaction this waits for). ``holder`` is the pass's
    holder, for the live screens; ``first_entry`` whether this passage checked the visit in
    for the first time."""
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, _event_values(event))
        row = cursor.fetchone()
    if row is None:
        raise _Replayed
    return _recorded(event, row[0], holder, first_entry=first_entry)


def _recorded(
    event: AccessEvent, pk: int, holder: PassHolder | None, *, first_entry: bool = False
) -> Decision:
    event.pk = pk
    event._state.adding = False
    event._state.db = connection.alias
    _publish_after_commit(event, holder, first_entry)
    return Decision(event)


def _publish_after_commit(event: AccessEvent, holder: PassHolder | None, first_entry: bool) -> None:
    """Tell the live screens of the event (PROTOCOL ``access_event``). A granted passage on a
    pass carries its holder as the screens list people inside; nothing here reads the
    database."""
    gate = event.gate
    person = None
    if event.granted and holder is not None:
        person = holder.on_screen(pass_id=event.pass_record_id, since=event.occurred_at, gate=gate)
    payload = {
        "type": "access_event",
        "event_id": str(event.event_id),
        "gate": gate.name,
        "gate_id": gate.pk,
        "zone": gate.zone,
        "direction": event.direction,
        "granted": event.granted,
        "reason": event.reason,
        "occurred_at": event.occurred_at.isoformat(),
        "visit_id": event.visit_id,
        "first_entry": first_entry,
        "person": person,
    }
    publish_on_commit(payload)


def payload_of(decision: Decision) -> dict[str, Any]:
    """How a decision is answered to agents and readers. ``uses_left`` is said for a fresh
    granted entry (None: unlimited) and for a pass whose uses are exhausted (0)."""
    event = decision.event
    uses_left = 0 if event.reason == Reason.USES_EXHAUSTED else decision.uses_left
    return {
        "event_id": str(event.event_id),
        "granted": event.granted,
        "reason": event.reason,
        "message": decision.message,
        "direction": event.direction,
        "pass_id": event.pass_record_id,
        "replayed": decision.replayed,
        "uses_left": uses_left,
    }
