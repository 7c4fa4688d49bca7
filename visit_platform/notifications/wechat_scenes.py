"""The scene strings of the Official Account's QR codes: which building a code is for, and
what it opens.

WeChat calls one URL per account, whatever building the person stands in, so "the building
travels in the scene string" (ARCHITECTURE.md). One format for every code:

- ``b:<schema>:apply``: the building's "apply to visit" poster;
- ``b:<schema>:host:<token>``: a host's personal invitation code (``directory.invite_tokens``);
- ``b:<schema>:event:<token>``: an event's entrance code (``visits.invite_tokens``).

WeChat allows 64 characters in a permanent code's ``scene_str``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from kernel.references import MAC_LENGTH

SCENE_PREFIX = "b"
MAX_SCENE_LENGTH = 64
APPLY: Final = "apply"
HOST: Final = "host"
EVENT: Final = "event"

SceneKind = Literal["apply", "host", "event"]

_SCHEMA = r"[a-z][a-z0-9_]{1,40}"
_REFERENCE = rf"[0-9]{{1,18}}-[0-9a-f]{{{MAC_LENGTH}}}"  # kernel.references
_PATTERN = re.compile(
    rf"{SCENE_PREFIX}:(?P<schema>{_SCHEMA}):"
    rf"(?:(?P<apply>apply)|(?P<kind>host|event):(?P<token>{_REFERENCE}))"
)


@dataclass(frozen=True)
class Scene:
    """What a scanned code asks for, in which building."""

    schema: str
    kind: SceneKind
    token: str = ""

    def __str__(self) -> str:
        if self.kind == APPLY:
            return f"{SCENE_PREFIX}:{self.schema}:{APPLY}"
        return f"{SCENE_PREFIX}:{self.schema}:{self.kind}:{self.token}"


def parse_scene(text: str) -> Scene | None:
    """The scene of a code we made, or None for anything else (a code of another system,
    a forged or truncated string)."""
    if not text or len(text) > MAX_SCENE_LENGTH:
        return None
    match = _PATTERN.fullmatch(text)
    if match is None:
        return None
    if match.group("apply"):
        return Scene(match.group("schema"), APPLY)
    kind: SceneKind = HOST if match.group("kind") == HOST else EVENT
    return Scene(match.group("schema"), kind, match.group("token"))
