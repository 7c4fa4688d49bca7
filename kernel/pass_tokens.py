"""Signed QR pass tokens: byte layout, Ed25519 signatures, base45 text for alphanumeric QR codes.

The format is documented byte by byte in ``docs/pass-token.md``. A token proves only that the
building's key signed these claims; the gate still asks the server whether the pass is valid now.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
import struct
from dataclasses import dataclass

import base45
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

TOKEN_VERSION = 1
# A real token is 126 characters; anything much longer is rejected before any decoding work.
MAX_TOKEN_LENGTH = 256
BUILDING_TAG_LENGTH = 4
SIGNATURE_LENGTH = 64
PUBLIC_KEY_LENGTH = 32

# version, kind, building tag, key id, pass id, not_after: big-endian, no padding, 20 bytes.
_CLAIMS_LAYOUT = struct.Struct(">BB4sHQI")
SIGNED_LENGTH = _CLAIMS_LAYOUT.size
TOKEN_LENGTH = SIGNED_LENGTH + SIGNATURE_LENGTH

_MAX_KEY_ID = 2**16 - 1
_MAX_PASS_ID = 2**64 - 1
_MAX_NOT_AFTER = 2**32 - 1

BASE45_ALPHABET = frozenset(base45.BASE45_CHARSET)
_PUBLIC_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}")


class TokenKind(enum.IntEnum):
    """How the token reaches the gate, which decides how long it may live."""

    # Printed on a paper slip, so it has to last the whole visit window.
    SLIP = 1
    # Shown on the visitor's phone and refreshed every 30 s, so a screenshot goes stale in ~60 s.
    ROTATING = 2


class TokenError(Exception):
    """A token or key that cannot be used; ``code`` is stable for gates and APIs to branch on.

    Codes: ``invalid_token`` (not a well-formed token), ``bad_signature`` (well formed, but not
    signed by the given key), ``invalid_claims`` (claims that do not fit the byte layout) and
    ``invalid_key`` (key text that cannot be loaded).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"TokenError(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class TokenClaims:
    """What a token asserts; checked on creation so an unsignable token never exists."""

    kind: TokenKind
    building_tag: bytes
    key_id: int
    pass_id: int
    not_after: int

    def __post_init__(self) -> None:
        if not isinstance(self.kind, TokenKind):
            raise TokenError("invalid_claims", "Token kind must be a TokenKind.")
        tag = self.building_tag
        if not isinstance(tag, bytes) or len(tag) != BUILDING_TAG_LENGTH:
            raise TokenError("invalid_claims", "Building tag must be exactly 4 bytes.")
        _check_range("Key id", self.key_id, _MAX_KEY_ID)
        _check_range("Pass id", self.pass_id, _MAX_PASS_ID)
        _check_range("Not-after time", self.not_after, _MAX_NOT_AFTER)


@dataclass(frozen=True)
class ParsedToken:
    """A well-formed token whose signature has not been checked yet.

    Parsing and verifying are separate because the gate needs the building tag and key id from
    the claims to choose the public key that verifies the signature.
    """

    claims: TokenClaims
    signed_bytes: bytes
    signature: bytes


def _check_range(label: str, value: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise TokenError("invalid_claims", f"{label} must be an integer from 0 to {maximum}.")


def building_tag(schema_name: str) -> bytes:
    """Tag a token with its building, so a gate can report "wrong building", not "unknown key"."""
    return hashlib.sha256(schema_name.encode()).digest()[:BUILDING_TAG_LENGTH]


def _claims_bytes(claims: TokenClaims) -> bytes:
    return _CLAIMS_LAYOUT.pack(
        TOKEN_VERSION,
        claims.kind,
        claims.building_tag,
        claims.key_id,
        claims.pass_id,
        claims.not_after,
    )


def sign_token(claims: TokenClaims, private_key: Ed25519PrivateKey) -> str:
    """Sign the claims and return base45 text, which QR codes store in compact alphanumeric mode."""
    signed_bytes = _claims_bytes(claims)
    signature = private_key.sign(signed_bytes)
    return base45.b45encode(signed_bytes + signature).decode("ascii")


def _invalid(message: str) -> TokenError:
    return TokenError("invalid_token", message)


def parse_token(text: str) -> ParsedToken:
    """Check a token's format and split it up, without any cryptography.

    Everything a scanner hands over is untrusted, so the cheap checks (type, length, alphabet)
    run before base45 decoding and nothing longer than ``MAX_TOKEN_LENGTH`` is decoded at all.
    """
    if not isinstance(text, str):
        raise _invalid("Token must be text.")
    if not text:
        raise _invalid("Token is empty.")
    if len(text) > MAX_TOKEN_LENGTH:
        raise _invalid(f"Token is longer than {MAX_TOKEN_LENGTH} characters.")
    if not BASE45_ALPHABET.issuperset(text):
        raise _invalid("Token contains characters outside the base45 alphabet.")
    try:
        raw = base45.b45decode(text)
    except ValueError:
        raise _invalid("Token is not valid base45.") from None
    if raw[0] != TOKEN_VERSION:
        raise _invalid(f"Token version {raw[0]} is not supported.")
    if len(raw) != TOKEN_LENGTH:
        raise _invalid(f"Token is {len(raw)} bytes long, expected {TOKEN_LENGTH}.")
    signed_bytes, signature = raw[:SIGNED_LENGTH], raw[SIGNED_LENGTH:]
    _version, kind, tag, key_id, pass_id, not_after = _CLAIMS_LAYOUT.unpack(signed_bytes)
    try:
        token_kind = TokenKind(kind)
    except ValueError:
        raise _invalid(f"Token kind {kind} is not known.") from None
    claims = TokenClaims(
        kind=token_kind,
        building_tag=tag,
        key_id=key_id,
        pass_id=pass_id,
        not_after=not_after,
    )
    return ParsedToken(claims=claims, signed_bytes=signed_bytes, signature=signature)


def verify_token(parsed: ParsedToken, public_key: Ed25519PublicKey) -> None:
    """Raise ``bad_signature`` unless the building key signed exactly these bytes."""
    try:
        public_key.verify(parsed.signature, parsed.signed_bytes)
    except InvalidSignature:
        raise TokenError("bad_signature", "Token signature does not verify.") from None


def generate_private_key() -> Ed25519PrivateKey:
    """Make a new building signing key (one per building per rotation)."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey) -> str:
    """Serialise a signing key as unencrypted PKCS#8 PEM; the caller stores it encrypted."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def private_key_from_pem(text: str) -> Ed25519PrivateKey:
    """Load a signing key, refusing any key type other than Ed25519."""
    if not isinstance(text, str):
        raise TokenError("invalid_key", "Private key must be PEM text.")
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm):
        raise TokenError("invalid_key", "Private key is not valid unencrypted PEM.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise TokenError("invalid_key", "Private key is not an Ed25519 key.")
    return key


def public_key_to_text(key: Ed25519PublicKey) -> str:
    """Encode a verifying key as 43 URL-safe characters, small enough for JSON sent to gates."""
    raw = key.public_bytes(
        encoding=serialization.Encoding.Raw,
        format=serialization.PublicFormat.Raw,
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Load a verifying key from ``public_key_to_text`` output, accepting that form only."""
    if not isinstance(text, str) or not _PUBLIC_KEY_TEXT.fullmatch(text):
        raise TokenError("invalid_key", "Public key must be 43 URL-safe base64 characters.")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(text + "="))
    except ValueError:
        raise TokenError("invalid_key", "Public key is not a valid Ed25519 key.") from None
    # The last character carries two spare bits; insist on the one canonical spelling.
    if public_key_to_text(key) != text:
        raise TokenError("invalid_key", "Public key text is not in canonical form.")
    return key
