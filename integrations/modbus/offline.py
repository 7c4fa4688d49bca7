"""The agent's own decision while the platform cannot be reached.

It applies what can be known at the building: the token's format, building, key and
signature (``visit_platform.access.tokens``, the same code the platform runs), the token's
own ``not_after``, the cached revocation list and watchlist digest, and a local count of
entries per pass. What it cannot know (a visit cancelled a minute ago, a pass's use count on
the platform) is why the cached lists are synced often and every offline event is uploaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from integrations.modbus.pass_tokens import tokens

# The platform's reason codes (visit_platform.access.choices.Reason), repeated here because
# the agent must run without Django. tests/integrations checks that they exist there.
GRANTED = "granted"
INVALID_TOKEN = "invalid_token"  # noqa: S105 (a reason code, not a secret)
INVALID_SIGNATURE = "invalid_signature"
UNKNOWN_KEY = "unknown_key"
WRONG_BUILDING = "wrong_building"
TOKEN_EXPIRED = "token_expired"  # noqa: S105 (a reason code, not a secret)
REVOKED = "revoked"
WATCHLISTED = "watchlisted"
USES_EXHAUSTED = "uses_exhausted"
WRONG_DIRECTION = "wrong_direction"
GATE_INACTIVE = "gate_inactive"
OFFLINE_REASONS = (
    GRANTED,
    INVALID_TOKEN,
    INVALID_SIGNATURE,
    UNKNOWN_KEY,
    WRONG_BUILDING,
    TOKEN_EXPIRED,
    REVOKED,
    WATCHLISTED,
    USES_EXHAUSTED,
    WRONG_DIRECTION,
    GATE_INACTIVE,
)
# Until the platform has sent its own wording, readers show the code itself.
DEFAULT_ENTRIES_PER_PASS = 1


@dataclass(frozen=True)
class OfflineDecision:
    granted: bool
    reason: str
    direction: str
    # Only for a genuine token of this building: a forged token's claims name nobody.
    pass_id: int | None = None


@dataclass
class OfflineState:
    """What the agent caches from the platform for offline decisions."""

    building_tag: bytes = b""
    keys: dict[int, Ed25519PublicKey] = field(default_factory=dict)
    revoked: frozenset[int] = frozenset()
    watchlisted: frozenset[int] = frozenset()
    # How many entries one pass gets while offline: the platform's remaining count is not
    # known here, so a small fixed allowance bounds what a copied slip can do during an outage.
    entries_per_pass: int = DEFAULT_ENTRIES_PER_PASS

    @property
    def is_ready(self) -> bool:
        return bool(self.building_tag) and bool(self.keys)


def decide_offline(
    state: OfflineState,
    *,
    token: str,
    gate_direction: str,
    gate_is_active: bool,
    requested_direction: str | None,
    now: int,
    entries_of: Callable[[int], int],
) -> OfflineDecision:
    """The same order as the platform's decision (docs/pass-token.md), minus what needs the
    database: gate, format, building, key, signature, watchlist, revocation, token window,
    local use count. Exits are let through on any genuine pass, as online."""
    if not gate_is_active:
        return OfflineDecision(False, GATE_INACTIVE, requested_direction or "in")
    if gate_direction == "both":
        direction = requested_direction if requested_direction in ("in", "out") else "in"
    elif requested_direction not in (None, "", gate_direction):
        return OfflineDecision(False, WRONG_DIRECTION, requested_direction or "in")
    else:
        direction = gate_direction
    try:
        parsed = tokens.parse_token(token)
    except tokens.TokenError:
        return OfflineDecision(False, INVALID_TOKEN, direction)
    claims = parsed.claims
    if not state.is_ready:
        # Never synced: no building tag and no keys to check the token with.
        return OfflineDecision(False, UNKNOWN_KEY, direction)
    if claims.building_tag != state.building_tag:
        return OfflineDecision(False, WRONG_BUILDING, direction)
    key = state.keys.get(claims.key_id)
    if key is None:
        return OfflineDecision(False, UNKNOWN_KEY, direction)
    try:
        tokens.verify_token(parsed, key)
    except tokens.TokenError:
        return OfflineDecision(False, INVALID_SIGNATURE, direction)
    pass_id = claims.pass_id
    if direction == "out":
        return OfflineDecision(True, GRANTED, direction, pass_id)
    if pass_id in state.watchlisted:
        return OfflineDecision(False, WATCHLISTED, direction, pass_id)
    if pass_id in state.revoked:
        return OfflineDecision(False, REVOKED, direction, pass_id)
    if claims.not_after < now:
        return OfflineDecision(False, TOKEN_EXPIRED, direction, pass_id)
    if entries_of(pass_id) >= state.entries_per_pass:
        return OfflineDecision(False, USES_EXHAUSTED, direction, pass_id)
    return OfflineDecision(True, GRANTED, direction, pass_id)
