"""The agent's own decision while the platform cannot be reached.

It applies what can be known at the building: the token's format, building, key and
signature (``kernel.pass_tokens``, the same code the platform runs), the token's
own ``not_after``, the cached revocation list and watchlist digest, and what the agent has
seen of each pass's uses: every entry it let through (online or offline), and the uses left
as the platform last said. What it cannot know (a visit cancelled a minute ago, entries at
another agent's gates) is why the cached lists are synced often, every offline event is
uploaded, and a pass whose limit the agent does not know gets the small offline allowance
only, counting the entries the agent saw online too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kernel import pass_tokens as tokens
from kernel.zones import zone_admits

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
WRONG_ZONE = "wrong_zone"
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
    WRONG_ZONE,
)
# Until the platform has sent its own wording, readers show the code itself.
DEFAULT_ENTRIES_PER_PASS = 1


@dataclass(frozen=True)
class PassUses:
    """What the agent knows of one pass's uses (the journal keeps it until the pass expires;
    an upload does not reset it)."""

    entries: int  # let through by this agent since the platform's last word on the pass
    uses_left: int | None  # the platform's last word (None: unlimited, or not said)
    answered: bool  # whether the platform said how many uses were left

    def allows_entry(self, allowance: int) -> bool:
        """Another entry offline: within the allowance, and within what the platform last
        said was left, less the entries let through since. A pass whose limit is unknown
        (never answered online) gets the allowance, including the entries seen online."""
        limit = allowance
        if self.answered and self.uses_left is not None:
            limit = min(limit, self.uses_left)
        return self.entries < limit


NO_USES_SEEN = PassUses(0, None, False)


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
    # How many entries one pass gets offline without a word from the platform: a small fixed
    # allowance bounds what a copied slip can do during an outage.
    entries_per_pass: int = DEFAULT_ENTRIES_PER_PASS
    # The zones of open passes limited to some zones (the platform's ``/zones``); a pass not
    # listed opens every zone.
    pass_zones: dict[int, tuple[str, ...]] = field(default_factory=dict)

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
    uses_of: Callable[[int], PassUses],
    gate_zone: str = "",
) -> OfflineDecision:
    """The same order as the platform's decision (docs/pass-token.md), minus what needs the
    database: gate, format, building, key, signature, watchlist, revocation, token window,
    zone (``kernel.zones.zone_admits``, the platform's own rule, on the synced zones), the
    uses the agent has seen (``PassUses.allows_entry``). Exits are let through on any genuine
    pass, as online."""
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
    if not zone_admits(state.pass_zones.get(pass_id, ()), gate_zone):
        return OfflineDecision(False, WRONG_ZONE, direction, pass_id)
    if not uses_of(pass_id).allows_entry(state.entries_per_pass):
        return OfflineDecision(False, USES_EXHAUSTED, direction, pass_id)
    return OfflineDecision(True, GRANTED, direction, pass_id)
