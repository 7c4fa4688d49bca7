"""Tests for signed QR pass tokens: format, signatures, hostile input and key serialisation."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import base45
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel import pass_tokens as tokens
from kernel.pass_tokens import (
    MAX_TOKEN_LENGTH,
    SIGNED_LENGTH,
    TOKEN_LENGTH,
    ParsedToken,
    TokenClaims,
    TokenError,
    TokenKind,
    building_tag,
    generate_private_key,
    parse_token,
    private_key_from_pem,
    private_key_to_pem,
    public_key_from_text,
    public_key_to_text,
    sign_token,
    verify_token,
)

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "pass-token.md"

# The worked example in docs/pass-token.md; Ed25519 is deterministic, so these never change.
EXAMPLE_SLIP_TOKEN = (
    "W500RA:NC100000000%-0V-PAEDKHNXLO:.OSQ9X-K-2R%OH5F6W81-V5FEGW/B-JI$L6/AH*%RCXTH1G88FCUPN*"
    "V64LZXLP576B3/S2OMPWTR/SIE5A$QN2OJ:E7"
)
EXAMPLE_ROTATING_TOKEN = (
    "X500RA:NC100000000%-0V-PAEDKHNNBWJ.V+-S7CDODG$JV:6RG6QBW2H*V1*BL2DMRF%IFT2CVJRDKSFMEK.F5 "
    "9W0L+0BXX4.G9VAE0:1V9T$N82ZFAIM.URR:9"
)
EXAMPLE_PUBLIC_KEY_TEXT = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"
EXAMPLE_SIGNED_HEX = "0101 53d96323 0001 00000000075bcd15 6955b900"


@pytest.fixture
def private_key() -> Ed25519PrivateKey:
    return generate_private_key()


def zero_seed_key() -> Ed25519PrivateKey:
    """The documented test key, made from 32 zero bytes; never used for real passes."""
    return Ed25519PrivateKey.from_private_bytes(bytes(32))


def example_claims(kind: TokenKind = TokenKind.SLIP) -> TokenClaims:
    return TokenClaims(
        kind=kind,
        building_tag=building_tag("acme_tower"),
        key_id=1,
        pass_id=123456789,
        not_after=1767225600,
    )


def token_bytes(text: str) -> bytearray:
    return bytearray(base45.b45decode(text))


def token_text(raw: bytes | bytearray) -> str:
    return base45.b45encode(bytes(raw)).decode("ascii")


def assert_token_error(text: object, code: str) -> TokenError:
    with pytest.raises(TokenError) as caught:
        parse_token(text)  # type: ignore[arg-type]
    assert caught.value.code == code
    return caught.value


# --- Round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(TokenKind))
def test_round_trip_keeps_claims_and_verifies(
    kind: TokenKind, private_key: Ed25519PrivateKey
) -> None:
    claims = TokenClaims(
        kind=kind,
        building_tag=building_tag("tenant_north_campus"),
        key_id=7,
        pass_id=9_876_543_210,
        not_after=1_800_000_000,
    )

    text = sign_token(claims, private_key)
    parsed = parse_token(text)

    assert parsed.claims == claims
    assert parsed.claims.kind is kind
    assert len(parsed.signed_bytes) == SIGNED_LENGTH
    assert len(parsed.signature) == 64
    verify_token(parsed, private_key.public_key())


@pytest.mark.parametrize(
    ("key_id", "pass_id", "not_after"),
    [(0, 0, 0), (2**16 - 1, 2**64 - 1, 2**32 - 1)],
)
def test_round_trip_at_field_limits(
    key_id: int, pass_id: int, not_after: int, private_key: Ed25519PrivateKey
) -> None:
    claims = TokenClaims(
        kind=TokenKind.ROTATING,
        building_tag=b"\x00\xff\x10\x80",
        key_id=key_id,
        pass_id=pass_id,
        not_after=not_after,
    )

    parsed = parse_token(sign_token(claims, private_key))

    assert parsed.claims == claims
    verify_token(parsed, private_key.public_key())


def test_token_text_uses_only_the_base45_alphabet(private_key: Ed25519PrivateKey) -> None:
    alphabet = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    generator = random.Random(45)
    for _ in range(200):
        claims = TokenClaims(
            kind=generator.choice(list(TokenKind)),
            building_tag=generator.randbytes(4),
            key_id=generator.randrange(2**16),
            pass_id=generator.randrange(2**64),
            not_after=generator.randrange(2**32),
        )
        text = sign_token(claims, private_key)
        assert set(text) <= alphabet
        assert len(text) == 126


def test_token_is_84_bytes_in_the_documented_layout() -> None:
    raw = token_bytes(sign_token(example_claims(), zero_seed_key()))

    assert len(raw) == TOKEN_LENGTH == 84
    assert raw[:SIGNED_LENGTH] == bytes.fromhex(EXAMPLE_SIGNED_HEX)


def test_worked_example_matches_the_documentation() -> None:
    key = zero_seed_key()
    slip = sign_token(example_claims(TokenKind.SLIP), key)
    rotating = sign_token(example_claims(TokenKind.ROTATING), key)
    public_text = public_key_to_text(key.public_key())

    assert slip == EXAMPLE_SLIP_TOKEN
    assert rotating == EXAMPLE_ROTATING_TOKEN
    assert public_text == EXAMPLE_PUBLIC_KEY_TEXT
    page = DOCS_PAGE.read_text(encoding="utf-8")
    for text in (slip, rotating, public_text):
        assert text in page


def test_building_tag_is_sha256_prefix_of_schema_name() -> None:
    assert building_tag("acme_tower") == hashlib.sha256(b"acme_tower").digest()[:4]
    assert building_tag("acme_tower") == bytes.fromhex("53d96323")
    assert building_tag("acme_tower") != building_tag("acme_tower_2")
    assert len(building_tag("")) == 4


# --- Signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(2, TOKEN_LENGTH))
@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_changing_any_byte_after_the_header_breaks_the_signature(index: int, mask: int) -> None:
    key = zero_seed_key()
    raw = token_bytes(sign_token(example_claims(), key))
    raw[index] ^= mask

    parsed = parse_token(token_text(raw))

    with pytest.raises(TokenError) as caught:
        verify_token(parsed, key.public_key())
    assert caught.value.code == "bad_signature"


def test_swapping_the_kind_breaks_the_signature() -> None:
    key = zero_seed_key()
    raw = token_bytes(sign_token(example_claims(TokenKind.SLIP), key))
    raw[1] = TokenKind.ROTATING

    parsed = parse_token(token_text(raw))

    assert parsed.claims.kind is TokenKind.ROTATING
    with pytest.raises(TokenError) as caught:
        verify_token(parsed, key.public_key())
    assert caught.value.code == "bad_signature"


def test_token_signed_with_another_key_has_bad_signature(private_key: Ed25519PrivateKey) -> None:
    other_key = generate_private_key()
    parsed = parse_token(sign_token(example_claims(), other_key))

    with pytest.raises(TokenError) as caught:
        verify_token(parsed, private_key.public_key())
    assert caught.value.code == "bad_signature"
    assert caught.value.message


def test_verify_rejects_a_hand_built_parsed_token_with_mismatched_bytes() -> None:
    key = zero_seed_key()
    genuine = parse_token(sign_token(example_claims(), key))
    forged = ParsedToken(
        claims=genuine.claims,
        signed_bytes=genuine.signed_bytes[:-1] + b"\x01",
        signature=genuine.signature,
    )

    with pytest.raises(TokenError) as caught:
        verify_token(forged, key.public_key())
    assert caught.value.code == "bad_signature"


def test_random_payload_with_a_valid_header_parses_but_fails_verification() -> None:
    generator = random.Random(2024)
    key = zero_seed_key()
    for _ in range(50):
        raw = bytes([1, generator.choice([1, 2])]) + generator.randbytes(TOKEN_LENGTH - 2)
        parsed = parse_token(token_text(raw))
        with pytest.raises(TokenError) as caught:
            verify_token(parsed, key.public_key())
        assert caught.value.code == "bad_signature"


# --- Malformed tokens ---------------------------------------------------------------------


@pytest.mark.parametrize("keep", [1, 2, 3, 60, 123, 124, 125])
def test_truncated_token_is_invalid(keep: int) -> None:
    assert_token_error(EXAMPLE_SLIP_TOKEN[:keep], "invalid_token")


def test_token_with_extra_bytes_is_invalid() -> None:
    assert_token_error(EXAMPLE_SLIP_TOKEN + "000", "invalid_token")


@pytest.mark.parametrize("value", [None, b"W500RA", 42, ["W500RA"], bytearray(b"abc")])
def test_non_text_is_invalid(value: object) -> None:
    assert_token_error(value, "invalid_token")


def test_empty_text_is_invalid() -> None:
    assert_token_error("", "invalid_token")


def test_huge_text_is_rejected_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail_if_called(_text: str) -> bytes:
        raise AssertionError("base45 decoding must not run for oversized input")

    monkeypatch.setattr(tokens.base45, "b45decode", fail_if_called)

    assert_token_error("A" * 100_000, "invalid_token")
    assert_token_error("0" * (MAX_TOKEN_LENGTH + 1), "invalid_token")


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE_SLIP_TOKEN.lower(),
        EXAMPLE_SLIP_TOKEN + "\n",
        EXAMPLE_SLIP_TOKEN[:-1] + "#",
        EXAMPLE_SLIP_TOKEN[:-1] + "é",
        EXAMPLE_SLIP_TOKEN[:-1] + "\uff10",  # full-width zero
        EXAMPLE_SLIP_TOKEN[:-1] + "=",
        "\x00" * 126,
    ],
)
def test_characters_outside_base45_are_invalid(text: str) -> None:
    assert_token_error(text, "invalid_token")


def test_base45_triplet_above_16_bits_is_invalid() -> None:
    # ":::" decodes to 44 + 44*45 + 44*2025 = 91124 > 0xFFFF, which RFC 9285 forbids.
    assert_token_error(":::" * 42, "invalid_token")


def test_random_bytes_are_invalid() -> None:
    generator = random.Random(7)
    for _ in range(200):
        raw = generator.randbytes(generator.randrange(1, 120))
        assert_token_error(raw, "invalid_token")
        assert_token_error(raw.decode("latin-1"), "invalid_token")
        if raw[0] != 1:
            assert_token_error(token_text(raw), "invalid_token")


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version_is_invalid_even_when_signed(version: int) -> None:
    key = zero_seed_key()
    signed = bytes([version]) + bytes.fromhex(EXAMPLE_SIGNED_HEX)[1:]
    text = token_text(signed + key.sign(signed))

    error = assert_token_error(text, "invalid_token")
    assert "version" in error.message


@pytest.mark.parametrize("kind", [0, 3, 255])
def test_unknown_kind_is_invalid_even_when_signed(kind: int) -> None:
    key = zero_seed_key()
    signed = bytes([1, kind]) + bytes.fromhex(EXAMPLE_SIGNED_HEX)[2:]
    text = token_text(signed + key.sign(signed))

    error = assert_token_error(text, "invalid_token")
    assert "kind" in error.message


# --- Claims -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": 1},
        {"building_tag": b"abc"},
        {"building_tag": b"abcde"},
        {"building_tag": "abcd"},
        {"key_id": -1},
        {"key_id": 2**16},
        {"key_id": True},
        {"pass_id": -1},
        {"pass_id": 2**64},
        {"pass_id": 1.0},
        {"not_after": -1},
        {"not_after": 2**32},
    ],
)
def test_claims_that_do_not_fit_the_layout_are_refused(changes: dict[str, object]) -> None:
    values: dict[str, object] = {
        "kind": TokenKind.SLIP,
        "building_tag": b"abcd",
        "key_id": 1,
        "pass_id": 1,
        "not_after": 1,
    }
    values.update(changes)

    with pytest.raises(TokenError) as caught:
        TokenClaims(**values)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_claims"


def test_token_error_carries_code_and_message() -> None:
    error = TokenError("invalid_token", "Token is empty.")

    assert error.code == "invalid_token"
    assert error.message == "Token is empty."
    assert str(error) == "Token is empty."
    assert "invalid_token" in repr(error)


# --- Keys ---------------------------------------------------------------------------------


def test_private_key_pem_round_trip(private_key: Ed25519PrivateKey) -> None:
    pem = private_key_to_pem(private_key)
    loaded = private_key_from_pem(pem)

    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_key_to_text(loaded.public_key()) == public_key_to_text(private_key.public_key())
    parsed = parse_token(sign_token(example_claims(), loaded))
    verify_token(parsed, private_key.public_key())


def test_private_key_from_pem_refuses_other_key_types() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()

    with pytest.raises(TokenError) as caught:
        private_key_from_pem(pem)
    assert caught.value.code == "invalid_key"


def test_private_key_from_pem_refuses_password_protected_keys() -> None:
    pem = (
        zero_seed_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        .decode()
    )

    with pytest.raises(TokenError) as caught:
        private_key_from_pem(pem)
    assert caught.value.code == "invalid_key"


@pytest.mark.parametrize(
    "text", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n", None, b"bytes"]
)
def test_private_key_from_pem_refuses_garbage(text: object) -> None:
    with pytest.raises(TokenError) as caught:
        private_key_from_pem(text)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_key"


def test_public_key_text_round_trip(private_key: Ed25519PrivateKey) -> None:
    public_key = private_key.public_key()
    text = public_key_to_text(public_key)
    loaded = public_key_from_text(text)

    assert len(text) == 43
    assert "=" not in text
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert public_key_to_text(loaded) == text
    parsed = parse_token(sign_token(example_claims(), private_key))
    verify_token(parsed, loaded)


def test_public_key_text_of_the_test_key_is_the_raw_key_in_base64() -> None:
    raw = zero_seed_key().public_key().public_bytes_raw()

    assert base64.urlsafe_b64encode(raw).decode().rstrip("=") == EXAMPLE_PUBLIC_KEY_TEXT


def non_canonical(text: str) -> str:
    """Flip a spare low bit of the last character, which decoders silently ignore."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]


@pytest.mark.parametrize(
    "text",
    [
        "",
        EXAMPLE_PUBLIC_KEY_TEXT[:-1],
        EXAMPLE_PUBLIC_KEY_TEXT + "=",
        EXAMPLE_PUBLIC_KEY_TEXT + "A",
        EXAMPLE_PUBLIC_KEY_TEXT[:-1] + "+",
        " " + EXAMPLE_PUBLIC_KEY_TEXT[1:],
        non_canonical(EXAMPLE_PUBLIC_KEY_TEXT),
        None,
        b"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik",
    ],
)
def test_public_key_from_text_refuses_anything_but_the_canonical_form(text: object) -> None:
    with pytest.raises(TokenError) as caught:
        public_key_from_text(text)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_key"
