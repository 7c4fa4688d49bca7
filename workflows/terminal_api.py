"""HTTP API for the desk's visitor terminals (访客机): they report the face comparisons they
make, for the desk check to use (see ADR 0028)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy
from ninja import Field, Schema
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import AwareDatetime

from kernel.control_characters import PlainText
from kernel.json_api import json_api
from workflows.actions.terminals import record_face_match
from workflows.models import DeskTerminal
from workflows.queries import authenticate_terminal

# A report is a handful of short values; anything bigger is not a terminal.
MAX_BODY_BYTES = 4 * 1024
MAX_VALUES = 16


class FaceMatchIn(Schema):
    visit_id: Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)] = Field(
        description="The visit at the desk check (shown on reception's screen)."
    )
    score: Annotated[int, Field(strict=True, ge=0, le=100)] = Field(
        description="How alike the live face and the document's photo are, 0-100."
    )
    vendor: PlainText = Field(max_length=60, description="The terminal's maker.")
    model: PlainText = Field(max_length=60, description="The terminal's model.")
    taken_at: AwareDatetime = Field(
        description="When the comparison was made, ISO 8601 with a time zone; refused if "
        "more than five minutes away from the server's clock."
    )
    nonce: str = Field(
        min_length=16,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Random, new for every report: a report sent twice is refused.",
    )


class FaceMatchOut(Schema):
    visit_id: int
    score: int


class ErrorOut(Schema):
    code: str
    message: str
    details: Any = None


class TerminalKey(HttpBearer):
    """``Authorization: Bearer <prefix>.<secret>``: an active terminal of this building."""

    def authenticate(self, request: HttpRequest, token: str) -> DeskTerminal | None:
        return authenticate_terminal(token)


api = json_api(
    title="Desk terminal API",
    description=(
        "For the visitor terminals at one building's reception desks, on that building's "
        "domain. Every call needs the terminal key: `Authorization: Bearer <prefix>.<secret>`. "
        "Errors are JSON `{code, message}`."
    ),
    namespace="desk_api",
    max_body_bytes=MAX_BODY_BYTES,
    max_values=MAX_VALUES,
    auth=TerminalKey(),
    bearer_realm="desk",
    unauthorized_message=gettext_lazy(
        "A valid desk terminal key of this building is required (Authorization: Bearer)."
    ),
)


@api.post(
    "/face-matches",
    response={
        201: FaceMatchOut,
        400: ErrorOut,
        401: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    summary="Report a face comparison",
)
def face_match(request: HttpRequest, payload: FaceMatchIn) -> Status[dict[str, Any]]:
    """Record the terminal's comparison of the visitor's face with their document, for a
    walk-in waiting at the desk check. A visit not at the desk (409 `not_at_desk`), a visitor
    who has not given their separate consent to face data at the desk (409
    `face_consent_missing`, ADR 0036), a report sent before (409 `replayed`) or made out of
    the five-minute window (400 `stale_report`) is refused; a refused report stores nothing."""
    terminal: DeskTerminal = request.auth  # type: ignore[attr-defined]
    report = record_face_match(terminal, **payload.model_dump())
    return Status(201, {"visit_id": payload.visit_id, "score": report.score})
