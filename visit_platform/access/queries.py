"""Reads for gates and screens: keys, agents and revocations for agents, the gate a scan
names, who is inside now, and the security screen's snapshot."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from kernel import pass_tokens as tokens
from kernel.privacy import decrypt, secret_hash
from kernel.process_cache import BUILDINGS, ProcessCache
from tenants.db import current_schema, tenant_connection
from tenants.models import Building
from visit_platform.access.choices import Direction, PassState, Reason
from visit_platform.access.models import (
    AccessEvent,
    Alert,
    Controller,
    Gate,
    GateAgent,
    Pass,
    SigningKey,
)
from visit_platform.visits.choices import ADMITTING_STATUSES, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import watchlisted_visitors

# Anonymous entries and exits (a turnstile's count without a scan) are compared over this
# window: a visit lasts a day at most, so older ones say nothing about who is inside now.
ANONYMOUS_WINDOW = timedelta(hours=24)
# A gate taken out of service through another process refuses scans within this time.
GATE_CACHE_SECONDS = 5
# By (schema, gate id): room for ten lanes a building on average; the gates of the buildings
# being scanned at stay, those of quiet buildings make room.
_gates: ProcessCache[Gate] = ProcessCache(
    GATE_CACHE_SECONDS,
    (Gate,),
    max_entries=10 * BUILDINGS,
    key_of=lambda gate: (current_schema(), gate.pk),  # the row's building is the one set
)
AGENT_KEY_PREFIX_LENGTH = 8
# A deactivated agent's key stops working in other processes within this time.
AGENT_CACHE_SECONDS = 5
# By (schema, key prefix): a building runs one agent, or a few (one per entrance). Every
# heartbeat saves its agent: only that agent's entry goes (a prefix never changes).
_agents: ProcessCache[GateAgent] = ProcessCache(
    AGENT_CACHE_SECONDS,
    (GateAgent,),
    max_entries=4 * BUILDINGS,
    key_of=lambda agent: (current_schema(), agent.key_prefix),
)
# Keys never change once created, so processes may keep them as long as they are used: (schema,
# building id, key id) -> key. The building's id tells a building dropped and made again under
# the same name (its key ids start at 1 again, with other keys) from the one the process knew.
# Room for the current key of every building and a few retired ones still verifying slips.
_public_keys: ProcessCache[Ed25519PublicKey] = ProcessCache(math.inf, (), max_entries=4 * BUILDINGS)

# A visit that was called off takes its passes with it, whatever the pass row says.
_CANCELLED_VISIT = frozenset({VisitStatus.REJECTED, VisitStatus.CANCELLED})


def gate_for_scans(gate_id: int) -> Gate | None:
    """The gate a scan names, kept for a few seconds: every scan reads it."""
    return _gates.get((current_schema(), gate_id), lambda: Gate.objects.filter(pk=gate_id).first())


def public_key(key_id: int) -> Ed25519PublicKey | None:
    """The public key ``key_id`` of this building, or None; kept by the process."""
    cache_key = (current_schema(), getattr(tenant_connection().tenant, "pk", None), key_id)

    def load() -> Ed25519PublicKey | None:
        text = SigningKey.objects.filter(key_id=key_id).values_list("public_key", flat=True).first()
        return None if text is None else tokens.public_key_from_text(text)

    return _public_keys.get(cache_key, load)


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


def public_keys() -> list[dict[str, object]]:
    """Every key that may still verify a token, for gate agents to check signatures offline."""
    return [
        {"key_id": key.key_id, "public_key": key.public_key, "retired": key.retired_at is not None}
        for key in SigningKey.objects.order_by("key_id")
    ]


@dataclass(frozen=True)
class RevocationList:
    """Passes that are revoked but whose window has not ended (older ones fail on time
    anyway). ``version`` changes whenever the list does, so agents sync with an ETag."""

    pass_ids: list[int]
    version: str


def revocation_list(now: datetime | None = None) -> RevocationList:
    now = now or timezone.now()
    return _pass_list(
        Pass.objects.filter(revoked_at__isnull=False, valid_until__gt=now).values_list(
            "pk", flat=True
        )
    )


@dataclass(frozen=True)
class Presence:
    """One person inside: since when, and through which gate they came in."""

    event: AccessEvent

    @property
    def since(self) -> datetime:
        return self.event.occurred_at

    @property
    def party(self) -> int:
        """The people this entry let in: the visitor and their companions, who enter on the
        visitor's pass (ADR 0021)."""
        visit = self.event.visit
        return 1 + (visit.companions if visit is not None else 0)


@dataclass(frozen=True)
class Occupancy:
    people: list[Presence]
    anonymous_entries: int
    anonymous_exits: int

    @property
    def known(self) -> int:
        """Passes inside: one per visitor who scanned in."""
        return len(self.people)

    @property
    def headcount(self) -> int:
        """People inside on a pass, companions included (what an evacuation must find)."""
        return sum(presence.party for presence in self.people)

    @property
    def unmatched_exits(self) -> int:
        """Exits counted by a turnstile that could not be tied to a visitor: the difference
        between the known count and the true one, kept visible rather than guessed away."""
        return max(self.anonymous_exits - self.anonymous_entries, 0)


def people_inside(since: datetime | None = None, now: datetime | None = None) -> Occupancy:
    """Who is in the building now, derived from access events: for each pass, its latest
    granted passage; the pass holder is inside when that passage was an entry, unless the
    visit was checked out after it (at the end of the day: "not seen leaving").

    Anonymous passages are counted over the last ``ANONYMOUS_WINDOW`` only: counted all-time,
    a building with a free exit (people leave without scanning, every day) would warn of
    more unmatched exits every day, forever."""
    now = now or timezone.now()
    granted = AccessEvent.objects.filter(granted=True)
    if since is not None:
        granted = granted.filter(occurred_at__gte=since)
    latest = (
        granted.filter(pass_record__isnull=False)
        .order_by("pass_record_id", "-occurred_at", "-id")
        .distinct("pass_record_id")
        .values("pk")
    )
    entries = (
        AccessEvent.objects.filter(pk__in=Subquery(latest), direction=Direction.IN)
        .exclude(visit__status=VisitStatus.CHECKED_OUT, visit__checked_out_at__gt=F("occurred_at"))
        .select_related("gate", "visit__visitor", "visit__host__company", "visit__company")
        .order_by("occurred_at")
    )
    # A passage on the console's test pulse is someone testing the gate, not a visitor.
    unscanned = granted.filter(pass_record__isnull=True).exclude(reason=Reason.TEST_PASSAGE)
    anonymous = unscanned.filter(
        occurred_at__gt=now - ANONYMOUS_WINDOW, occurred_at__lte=now
    ).aggregate(
        entries=Count("pk", filter=Q(direction=Direction.IN)),
        exits=Count("pk", filter=Q(direction=Direction.OUT)),
    )
    return Occupancy(
        [Presence(event) for event in entries], anonymous["entries"], anonymous["exits"]
    )


def watchlisted_passes(now: datetime | None = None) -> RevocationList:
    """Open passes of visitors on the enforced watchlist: the digest agents decide offline
    with. Adding an entry already revokes the person's passes; this list lets an offline
    gate give the same reason the platform would (``watchlisted``, checked before revoked)
    and covers entries approved after the pass was issued."""
    now = now or timezone.now()
    visitors = watchlisted_visitors().values("pk")
    return _pass_list(
        Pass.objects.filter(visit__visitor__in=visitors, valid_until__gt=now).values_list(
            "pk", flat=True
        )
    )


@dataclass(frozen=True)
class PassZones:
    """Open passes limited to some zones, with their zones: what an agent needs to apply the
    zone rule offline (``kernel.zones``). A pass not listed opens every zone."""

    passes: list[tuple[int, list[str]]]
    version: str


def zoned_passes(now: datetime | None = None) -> PassZones:
    now = now or timezone.now()
    rows = (
        Pass.objects.filter(revoked_at__isnull=True, valid_until__gt=now)
        .exclude(zones=[])
        .order_by("pk")
        .values_list("pk", "zones")
    )
    passes = [(pass_id, list(zones)) for pass_id, zones in rows]
    digest = hashlib.sha256(json.dumps(passes, ensure_ascii=False).encode()).hexdigest()[:32]
    return PassZones(passes, digest)


def _pass_list(pass_ids: Iterable[int]) -> RevocationList:
    """Pass ids in order, with a version that changes whenever they do (an agent's ETag)."""
    ordered = sorted(pass_ids)
    digest = hashlib.sha256(",".join(map(str, ordered)).encode()).hexdigest()[:32]
    return RevocationList(ordered, digest)


def agent_controllers(agent: GateAgent) -> list[dict[str, object]]:
    """The controllers this agent holds (``actions.claim_controllers`` gives it the free
    ones first), with their maps and the gates on their lanes."""
    controllers = (
        Controller.objects.filter(is_active=True, agent=agent)
        .prefetch_related("gates")
        .order_by("pk")
    )
    return [
        {
            "id": controller.pk,
            "name": controller.name,
            "host": controller.host,
            "port": controller.port,
            "device_id": controller.device_id,
            "poll_interval_ms": controller.poll_interval_ms,
            "register_map": controller.register_map,
            "gates": [
                {
                    "id": gate.pk,
                    "name": gate.name,
                    "lane": gate.lane,
                    "direction": gate.direction,
                    "zone": gate.zone,
                    "checks_zone": gate.checks_zone,
                    "is_active": gate.is_active,
                }
                for gate in sorted(controller.gates.all(), key=lambda gate: gate.pk)
                if gate.lane is not None
            ],
        }
        for controller in controllers
    ]


# States in which a holder inside is still offered a code, to leave with.
_LEAVABLE_STATES = frozenset({PassState.USED_UP, PassState.EXPIRED, PassState.NOT_YET_VALID})


def pass_state(pass_record: Pass, now: datetime | None = None) -> PassState:
    """What the pass is worth now, for the visitor's page, the slip and the visit list.

    A holder inside on a pass that would not let them in again (its entries used up or its
    window closed) is ``EXIT_ONLY``: the gate lets every genuine pass out, so the page keeps
    showing them a code to leave with. A revoked pass stays ``REVOKED`` (the page sends the
    holder to reception, and the console must see the revocation).
    """
    state = _entry_state(pass_record, now or timezone.now())
    if state in _LEAVABLE_STATES and pass_record.is_inside:
        return PassState.EXIT_ONLY
    return state


def _entry_state(pass_record: Pass, now: datetime) -> PassState:
    status = pass_record.visit.status
    if pass_record.revoked_at is not None or status in _CANCELLED_VISIT:
        return PassState.REVOKED
    if now > pass_record.valid_until or status == VisitStatus.EXPIRED:
        return PassState.EXPIRED
    if pass_record.uses_left == 0:
        return PassState.USED_UP
    if now < pass_record.valid_from or status not in ADMITTING_STATUSES:
        return PassState.NOT_YET_VALID
    return PassState.VALID


@dataclass(frozen=True)
class PeopleInsideList:
    """Who is inside, for the gate agents' offline roll call page. ``version`` changes
    whenever the list does (an agent's ETag)."""

    people: list[dict[str, object]]
    version: str


def people_inside_for_agents() -> PeopleInsideList:
    """The people inside with only what a marshal needs at the assembly point: pass number,
    name, host, company, companions, zone, since. No mobile, ID number or photo leaves the
    platform (ADR 0020)."""
    people: list[dict[str, object]] = []
    for presence in people_inside().people:
        event = presence.event
        visit = event.visit
        if visit is None or event.pass_record_id is None:
            continue
        company = visit.company or (visit.host.company if visit.host else None)
        people.append(
            {
                "pass_id": event.pass_record_id,
                "name": visit.visitor_name,
                "host": visit.host.name if visit.host else "",
                "company": company.name if company else "",
                "companions": visit.companions,
                "zone": event.gate.zone,
                "since": event.occurred_at.isoformat(),
            }
        )
    people.sort(key=lambda person: int(str(person["pass_id"])))
    text = json.dumps(people, sort_keys=True, ensure_ascii=False)
    return PeopleInsideList(people, hashlib.sha256(text.encode()).hexdigest()[:32])


# --- Gate health (ADR 0019) -----------------------------------------------------------------


def silence_limit() -> timedelta:
    """How long this building lets an agent or a controller be silent before an alert."""
    seconds = (
        Building.objects.filter(schema_name=current_schema())
        .values_list("gate_silence_seconds", flat=True)
        .first()
    )
    return timedelta(seconds=seconds or 120)


def agent_is_online(agent: GateAgent, now: datetime, silence: timedelta) -> bool | None:
    """Online (heard from within the silence limit), offline, or None: never heard from."""
    if agent.last_seen_at is None:
        return None
    return agent.offline_since is None and now - agent.last_seen_at <= silence


def controller_is_online(controller: Controller, now: datetime, silence: timedelta) -> bool | None:
    """Its link as its agent last reported it, while that agent is online; offline when its
    agent is not (nobody drives its gates then); None when nobody has reported it yet."""
    agent = controller.agent
    if controller.link_up is None or agent is None or not agent.is_active:
        return None
    if not agent_is_online(agent, now, silence):
        return False
    return controller.link_up


# The open alerts a snapshot carries at most, newest first (the alerts page lists them all).
SNAPSHOT_ALERTS = 200


@dataclass(frozen=True)
class PassHolder:
    """What the live screens show of a pass's holder. The gate decision reads it in its own
    statement that reads the pass (``HOLDER_COLUMNS``, ``HOLDER_JOINS``), a reported passage in
    its own read of the pass: telling the screens costs the gate no round trip."""

    visit_id: int
    name: str
    host: str | None
    company: str | None
    companions: int
    valid_until: datetime
    overstay: bool

    @classmethod
    def of(cls, visit: Visit) -> PassHolder:
        return cls(
            visit.pk,
            visit.visitor_name,
            visit.host.name if visit.host else None,
            visit.company.name if visit.company else None,
            visit.companions,
            visit.valid_until,
            visit.overstay_noted_at is not None,
        )

    def on_screen(self, *, pass_id: int | None, since: datetime, gate: Gate) -> dict[str, Any]:
        """The holder as a person inside (PROTOCOL ``Person``), since ``since`` through
        ``gate``. The name is the full one: the screen's consumer masks it for the roles that
        see masks."""
        return {
            "visit_id": self.visit_id,
            "pass_id": pass_id,
            "name": self.name,
            "host": self.host,
            "company": self.company,
            "companions": self.companions,
            "since": since.isoformat(),
            "gate": gate.name,
            "gate_id": gate.pk,
            "zone": gate.zone,
            "valid_until": self.valid_until.isoformat(),
            "overstay": self.overstay,
        }


# PassHolder's fields after its visit id, for a statement that joins ``visits_visit visit`` and
# ``visits_visitor visitor`` (the visit's name when one was given for it: ADR 0012). The name
# comes back as stored, encrypted (ADR 0033): ``holder_from_row`` decrypts it.
HOLDER_COLUMNS = """COALESCE(NULLIF(visit.contact_name, ''), visitor.name), host.name,
    company.name, visit.companions, visit.valid_until, visit.overstay_noted_at IS NOT NULL"""
HOLDER_JOINS = """LEFT JOIN directory_host host ON host.id = visit.host_id
    LEFT JOIN directory_company company ON company.id = visit.company_id"""
# The same fields through the ORM, from a pass.
HOLDER_PASS_FIELDS = (
    "visit__contact_name",
    "visit__visitor__name",
    "visit__host__name",
    "visit__company__name",
    "visit__companions",
    "visit__valid_until",
    "visit__overstay_noted_at",
)


def holder_from_row(visit_id: int, values: Sequence[Any]) -> PassHolder:
    """A PassHolder from the values of ``HOLDER_COLUMNS``, in order (the name decrypted)."""
    stored_name, *rest = values
    return PassHolder(visit_id, decrypt(stored_name) if stored_name else "", *rest)


def holder_from_pass_fields(visit_id: int, values: tuple[Any, ...]) -> PassHolder:
    """A PassHolder from the values of ``HOLDER_PASS_FIELDS``, in order."""
    contact_name, visitor_name, host, company, companions, valid_until, overstay_noted_at = values
    return PassHolder(
        visit_id,
        contact_name or visitor_name,
        host,
        company,
        companions,
        valid_until,
        overstay_noted_at is not None,
    )


def expected_person(visit: Visit) -> dict[str, Any]:
    """A visit due today that has not arrived, as the live screens show it (``Expected``)."""
    return {
        "visit_id": visit.pk,
        "name": visit.visitor_name,
        "host": visit.host.name if visit.host else None,
        "company": visit.company.name if visit.company else None,
        "companions": visit.companions,
        "valid_from": visit.valid_from.isoformat(),
        "valid_until": visit.valid_until.isoformat(),
    }


def building_day(building: Building, now: datetime) -> tuple[datetime, datetime]:
    """The building's day around ``now``, on its clock: its midnight and the next."""
    local = building.local_time(now)
    start = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)
    return start, datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)


def current_building() -> Building:
    return Building.objects.get(schema_name=current_schema())


def is_expected_today(visit: Visit, pass_record: Pass, now: datetime | None = None) -> bool:
    """Whether this pass makes its visit one the screens expect today (``expected_today``):
    the visit has not arrived and the pass admits later today."""
    now = now or timezone.now()
    if visit.status != VisitStatus.APPROVED or pass_record.revoked_at is not None:
        return False
    _start, day_end = building_day(current_building(), now)
    return pass_record.valid_from < day_end and pass_record.valid_until > now


def visit_inside(visit: Visit) -> dict[str, Any] | None:
    """The visit as a person inside (PROTOCOL ``Person``) if its latest granted passage was an
    entry, else None: for the few changes told outside the gate path (an overstay)."""
    latest = (
        AccessEvent.objects.filter(visit=visit, granted=True, pass_record__isnull=False)
        .select_related("gate")
        .order_by("-occurred_at", "-id")
        .first()
    )
    if latest is None or latest.direction != Direction.IN:
        return None
    return PassHolder.of(visit).on_screen(
        pass_id=latest.pass_record_id, since=latest.occurred_at, gate=latest.gate
    )


def expected_today(now: datetime, day_end: datetime) -> Any:
    """Approved visits not yet arrived with a pass that admits them later today."""
    usable_pass = Pass.objects.filter(
        visit=OuterRef("pk"), revoked_at__isnull=True, valid_from__lt=day_end, valid_until__gt=now
    )
    return (
        Visit.objects.filter(Exists(usable_pass), status=VisitStatus.APPROVED)
        .select_related("visitor", "host", "company")
        .order_by("valid_from", "pk")
    )


def screen_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """What the security screen shows of the current building, read in seven queries whatever
    the number of people (ADR 0022): who is inside (with host, company, companions and the
    gate and zone of their latest passage), the visits that arrived and left today (the
    building's day), those still expected today, anonymous passages, open alerts, gates and
    zones. Names are full: the consumer masks them for the roles that see masks. The
    consumer adds ``type``, ``seq`` and ``names``."""
    from visit_platform.access.actions.alerts import alert_payload  # actions import this module

    now = now or timezone.now()
    building = current_building()
    day_start, day_end = building_day(building, now)

    occupancy = people_inside(now=now)
    inside = [
        PassHolder.of(presence.event.visit).on_screen(
            pass_id=presence.event.pass_record_id, since=presence.since, gate=presence.event.gate
        )
        for presence in occupancy.people
        if presence.event.visit is not None
    ]
    inside_ids = {person["visit_id"] for person in inside}
    arrived_today: list[int] = []
    left_today: list[int] = []
    today = Visit.objects.filter(
        Q(checked_in_at__gte=day_start)
        | Q(status=VisitStatus.CHECKED_OUT, checked_out_at__gte=day_start)
    ).order_by("pk")
    for visit_id, checked_in_at, status, checked_out_at in today.values_list(
        "pk", "checked_in_at", "status", "checked_out_at"
    ):
        if checked_in_at is not None and checked_in_at >= day_start:
            arrived_today.append(visit_id)
        left = checked_out_at is not None and checked_out_at >= day_start
        if left and status == VisitStatus.CHECKED_OUT and visit_id not in inside_ids:
            left_today.append(visit_id)
    alerts = (
        Alert.objects.filter(acknowledged_at__isnull=True)
        .select_related("gate", "controller", "agent", "visit__visitor")
        .order_by("-occurred_at", "-id")[:SNAPSHOT_ALERTS]
    )
    gates = list(
        Gate.objects.filter(is_active=True).select_related("controller__agent").order_by("name")
    )
    silence = timedelta(seconds=building.gate_silence_seconds)
    return {
        "building": building.name,
        "now": now.isoformat(),
        "day_start": day_start.isoformat(),
        "grace_minutes": building.overstay_grace_minutes,
        "inside": inside,
        "arrived_today": arrived_today,
        "left_today": left_today,
        "expected": [expected_person(visit) for visit in expected_today(now, day_end)],
        "anonymous": {
            "entries": occupancy.anonymous_entries,
            "exits": occupancy.anonymous_exits,
        },
        "alerts": [alert_payload(alert) for alert in alerts],
        "gates": [_screen_gate(gate, now, silence) for gate in gates],
        "zones": sorted({gate.zone for gate in gates if gate.zone}),
    }


def _screen_gate(gate: Gate, now: datetime, silence: timedelta) -> dict[str, Any]:
    """A gate on the screen. Online is its controller's link as its agent last reported it
    (ADR 0019), or, before any report, its agent heard from within the building's silence
    limit; unknown (None) for a gate no agent drives or has been heard from."""
    controller = gate.controller
    online = None
    if controller is not None:
        online = controller_is_online(controller, now, silence)
        agent = controller.agent
        if online is None and agent is not None and agent.is_active:
            online = agent_is_online(agent, now, silence)
    return {
        "id": gate.pk,
        "name": gate.name,
        "zone": gate.zone,
        "direction": gate.direction,
        "online": online,
        "controller": controller.name if controller is not None else None,
    }
