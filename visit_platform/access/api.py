"""HTTP API for gate agents and readers: scans, reported passages, keys and revocations."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
)
from django.utils import timezone
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Schema
from ninja.security import HttpBearer
from pydantic import AwareDatetime, StrictBool, StrictFloat, StrictInt, field_validator

from kernel import pass_tokens as tokens
from kernel.control_characters import PlainText
from kernel.errors import NotFoundError
from kernel.json_api import json_api
from tenants.db import current_schema
from visit_platform.access.actions import (
    AlertReport,
    ControllerLinkReport,
    HeartbeatReport,
    PassageReport,
    claim_controllers,
    claim_gate_commands,
    decide_scan,
    finish_gate_command,
    payload_of,
    record_alerts,
    record_heartbeat,
    record_passages,
    touch_agent,
)
from visit_platform.access.choices import AgentAlertKind, Direction, Mode, Reason
from visit_platform.access.models import GateAgent
from visit_platform.access.queries import (
    agent_controllers,
    authenticate_agent,
    gate_for_scans,
    people_inside_for_agents,
    public_keys,
    revocation_list,
    watchlisted_passes,
    zoned_passes,
)

logger = logging.getLogger(__name__)

# A full batch of 500 passages is 115-145 KB of JSON; anything much bigger is not an agent.
MAX_BODY_BYTES = 256 * 1024
# Generous at the schema level; the token parser itself refuses anything over 256 characters.
MAX_TOKEN_CHARACTERS = 4096
MAX_PASSAGES = 500
# A full batch: 500 passages of 9 values each, and the wrapping.
MAX_VALUES = 10 * MAX_PASSAGES
# A reported time outside these bounds comes from a clock that is not set (embedded boards boot
# in 1970) or is far off; it would also confuse "who is inside", which goes by the latest event.
EARLIEST_PASSAGE = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_TOLERANCE = timedelta(days=1)
# Ids are bigint columns; a larger number could never name a row.
DatabaseId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]


# --- Schemas --------------------------------------------------------------------------------


class ScanIn(Schema):
    gate_id: DatabaseId
    token: str = Field(max_length=MAX_TOKEN_CHARACTERS, description="The QR code's text.")
    direction: Direction | None = Field(
        None, description="Needed only at a gate that opens both ways; entry by default."
    )
    event_id: uuid.UUID | None = Field(
        None, description="Chosen by the agent so that a retried scan is answered, not redone."
    )


class PassageIn(Schema):
    event_id: uuid.UUID
    gate_id: DatabaseId
    direction: Direction
    occurred_at: AwareDatetime = Field(description="ISO 8601 with a time zone.")
    pass_id: DatabaseId | None = Field(
        None, description="The pass, for a scan the agent decided offline."
    )
    granted: StrictBool = True
    reason: Reason = Reason.PASSAGE
    mode: Mode = Mode.OFFLINE

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        if value < EARLIEST_PASSAGE:
            raise ValueError("the time is before 2000; the agent's clock is not set")
        if value > timezone.now() + CLOCK_TOLERANCE:
            raise ValueError("the time is more than a day ahead; check the agent's clock")
        return value


class PassagesIn(Schema):
    passages: list[PassageIn] = Field(max_length=MAX_PASSAGES)


class DecisionOut(Schema):
    event_id: uuid.UUID
    granted: bool
    reason: Reason
    message: str
    direction: Direction
    pass_id: int | None
    replayed: bool = Field(description="True when the event id had been seen: the first answer.")
    uses_left: int | None = Field(
        None,
        description=(
            "Entries the pass has left after a fresh granted entry (null: unlimited), 0 when "
            "refused as uses_exhausted, otherwise null. Agents keep it for offline decisions."
        ),
    )


class PassagesOut(Schema):
    results: list[DecisionOut]


class PublicKeyOut(Schema):
    key_id: int
    public_key: str = Field(description="Raw Ed25519 key, URL-safe base64 without padding.")
    retired: bool


class KeysOut(Schema):
    building: str
    building_tag: str = Field(description="Hex of the 4-byte tag that tokens carry.")
    keys: list[PublicKeyOut]


class RevocationsOut(Schema):
    version: str
    pass_ids: list[int]


class PassZonesOut(Schema):
    pass_id: int
    zones: list[str]


class ZonesOut(Schema):
    version: str
    passes: list[PassZonesOut]


class ErrorOut(Schema):
    code: str
    message: str
    details: Any = None


# Documented error answers: every call can be refused for its key or its size, and calls with
# a body for the body.
ANY_CALL_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 413: ErrorOut}
BODY_ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 422: ErrorOut, **ANY_CALL_ERRORS}


# --- The API --------------------------------------------------------------------------------


class AgentKey(HttpBearer):
    """``Authorization: Bearer <prefix>.<secret>``: an active agent of this building."""

    def authenticate(self, request: HttpRequest, token: str) -> GateAgent | None:
        agent = authenticate_agent(token)
        if agent is not None:
            touch_agent(agent)
        return agent


api = json_api(
    title="Gate API",
    description=(
        "For gate agents and QR readers of one building, on that building's domain. "
        "Every call needs the agent key: `Authorization: Bearer <prefix>.<secret>`. "
        "Errors are JSON `{code, message}`; a refused pass is not an error but a decision."
    ),
    namespace="access_api",
    max_body_bytes=MAX_BODY_BYTES,
    max_values=MAX_VALUES,
    auth=AgentKey(),
    bearer_realm="gate",
    unauthorized_message=gettext_lazy(
        "A valid gate agent key of this building is required (Authorization: Bearer)."
    ),
)


def _agent(request: HttpRequest) -> GateAgent:
    agent: GateAgent = request.auth  # type: ignore[attr-defined]
    return agent


# --- Endpoints ------------------------------------------------------------------------------


@api.post(
    "/scans", response={200: DecisionOut, 404: ErrorOut, **BODY_ERRORS}, summary="Decide a scan"
)
def scan(request: HttpRequest, payload: ScanIn) -> dict[str, Any]:
    """Decide whether the pass in a scanned code may pass this gate now, and record it.

    A refusal is a normal answer (200, `granted` false, with the reason code); only a
    request that cannot be decided at all is an error. Resending an `event_id` returns the
    first answer with `replayed` true.
    """
    gate = gate_for_scans(payload.gate_id)
    if gate is None:
        raise NotFoundError("unknown_gate", _("No gate has this id."), field="gate_id")
    decision = decide_scan(
        gate=gate,
        token=payload.token,
        direction=payload.direction,
        event_id=payload.event_id,
        agent=_agent(request),
    )
    return payload_of(decision)


@api.post("/passages", response={200: PassagesOut, **BODY_ERRORS}, summary="Report passages")
def passages(request: HttpRequest, payload: PassagesIn) -> dict[str, Any]:
    """Record passages the agent saw or decided offline, at most 500, answered in order.

    The batch is one transaction: if any item is invalid nothing is recorded and the error
    names every invalid item by its index. Items whose `event_id` was already recorded are
    answered with the first answer (`replayed` true), so a journal can be sent again.
    """
    reports = [PassageReport(**item.model_dump()) for item in payload.passages]
    decisions = record_passages(reports, _agent(request))
    return {"results": [payload_of(decision) for decision in decisions]}


@api.get("/keys", response={200: KeysOut, **ANY_CALL_ERRORS}, summary="Public keys")
def keys(request: HttpRequest) -> dict[str, Any]:
    """The building's public keys (current and retired), to check token signatures offline."""
    schema = current_schema()
    return {
        "building": schema,
        "building_tag": tokens.building_tag(schema).hex(),
        "keys": public_keys(),
    }


@api.get(
    "/revocations",
    response={200: RevocationsOut, 304: None, **ANY_CALL_ERRORS},
    summary="Revoked passes",
)
def revocations(request: HttpRequest, response: HttpResponse) -> Any:
    """Revoked passes whose window is still open. Send the last `ETag` in `If-None-Match`;
    an unchanged list is answered 304 with no body."""
    listing = revocation_list()
    return _versioned(request, response, {"version": listing.version, "pass_ids": listing.pass_ids})


class PersonInsideOut(Schema):
    pass_id: int
    name: str
    host: str
    company: str
    companions: int
    zone: str
    since: datetime


class PeopleInsideOut(Schema):
    version: str
    people: list[PersonInsideOut]


@api.get(
    "/roll-call",
    response={200: PeopleInsideOut, 304: None, **ANY_CALL_ERRORS},
    summary="People inside, for the offline roll call",
)
def roll_call(request: HttpRequest, response: HttpResponse) -> Any:
    """Who is inside now, for the agent's read-only roll call page when the platform cannot
    be reached: pass number, full name, host, company, companions, zone of the entry gate and
    since when. Nothing else about a person leaves the platform (ADR 0020). ETag as for
    revocations."""
    listing = people_inside_for_agents()
    return _versioned(
        request,
        response,
        {"version": listing.version, "people": listing.people},
        cache_control="no-store",
    )


def _versioned(
    request: HttpRequest,
    response: HttpResponse,
    listing: dict[str, Any],
    cache_control: str = "no-cache",
) -> Any:
    """A list agents keep a copy of, with its ``version`` as the ETag: 304 with no body when
    their copy is current (``If-None-Match``), else the list and its ETag."""
    etag = f'"{listing["version"]}"'
    if _etag_matches(request.headers.get("If-None-Match", ""), etag):
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        return not_modified
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return listing


def _etag_matches(header: str, etag: str) -> bool:
    # If-None-Match compares weakly (RFC 9110, 13.1.2).
    candidates = parse_etags(header)
    return "*" in candidates or any(tag.removeprefix("W/") == etag for tag in candidates)


# --- Controllers, alerts and commands (the gate agent at the building) -----------------------

# The agent decides offline with a small allowance per pass, as it cannot know the platform's
# remaining count (docs/dev/gate-agent.md).
OFFLINE_ENTRIES_PER_PASS = 1
MAX_ALERTS = 500


class AgentConfigOut(Schema):
    building: str
    building_tag: str
    offline_entries_per_pass: int
    messages: dict[str, str] = Field(description="Reason codes in the building's words.")
    controllers: list[dict[str, Any]]


@api.get("/config", response={200: AgentConfigOut, **ANY_CALL_ERRORS}, summary="Agent config")
def agent_config(request: HttpRequest) -> dict[str, Any]:
    """The controllers this agent drives (register maps and the gates on their lanes), and
    what it needs to decide offline and to speak to readers in the building's language.

    Each controller is driven by one agent: this call claims for the agent the controllers in
    service that no active agent holds, and lists only the agent's own."""
    agent = _agent(request)
    claim_controllers(agent)
    schema = current_schema()
    messages = {reason.value: str(reason.label) for reason in Reason}
    messages["gate_unreachable"] = _("Granted, but the gate did not open; please see security")
    return {
        "building": schema,
        "building_tag": tokens.building_tag(schema).hex(),
        "offline_entries_per_pass": OFFLINE_ENTRIES_PER_PASS,
        "messages": messages,
        "controllers": agent_controllers(agent),
    }


@api.get(
    "/watchlist",
    response={200: RevocationsOut, 304: None, **ANY_CALL_ERRORS},
    summary="Passes of watchlisted visitors",
)
def watchlist(request: HttpRequest, response: HttpResponse) -> Any:
    """Open passes whose visitor is on the enforced watchlist, for offline decisions. Only
    pass ids leave the platform, never who the person is. ETag as for revocations."""
    listing = watchlisted_passes()
    return _versioned(request, response, {"version": listing.version, "pass_ids": listing.pass_ids})


@api.get(
    "/zones",
    response={200: ZonesOut, 304: None, **ANY_CALL_ERRORS},
    summary="Zones of open passes",
)
def zones(request: HttpRequest, response: HttpResponse) -> Any:
    """Open passes limited to some zones, with their zones, so that an offline gate refuses
    a pass in the wrong zone as the platform would (a pass not listed opens every zone).
    ETag as for revocations."""
    listing = zoned_passes()
    passes = [{"pass_id": pass_id, "zones": names} for pass_id, names in listing.passes]
    return _versioned(request, response, {"version": listing.version, "passes": passes})


class AlertIn(Schema):
    event_id: uuid.UUID
    kind: AgentAlertKind
    controller_id: DatabaseId | None = None
    gate_id: DatabaseId | None = None
    occurred_at: AwareDatetime

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        return PassageIn._plausible_time(value)


class AlertsIn(Schema):
    alerts: list[AlertIn] = Field(max_length=MAX_ALERTS)


class AlertOut(Schema):
    event_id: uuid.UUID
    kind: AgentAlertKind
    replayed: bool


class AlertsOut(Schema):
    results: list[AlertOut]


@api.post("/alerts", response={200: AlertsOut, **BODY_ERRORS}, summary="Report alerts")
def alerts(request: HttpRequest, payload: AlertsIn) -> dict[str, Any]:
    """Door-forced and alarm signals, at most 500, all or nothing like passages; an
    `event_id` already recorded is answered with `replayed` true."""
    reports = [AlertReport(**item.model_dump()) for item in payload.alerts]
    results = record_alerts(reports, _agent(request))
    return {
        "results": [
            {"event_id": stored.event_id, "kind": stored.kind, "replayed": replayed}
            for stored, replayed in results
        ]
    }


class CommandOut(Schema):
    id: int
    kind: str = "pulse"
    gate_id: int
    direction: Direction


class CommandsOut(Schema):
    commands: list[CommandOut]


class CommandDoneIn(Schema):
    ok: StrictBool
    message: PlainText = Field("", max_length=200)


@api.post(
    "/commands/claim", response={200: CommandsOut, **ANY_CALL_ERRORS}, summary="Claim commands"
)
def claim_commands(request: HttpRequest) -> dict[str, Any]:
    """Pending commands for the gates this agent drives (the console's "test" pulse), each
    handed to one agent once. Commands nobody claimed within a minute fail instead."""
    commands = claim_gate_commands(_agent(request))
    return {
        "commands": [
            {"id": command.pk, "gate_id": command.gate_id, "direction": command.direction}
            for command in commands
        ]
    }


@api.post(
    "/commands/{command_id}/done",
    response={200: dict[str, Any], 404: ErrorOut, **BODY_ERRORS},
    summary="Report a command's result",
)
def command_done(
    request: HttpRequest,
    command_id: Annotated[int, Field(ge=1, le=2**63 - 1)],
    payload: CommandDoneIn,
) -> dict[str, Any]:
    command = finish_gate_command(
        _agent(request), command_id, ok=payload.ok, message=payload.message
    )
    return {"id": command.pk, "status": command.status}


# --- Heartbeats (gate health, ADR 0019) -----------------------------------------------------

# An agent drives a handful of controllers; a report of hundreds is not an agent's.
MAX_HEARTBEAT_CONTROLLERS = 200
# Durations beyond a year are a broken clock, not an agent's uptime.
MAX_REPORTED_SECONDS = 366 * 24 * 3600


class ControllerLinkIn(Schema):
    id: DatabaseId
    connected: StrictBool
    since_seconds: StrictFloat = Field(
        0,
        ge=0,
        le=MAX_REPORTED_SECONDS,
        description="For how long the link has been in this state, by the agent's clock.",
    )
    last_error: PlainText = Field("", max_length=500)


class HeartbeatIn(Schema):
    version: PlainText = Field("", max_length=40)
    uptime_seconds: StrictFloat = Field(0, ge=0, le=MAX_REPORTED_SECONDS)
    journal_depth: StrictInt = Field(0, ge=0, le=2**31 - 1)
    controllers: list[ControllerLinkIn] = Field(max_length=MAX_HEARTBEAT_CONTROLLERS)

    @field_validator("controllers")
    @classmethod
    def _each_once(cls, value: list[ControllerLinkIn]) -> list[ControllerLinkIn]:
        if len({item.id for item in value}) != len(value):
            raise ValueError("each controller may be reported once")
        return value


class HeartbeatOut(Schema):
    recorded_at: datetime
    controllers: int = Field(description="How many controllers' links were recorded.")


@api.post(
    "/heartbeat", response={200: HeartbeatOut, **BODY_ERRORS}, summary="Report the agent's health"
)
def heartbeat(request: HttpRequest, payload: HeartbeatIn) -> dict[str, Any]:
    """Sent every few seconds, and at once when a controller's link changes: the links of the
    controllers this agent drives (each at most once; a controller it does not drive refuses
    the whole report with `unknown_controller`), its journal depth, version and uptime.
    Sending the same report again changes nothing."""
    report = HeartbeatReport(
        version=payload.version,
        uptime_seconds=payload.uptime_seconds,
        journal_depth=payload.journal_depth,
        controllers=[ControllerLinkReport(**item.model_dump()) for item in payload.controllers],
    )
    stored = record_heartbeat(_agent(request), report)
    return {"recorded_at": stored.last_seen_at, "controllers": len(report.controllers)}
