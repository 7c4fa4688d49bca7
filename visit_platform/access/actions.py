"""Every change to passes, gates, gate agents and signing keys, and the gate decision itself."""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.modbus.register_map import RegisterMapError, parse_register_map
from kernel import pass_tokens as tokens
from kernel.errors import DomainError, NotFoundError
from kernel.privacy import secret_hash
from kernel.process_cache import ProcessCache
from tenants.actions import building_url
from tenants.db import current_schema
from visit_platform.access import live
from visit_platform.access.choices import (
    PASSAGE_REASONS,
    AlertKind,
    CommandStatus,
    Direction,
    GateDirection,
    Mode,
    Reason,
)
from visit_platform.access.consumers import occupancy_group
from visit_platform.access.models import (
    AccessEvent,
    Alert,
    Controller,
    Gate,
    GateAgent,
    GateCommand,
    Pass,
    SigningKey,
)
from visit_platform.audit.actions import Actor, record, record_many
from visit_platform.visits.choices import ADMITTING_STATUSES, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import (
    WATCHLISTED_SQL,
    visit_is_watchlisted,
    watchlisted_visitors,
)

ROTATING_TOKEN_SECONDS = 60
AGENT_KEY_PREFIX_LENGTH = 8
# A deactivated agent's key stops working in other processes within this time.
AGENT_CACHE_SECONDS = 5
_agents: ProcessCache[GateAgent] = ProcessCache(AGENT_CACHE_SECONDS, (GateAgent,))


# --- Signing keys ---------------------------------------------------------------------------

# Keys never change once created, so processes may keep them: (schema, key id) -> key.
_public_keys: dict[tuple[str, int], Ed25519PublicKey] = {}
_private_keys: dict[tuple[str, int], Ed25519PrivateKey] = {}


@transaction.atomic
def rotate_signing_key(actor: Actor) -> SigningKey:
    """Create a new signing key and retire the current one. Retired keys still verify the
    tokens they signed (printed slips), but sign nothing new."""
    now = timezone.now()
    latest = SigningKey.objects.select_for_update().order_by("-key_id").first()
    key_id = (latest.key_id + 1) if latest else 1
    if key_id > 0xFFFF:
        raise DomainError("key_ids_exhausted", _("No more key ids are available."))
    SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now)
    private = tokens.generate_private_key()
    key = SigningKey.objects.create(
        key_id=key_id,
        private_key=tokens.private_key_to_pem(private),
        public_key=tokens.public_key_to_text(private.public_key()),
    )
    record(actor, "signing_key.rotated", key, key_id=key_id)
    return key


def _signing_key() -> tuple[int, Ed25519PrivateKey]:
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-key_id").first()
    if key is None:
        raise DomainError("no_signing_key", _("This building has no signing key."))
    cache_key = (current_schema(), key.key_id)
    if cache_key not in _private_keys:
        _private_keys[cache_key] = tokens.private_key_from_pem(key.private_key)
    return key.key_id, _private_keys[cache_key]


def public_key(key_id: int) -> Ed25519PublicKey | None:
    cache_key = (current_schema(), key_id)
    if cache_key not in _public_keys:
        text = SigningKey.objects.filter(key_id=key_id).values_list("public_key", flat=True).first()
        if text is None:
            return None
        _public_keys[cache_key] = tokens.public_key_from_text(text)
    return _public_keys[cache_key]


def pass_token(pass_record: Pass, kind: tokens.TokenKind, now: datetime | None = None) -> str:
    """A signed QR token for the pass: a slip token lasts the pass's window, a rotating one
    about a minute (the visitor's page fetches a fresh one every 30 seconds)."""
    now = now or timezone.now()
    not_after = pass_record.valid_until
    if kind == tokens.TokenKind.ROTATING:
        not_after = min(not_after, now + timedelta(seconds=ROTATING_TOKEN_SECONDS))
    key_id, private = _signing_key()
    claims = tokens.TokenClaims(
        kind=kind,
        building_tag=tokens.building_tag(current_schema()),
        key_id=key_id,
        pass_id=pass_record.pk,
        not_after=int(not_after.timestamp()),
    )
    return tokens.sign_token(claims, private)


# --- Gates and agents -----------------------------------------------------------------------


@transaction.atomic
def create_gate(
    actor: Actor, *, name: str, zone: str = "", direction: str = GateDirection.BOTH
) -> Gate:
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("name_required", _("The gate needs a name."), field="name")
    if direction not in GateDirection.values:
        raise DomainError("direction_invalid", _("Unknown direction."), field="direction")
    gate = Gate.objects.create(name=name, zone=zone.strip()[:100], direction=direction)
    record(actor, "gate.created", gate)
    return gate


@transaction.atomic
def update_gate(
    actor: Actor, gate: Gate, *, name: str, zone: str, direction: str, is_active: bool
) -> Gate:
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("name_required", _("The gate needs a name."), field="name")
    if direction not in GateDirection.values:
        raise DomainError("direction_invalid", _("Unknown direction."), field="direction")
    gate.name, gate.zone, gate.direction, gate.is_active = (
        name,
        zone.strip()[:100],
        direction,
        is_active,
    )
    gate.save(update_fields=["name", "zone", "direction", "is_active"])
    record(actor, "gate.changed", gate, direction=direction, is_active=is_active)
    return gate


@transaction.atomic
def create_gate_agent(actor: Actor, *, name: str) -> tuple[GateAgent, str]:
    """Register an agent; returns it with its key, which is shown once and stored hashed."""
    prefix = secrets.token_hex(AGENT_KEY_PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    agent = GateAgent.objects.create(
        name=name.strip()[:100] or "agent", key_prefix=prefix, key_hash=secret_hash(secret)
    )
    record(actor, "gate_agent.created", agent)
    return agent, f"{prefix}.{secret}"


@transaction.atomic
def deactivate_gate_agents(actor: Actor, *, name: str) -> int:
    """Retire every active agent of this name (the demo replaces its agent on each run)."""
    agents = list(GateAgent.objects.filter(name=name, is_active=True))
    for agent in agents:
        agent.is_active = False
        agent.save(update_fields=["is_active"])  # a save, so that cached keys are dropped
        record(actor, "gate_agent.deactivated", agent)
    return len(agents)


def authenticate_agent(key: str) -> GateAgent | None:
    """The active agent holding ``key``, or None. Compares hashes in constant time."""
    prefix, separator, secret = key.partition(".")
    if not separator or len(prefix) != AGENT_KEY_PREFIX_LENGTH or not secret or len(key) > 200:
        return None
    agent = _agents.get(
        (current_schema(), prefix),
        lambda: GateAgent.objects.filter(key_prefix=prefix, is_active=True).first(),
    )
    if agent is None or not hmac.compare_digest(agent.key_hash, secret_hash(secret)):
        return None
    return agent


def touch_agent(agent: GateAgent) -> None:
    """Note that the agent was heard from (for health screens), at most once a minute."""
    now = timezone.now()
    if agent.last_seen_at is None or now - agent.last_seen_at > timedelta(minutes=1):
        GateAgent.objects.filter(pk=agent.pk).update(last_seen_at=now)
        agent.last_seen_at = now


# --- Passes ---------------------------------------------------------------------------------


@dataclass
class IssuedPass:
    pass_record: Pass
    link_code: str  # for the visitor's pass page; only its hash is stored


@transaction.atomic
def issue_pass(
    actor: Actor,
    visit: Visit,
    *,
    max_uses: int | None = None,
    zones: Iterable[str] = (),
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> IssuedPass:
    """Issue a pass for an approved visit, by default for the visit's whole window."""
    if visit.status not in ADMITTING_STATUSES:
        raise DomainError("not_approved", _("Only approved visits get a pass."))
    if visit_is_watchlisted(visit):
        raise DomainError("watchlisted", _("This visitor is on the watchlist."))
    if max_uses is not None and max_uses < 1:
        raise DomainError("max_uses_invalid", _("A pass admits at least once."), field="max_uses")
    start = valid_from or visit.valid_from
    end = valid_until or visit.valid_until
    if end <= start:
        raise DomainError("window_invalid", _("The pass must end after it starts."))
    code = secrets.token_urlsafe(18)
    pass_record = Pass.objects.create(
        visit=visit,
        valid_from=start,
        valid_until=end,
        max_uses=max_uses,
        zones=sorted({zone.strip() for zone in zones if zone.strip()}),
        link_hash=secret_hash(code),
        issued_by=actor.user,
    )
    record(actor, "pass.issued", pass_record, visit=visit.pk, max_uses=max_uses)
    return IssuedPass(pass_record, code)


@transaction.atomic
def refresh_pass_link(pass_record: Pass) -> str:
    """A new link code for a pass (the old link stops working): the code is known only
    when made, because only its hash is stored."""
    code = secrets.token_urlsafe(18)
    Pass.objects.filter(pk=pass_record.pk).update(link_hash=secret_hash(code))
    pass_record.link_hash = secret_hash(code)
    return code


@transaction.atomic
def issue_passes(actor: Actor, visits: list[Visit]) -> list[IssuedPass]:
    """``issue_pass`` for many approved visits at once, each for its visit's whole window
    (an event's attendees): the same refusals, checked for the whole list in one watchlist
    query, and the passes written in one INSERT. Refuses the whole list if one is refused."""
    if any(visit.status not in ADMITTING_STATUSES for visit in visits):
        raise DomainError("not_approved", _("Only approved visits get a pass."))
    watchlisted = watchlisted_visitors().filter(pk__in={visit.visitor_id for visit in visits})
    if watchlisted.exists():
        raise DomainError("watchlisted", _("This visitor is on the watchlist."))
    codes = [secrets.token_urlsafe(18) for _visit in visits]
    passes = Pass.objects.bulk_create(
        [
            Pass(
                visit=visit,
                valid_from=visit.valid_from,
                valid_until=visit.valid_until,
                link_hash=secret_hash(code),
                issued_by=actor.user,
            )
            for visit, code in zip(visits, codes, strict=True)
        ],
        batch_size=2000,
    )
    record_many(actor, "pass.issued", passes, max_uses=None)
    return [IssuedPass(pass_record, code) for pass_record, code in zip(passes, codes, strict=True)]


def pass_url(code: str) -> str:
    """The address of a pass's page (its link code) on the current building's domain."""
    return building_url(current_schema(), reverse("pass_page", args=[code]))


def renew_pass_link(actor: Actor, pass_record: Pass) -> str:
    """A new link to the pass for the visitor who asked on their own pages, audited. The pass
    itself, its uses and its window stay as they are."""
    code = refresh_pass_link(pass_record)
    record(actor, "pass.link_renewed", pass_record, visit=pass_record.visit_id)
    return code


def note_slip_printed(actor: Actor, pass_record: Pass) -> None:
    """Audit a printed slip: it carries the visitor's name and a window-long token."""
    record(actor, "pass.slip_printed", pass_record, visit=pass_record.visit_id)


@transaction.atomic
def revoke_pass(actor: Actor, pass_record: Pass, reason: str) -> Pass:
    updated = Pass.objects.filter(pk=pass_record.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason[:200]
    )
    pass_record.refresh_from_db()
    if updated:
        record(actor, "pass.revoked", pass_record, reason=reason[:200])
    return pass_record


def revoke_passes_of_visitors(actor: Actor, visitor_ids: Iterable[int], reason: str) -> int:
    """Revoke every unrevoked pass of these visitors (the watchlist calls this)."""
    passes = Pass.objects.filter(visit__visitor_id__in=list(visitor_ids), revoked_at__isnull=True)
    count = 0
    for pass_record in passes:
        revoke_pass(actor, pass_record, reason)
        count += 1
    return count


# --- The gate decision ----------------------------------------------------------------------
#
# The decision is the platform's hot path: every turnstile in the building waits on it. Its
# statements are written in SQL (ADR 0005): built through the ORM they cost about 5 ms of CPU
# per scan, most of the decision. Past the building's search path and BEGIN, a granted entry is
# two statements and the commit: read the pass, its visit and the watchlist match; take the
# use, check the visit in and record the event. Round trips, more than CPU, set the latency.


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
                    return _record(event)
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
                return _record(event)
    except _Replayed:
        return _first_answer(event_id)


def _resolve_direction(gate: Gate, requested: str | None) -> Direction:
    if not gate.is_active:
        raise _Denied(Reason.GATE_INACTIVE)
    if gate.direction == GateDirection.BOTH:
        return Direction(requested) if requested in Direction.values else Direction.IN
    if requested not in (None, "", gate.direction):
        raise _Denied(Reason.WRONG_DIRECTION)
    return Direction(gate.direction)


# Composed of constants only: nothing from a request is formatted into it.
_SCANNED_PASS_SQL = f"""
    SELECT pass.id, pass.visit_id, pass.valid_from, pass.valid_until, pass.zones::text,
           pass.revoked_at IS NOT NULL, visit.status, {WATCHLISTED_SQL}
    FROM access_pass pass
    JOIN visits_visit visit ON visit.id = pass.visit_id
    JOIN visits_visitor visitor ON visitor.id = visit.visitor_id
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
    pass_id, visit_id, valid_from, valid_until, zones, *rest = row
    # jsonb comes back as text (Django leaves JSON to its fields); zones match whole names.
    scanned = ScannedPass(pass_id, visit_id, valid_from, valid_until, json.loads(zones), *rest)
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
    if scanned.zones and gate.zone not in scanned.zones:
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
# entry). Nothing is recorded when the use is refused; a repeated event id records nothing
# either, and the caller rolls the use back.
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
    ), recorded AS (
        INSERT INTO access_accessevent ({_EVENT_COLUMNS})
        SELECT {_EVENT_VALUES} FROM admitted
        ON CONFLICT (event_id) DO NOTHING
        RETURNING id
    )
    SELECT (SELECT count(*) FROM admitted), (SELECT id FROM recorded),
           (SELECT uses_left FROM admitted)
"""  # noqa: S608 - composed of constants only

# Only to explain a refused use, so only on that path.
_REFUSAL_SQL = """
    SELECT pass.revoked_at IS NOT NULL, pass.is_inside AND building.anti_passback
    FROM access_pass pass, tenants_building building
    WHERE pass.id = %s AND building.schema_name = %s
"""


def _admit(scanned: ScannedPass, event: AccessEvent) -> Decision:
    """Take a use of the pass, check the visit in and record the granted ``event``, or say why
    the use was refused (revoked a moment ago, anti-passback, or no uses left)."""
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
                *_event_values(event),
            ],
        )
        admitted, event_pk, uses_left = cursor.fetchone()
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
    decision = _recorded(event, event_pk)
    decision.uses_left = uses_left
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


def _record(event: AccessEvent) -> Decision:
    """Store the decision; raises _Replayed if the event id is taken (also by a concurrent
    request with the same id, whose transaction this waits for)."""
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, _event_values(event))
        row = cursor.fetchone()
    if row is None:
        raise _Replayed
    return _recorded(event, row[0])


def _recorded(event: AccessEvent, pk: int) -> Decision:
    event.pk = pk
    event._state.adding = False
    event._state.db = connection.alias
    _publish_after_commit(event)
    return Decision(event)


def _publish_after_commit(event: AccessEvent) -> None:
    schema = current_schema()
    payload = {
        "type": "access_event",
        "event_id": str(event.event_id),
        "gate": event.gate.name,
        "direction": event.direction,
        "granted": event.granted,
        "reason": event.reason,
        "occurred_at": event.occurred_at.isoformat(),
    }

    transaction.on_commit(
        lambda: live.publish(
            occupancy_group(schema), {"type": "occupancy.event", "payload": payload}
        )
    )


# --- Passages reported by agents ------------------------------------------------------------


@dataclass(frozen=True)
class ReportedPassage:
    """A passage an agent reports afterwards: counted by the turnstile without a scan, or a
    scan it decided offline (then ``pass_id``, ``granted`` and ``reason`` are its verdict)."""

    event_id: uuid.UUID
    gate: Gate
    direction: str
    occurred_at: datetime
    pass_id: int | None = None
    granted: bool = True
    reason: str = Reason.PASSAGE
    mode: str = Mode.OFFLINE


def record_passage(passage: ReportedPassage, agent: GateAgent | None = None) -> Decision:
    """Record a reported passage once (idempotent by event id) and apply what it means:
    a granted entry on a pass uses it and checks the visit in; an exit checks it out."""
    if AccessEvent.objects.filter(event_id=passage.event_id).exists():
        return _first_answer(passage.event_id)
    if passage.direction not in Direction.values:
        raise DomainError("direction_invalid", _("Unknown direction."), field="direction")
    if passage.reason not in Reason.values:
        raise DomainError("reason_invalid", _("Unknown reason code."), field="reason")
    reason = Reason(passage.reason)
    if passage.granted != (reason in PASSAGE_REASONS):
        raise DomainError(
            "reason_invalid", _("The reason does not match whether the passage was granted.")
        )
    try:
        with transaction.atomic():
            # A pass that no longer exists still had someone walk through: the passage is
            # counted without it, rather than blocking the agent's journal for ever.
            pass_ids = (
                Pass.objects.filter(pk=passage.pass_id).values_list("pk", "visit_id").first()
                if passage.pass_id is not None
                else None
            )
            if pass_ids is not None and passage.granted:
                pass_id, visit_id = pass_ids
                if passage.direction == Direction.IN:
                    # Already let through by the agent: count it, whatever the limit says now.
                    Pass.objects.filter(pk=pass_id).update(uses=F("uses") + 1, is_inside=True)
                    Visit.objects.filter(
                        pk=visit_id, status__in=[VisitStatus.APPROVED, VisitStatus.CHECKED_OUT]
                    ).update(
                        status=VisitStatus.CHECKED_IN,
                        checked_in_at=Coalesce("checked_in_at", passage.occurred_at),
                    )
                else:
                    _let_out(pass_id, visit_id, passage.occurred_at)
            event = _new_event(
                passage.event_id,
                passage.gate,
                agent,
                pass_ids,
                passage.direction,
                passage.occurred_at,
                reason,
                passage.mode,
            )
            return _record(event)
    except _Replayed:
        return _first_answer(passage.event_id)


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


# --- Controllers, alerts and gate commands --------------------------------------------------

# Commands older than this are not run any more: a gate that opens minutes after someone
# pressed "test" would surprise whoever stands in it.
COMMAND_LIFETIME = timedelta(seconds=60)
MIN_POLL_INTERVAL_MS = 50
MAX_POLL_INTERVAL_MS = 60_000


@dataclass(frozen=True)
class ControllerFields:
    """What a property admin sets on a controller; checked by ``_checked_controller``."""

    name: str
    host: str
    port: int = 502
    device_id: int = 1
    poll_interval_ms: int = 200
    register_map: Any = None
    agent: GateAgent | None = None
    is_active: bool = True


def _invalid(field: str, code: str, message: str) -> DomainError:
    return DomainError(code, message, field=field)


def _checked_controller(fields: ControllerFields, controller: Controller | None) -> None:
    name, host = fields.name.strip(), fields.host.strip()
    if not name or len(name) > 100:
        raise _invalid("name", "name_required", _("The controller needs a name."))
    if not host or len(host) > 255 or any(character.isspace() for character in host):
        raise _invalid("host", "host_invalid", _("Enter the controller's IP address or host name."))
    if not 1 <= fields.port <= 65535:
        raise _invalid("port", "port_invalid", _("The port must be between 1 and 65535."))
    if not 0 <= fields.device_id <= 255:
        raise _invalid("device_id", "device_id_invalid", _("The device id must be 0 to 255."))
    if not MIN_POLL_INTERVAL_MS <= fields.poll_interval_ms <= MAX_POLL_INTERVAL_MS:
        raise _invalid(
            "poll_interval_ms",
            "poll_interval_invalid",
            _("The poll interval must be between %(low)d and %(high)d ms.")
            % {"low": MIN_POLL_INTERVAL_MS, "high": MAX_POLL_INTERVAL_MS},
        )
    try:
        register_map = parse_register_map(fields.register_map)
    except RegisterMapError as error:
        raise DomainError(
            "register_map_invalid",
            _("The register map is not valid: %(problems)s") % {"problems": error},
            field="register_map",
            problems=[{"field": field, "message": message} for field, message in error.problems],
        ) from error
    if fields.is_active:
        same_address = Controller.objects.filter(
            host__iexact=host, port=fields.port, device_id=fields.device_id, is_active=True
        )
        if controller is not None:
            same_address = same_address.exclude(pk=controller.pk)
        other = same_address.first()
        if other is not None:
            raise _address_taken(other)
    if controller is not None:
        lanes = set(register_map.lanes)
        for gate in controller.gates.all():
            if gate.lane not in lanes:
                raise _invalid(
                    "register_map",
                    "lane_in_use",
                    _("Gate %(gate)s is wired to lane %(lane)s, which the new map lacks.")
                    % {"gate": gate.name, "lane": gate.lane},
                )


def _address_taken(other: Controller) -> DomainError:
    return _invalid(
        "host",
        "controller_address_taken",
        _(
            "Controller %(name)s is already in service at this address (host, port and device "
            "id); one device polled twice would count every passage twice."
        )
        % {"name": other.name},
    )


@transaction.atomic
def save_controller(
    actor: Actor, fields: ControllerFields, controller: Controller | None = None
) -> Controller:
    """Create a controller, or change one; the register map is checked by the same code the
    gate agent uses, and every error names the field."""
    _checked_controller(fields, controller)
    created = controller is None
    controller = controller or Controller()
    controller.name = fields.name.strip()
    controller.host = fields.host.strip()
    controller.port = fields.port
    controller.device_id = fields.device_id
    controller.poll_interval_ms = fields.poll_interval_ms
    controller.register_map = fields.register_map
    controller.agent = fields.agent
    controller.is_active = fields.is_active
    try:
        with transaction.atomic():
            controller.save()
    except IntegrityError as error:
        # Another admin saved a controller at this address at the same moment.
        other = Controller.objects.filter(
            host__iexact=controller.host,
            port=controller.port,
            device_id=controller.device_id,
            is_active=True,
        ).first()
        if other is None:
            raise
        raise _address_taken(other) from error
    record(
        actor,
        "controller.created" if created else "controller.changed",
        controller,
        host=controller.host,
        port=controller.port,
    )
    return controller


@transaction.atomic
def wire_gate(actor: Actor, gate: Gate, controller: Controller | None, lane: int | None) -> Gate:
    """Connect a gate to a lane of a controller (or disconnect it with ``None``)."""
    if controller is None:
        gate.controller, gate.lane = None, None
    else:
        lanes = parse_register_map(controller.register_map).lanes
        if lane not in lanes:
            raise _invalid(
                "lane",
                "lane_unknown",
                _("The controller's map has lanes %(lanes)s.")
                % {"lanes": ", ".join(map(str, lanes))},
            )
        taken = Gate.objects.filter(controller=controller, lane=lane).exclude(pk=gate.pk)
        if taken.exists():
            raise _invalid("lane", "lane_taken", _("Another gate is already wired to this lane."))
        gate.controller, gate.lane = controller, lane
    gate.save(update_fields=["controller", "lane"])
    record(actor, "gate.wired", gate, controller=controller.pk if controller else None, lane=lane)
    return gate


@transaction.atomic
def claim_controllers(agent: GateAgent) -> list[Controller]:
    """Give the agent the controllers in service that no active agent holds, and return the
    ones it now drives: each controller is polled by one agent, or its passages would be
    counted once per agent. The first agent that syncs claims a free controller; one whose
    agent was deactivated (a replaced key) is free again. Rows are locked, so two agents
    syncing at once cannot both claim one."""
    free = list(
        Controller.objects.select_for_update(of=("self",))
        .filter(is_active=True)
        .filter(Q(agent__isnull=True) | Q(agent__is_active=False))
        .order_by("pk")
    )
    actor = Actor.system(f"gate agent {agent.name}")
    for controller in free:
        previous = controller.agent_id
        controller.agent = agent
        controller.save(update_fields=["agent"])
        record(actor, "controller.claimed", controller, agent=agent.pk, previous_agent=previous)
    return list(Controller.objects.filter(is_active=True, agent=agent).order_by("pk"))


@dataclass(frozen=True)
class ReportedAlert:
    event_id: uuid.UUID
    kind: str
    occurred_at: datetime
    controller: Controller | None = None
    gate: Gate | None = None


def record_alert(alert: ReportedAlert, agent: GateAgent | None = None) -> tuple[Alert, bool]:
    """Store an alert once (idempotent by event id); returns it and whether it was a replay."""
    if alert.kind not in AlertKind.values:
        raise DomainError("kind_invalid", _("Unknown alert kind."), field="kind")
    existing = Alert.objects.filter(event_id=alert.event_id).first()
    if existing is not None:
        return existing, True
    try:
        with transaction.atomic():
            stored = Alert.objects.create(
                event_id=alert.event_id,
                kind=alert.kind,
                controller=alert.controller,
                gate=alert.gate,
                agent=agent,
                occurred_at=alert.occurred_at,
            )
    except IntegrityError:
        existing = Alert.objects.filter(event_id=alert.event_id).first()
        if existing is None:
            raise
        return existing, True
    schema = current_schema()
    payload = {
        "type": "alert",
        "event_id": str(stored.event_id),
        "kind": stored.kind,
        "gate": stored.gate.name if stored.gate else None,
        "occurred_at": stored.occurred_at.isoformat(),
    }
    transaction.on_commit(
        lambda: live.publish(
            occupancy_group(schema), {"type": "occupancy.event", "payload": payload}
        )
    )
    return stored, False


@transaction.atomic
def request_gate_pulse(actor: Actor, gate: Gate, direction: str = Direction.IN) -> GateCommand:
    """Queue a pulse of the gate's coil (the console's "test" button) for its agent."""
    if gate.controller_id is None:
        raise _invalid("gate", "gate_not_wired", _("This gate is not wired to a controller."))
    if direction not in Direction.values:
        raise _invalid("direction", "direction_invalid", _("Unknown direction."))
    command = GateCommand.objects.create(gate=gate, direction=direction, requested_by=actor.user)
    record(actor, "gate.pulse_requested", gate, direction=direction, command=command.pk)
    return command


@transaction.atomic
def claim_gate_commands(agent: GateAgent, now: datetime | None = None) -> list[GateCommand]:
    """Hand the agent the commands for the gates of the controllers it holds (see
    ``claim_controllers``); stale ones fail instead."""
    now = now or timezone.now()
    GateCommand.objects.filter(
        status=CommandStatus.PENDING, created_at__lt=now - COMMAND_LIFETIME
    ).update(
        status=CommandStatus.FAILED,
        finished_at=now,
        result="no gate agent claimed it in time",
    )
    commands = list(
        GateCommand.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=CommandStatus.PENDING, gate__controller__isnull=False)
        .filter(gate__controller__agent=agent)
        .order_by("created_at", "id")[:20]
    )
    GateCommand.objects.filter(pk__in=[command.pk for command in commands]).update(
        status=CommandStatus.CLAIMED, claimed_at=now, agent=agent
    )
    return commands


@transaction.atomic
def finish_gate_command(
    agent: GateAgent, command_id: int, *, ok: bool, message: str = ""
) -> GateCommand:
    """The agent's report on a command it claimed; reporting twice keeps the first report."""
    command = GateCommand.objects.select_for_update().filter(pk=command_id, agent=agent).first()
    if command is None:
        raise NotFoundError("unknown_command", _("No command of this agent has this id."))
    if command.status == CommandStatus.CLAIMED:
        command.status = CommandStatus.DONE if ok else CommandStatus.FAILED
        command.result = message[:200]
        command.finished_at = timezone.now()
        command.save(update_fields=["status", "result", "finished_at"])
    return command
