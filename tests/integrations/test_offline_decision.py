"""The agent's offline decision on its own: the platform's order of checks, minus what needs
the database, with the platform's own token code."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from integrations.modbus.agent import _pass_zones, reader_message
from integrations.modbus.offline import (
    NO_USES_SEEN,
    OfflineDecision,
    OfflineState,
    PassUses,
    decide_offline,
)
from kernel.pass_tokens import TokenClaims, TokenKind, building_tag, sign_token
from kernel.zones import zone_admits

NOW = 1_800_000_000
KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))  # the documented test key
TAG = building_tag("tower")


def token(
    pass_id: int = 7,
    *,
    key_id: int = 1,
    tag: bytes = TAG,
    not_after: int = NOW + 60,
    key: Ed25519PrivateKey = KEY,
) -> str:
    claims = TokenClaims(TokenKind.SLIP, tag, key_id, pass_id, not_after)
    return sign_token(claims, key)


def state(**changes: object) -> OfflineState:
    cached = OfflineState(building_tag=TAG, keys={1: KEY.public_key()})
    for name, value in changes.items():
        setattr(cached, name, value)
    return cached


def decide(
    text: str,
    cached: OfflineState | None = None,
    *,
    gate: str = "both",
    direction: str | None = None,
    active: bool = True,
    uses: PassUses = NO_USES_SEEN,
    zone: str = "",
) -> OfflineDecision:
    return decide_offline(
        cached or state(),
        token=text,
        gate_direction=gate,
        gate_is_active=active,
        requested_direction=direction,
        now=NOW,
        uses_of=lambda pass_id: uses,
        gate_zone=zone,
    )


def test_a_genuine_token_of_this_building_is_granted_once_offline() -> None:
    assert decide(token()) == OfflineDecision(True, "granted", "in", 7)
    assert decide(token(), uses=PassUses(1, None, False)) == OfflineDecision(
        False, "uses_exhausted", "in", 7
    )


def test_a_pass_the_platform_said_was_spent_is_refused_offline() -> None:
    # Granted online with no use left, or refused online as uses_exhausted: no entry seen
    # since, and still nothing left.
    assert decide(token(), uses=PassUses(0, 0, True)).reason == "uses_exhausted"


def test_a_pass_seen_entering_online_with_an_unknown_limit_is_refused_offline() -> None:
    # The platform's answer did not say what was left (an older platform, a replayed
    # answer): the entry seen online counts against the offline allowance.
    assert decide(token(), uses=PassUses(1, None, False)).reason == "uses_exhausted"


def test_uses_left_bound_the_offline_allowance_and_never_exceed_it() -> None:
    allowance_two = state(entries_per_pass=2)

    assert decide(token(), allowance_two, uses=PassUses(1, 1, True)).reason == "uses_exhausted"
    assert decide(token(), allowance_two, uses=PassUses(1, 5, True)).granted
    assert decide(token(), allowance_two, uses=PassUses(2, 5, True)).reason == "uses_exhausted"
    # Unlimited on the platform: the allowance alone.
    assert decide(token(), allowance_two, uses=PassUses(1, None, True)).granted
    assert not decide(token(), allowance_two, uses=PassUses(2, None, True)).granted


def test_the_checks_come_in_the_platforms_order() -> None:
    both = state(revoked=frozenset({7}), watchlisted=frozenset({7}))

    assert decide("garbage").reason == "invalid_token"
    assert decide(token(tag=building_tag("elsewhere"))).reason == "wrong_building"
    assert decide(token(key_id=2)).reason == "unknown_key"
    assert decide(token(key=Ed25519PrivateKey.generate())).reason == "invalid_signature"
    assert decide(token(), both).reason == "watchlisted"  # before revoked, as online
    assert decide(token(), state(revoked=frozenset({7}))).reason == "revoked"
    assert decide(token(not_after=NOW - 1)).reason == "token_expired"


def test_a_forged_token_names_no_pass() -> None:
    forged = decide(token(key=Ed25519PrivateKey.generate()))

    assert (forged.granted, forged.pass_id) == (False, None)


def test_an_exit_is_let_through_on_any_genuine_pass_even_revoked() -> None:
    revoked = state(revoked=frozenset({7}))

    assert decide(token(), revoked, direction="out") == OfflineDecision(True, "granted", "out", 7)
    assert decide(token(not_after=NOW - 1), gate="out").granted
    assert decide(token(key=Ed25519PrivateKey.generate()), direction="out").reason == (
        "invalid_signature"
    )


def test_the_gate_itself_can_refuse() -> None:
    assert decide(token(), active=False).reason == "gate_inactive"
    assert decide(token(), gate="in", direction="out").reason == "wrong_direction"
    assert decide(token(), gate="in").direction == "in"


def test_without_synced_keys_nothing_is_granted() -> None:
    empty = OfflineState()

    assert not empty.is_ready
    assert decide(token(), empty).reason == "unknown_key"


def test_a_reader_shows_words_not_a_reason_code_before_the_first_sync() -> None:
    synced = {"uses_exhausted": "通行证次数已用完"}

    assert reader_message({}, "unknown_key") == "请到前台 Please see reception"
    assert reader_message({}, "granted") == "已放行 Welcome"
    assert reader_message(synced, "uses_exhausted") == "通行证次数已用完"


@pytest.mark.parametrize(
    ("pass_zones", "gate_zone"),
    [(None, "A座"), (("A座",), "A座"), (("A座",), "B座"), (("A座东",), "A座"), (("A座",), "")],
    ids=["unlisted pass", "its zone", "another zone", "names match whole", "common gate"],
)
def test_offline_zones_follow_the_platforms_rule(
    pass_zones: tuple[str, ...] | None, gate_zone: str
) -> None:
    """The agent applies kernel.zones.zone_admits, the function the platform's decision
    runs, to the zones it synced: a wrong zone is refused offline as online, and a gate
    without a zone (the lobby) admits every pass."""
    cached = state(pass_zones={} if pass_zones is None else {7: pass_zones})
    admits = zone_admits(pass_zones or (), gate_zone)

    decision = decide(token(), cached, zone=gate_zone)

    assert (decision.granted, decision.reason) == (
        (True, "granted") if admits else (False, "wrong_zone")
    )


def test_a_pass_in_the_wrong_zone_is_refused_entry_offline_but_may_leave() -> None:
    cached = state(pass_zones={7: ("8",)})

    assert decide(token(), cached, zone="9").reason == "wrong_zone"
    assert decide(token(), cached, zone="9", direction="out").granted  # nobody is trapped


def test_malformed_zone_items_from_the_platform_are_skipped_not_fatal() -> None:
    """A bad item must not stop the sync; its pass opens every zone offline, as before."""
    body = {
        "passes": [
            {"pass_id": 7, "zones": ["8"]},
            {"pass_id": "x", "zones": ["8"]},
            {"zones": ["9"]},
            {"pass_id": 9, "zones": None},
        ]
    }

    assert _pass_zones(body) == {7: ("8",)}
