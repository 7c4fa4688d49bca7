"""Personal data protection: field encryption at rest, blind indexes for lookups, screen masking.

Visitors' identity numbers, mobiles and names are stored encrypted (``EncryptedTextField``).
Encryption is randomised, so equal values never look equal in the database; a column that must
be searched gets a second, keyed-hash column (``blind_index``) that is compared instead.
Keys come from settings and are read on every call, never at import time, so tests and key
rotation can change them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.models.lookups import Exact

FORMAT_VERSION = "v1"
KEY_LENGTH = 32
NONCE_LENGTH = 12
TAG_LENGTH = 16


class PrivacyError(Exception):
    """Base for this module's errors: ``code`` is stable, ``message`` is for people."""

    code = "privacy_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DecryptionError(PrivacyError):
    """Stored data cannot be decrypted: unknown key id, damaged or tampered data."""

    code = "decryption_failed"


class EncryptedLookupError(PrivacyError, FieldError):
    """A query tried to compare an encrypted column, which can never match; use a blind index."""

    code = "encrypted_field_lookup"


# --- Encryption -----------------------------------------------------------------------------


def _configured_key(name: str, key: object) -> bytes:
    if not isinstance(key, bytes) or len(key) != KEY_LENGTH:
        raise ImproperlyConfigured(f"{name} must be {KEY_LENGTH} bytes.")
    return key


def _current_key() -> tuple[str, bytes]:
    key_id = settings.FIELD_ENCRYPTION_KEY_ID
    if not isinstance(key_id, str) or not key_id or ":" in key_id:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY_ID must be non-empty text without ':'.")
    if key_id not in settings.FIELD_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY_ID names no key in FIELD_ENCRYPTION_KEYS.")
    name = f"FIELD_ENCRYPTION_KEYS[{key_id!r}]"
    return key_id, _configured_key(name, settings.FIELD_ENCRYPTION_KEYS[key_id])


def encrypt(plaintext: str) -> str:
    """Encrypt with AES-256-GCM under the current key: ``v1:<key id>:<base64 nonce+ciphertext>``.

    The key id travels with the data so that old rows still decrypt after the current key
    changes; a fresh random nonce makes every encryption of the same text different.
    """
    if not isinstance(plaintext, str):
        raise TypeError("Only text can be encrypted.")
    key_id, key = _current_key()
    nonce = os.urandom(NONCE_LENGTH)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), None)
    payload = base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii")
    return f"{FORMAT_VERSION}:{key_id}:{payload}"


def _split_stored(stored: str) -> tuple[str, str]:
    """Return the key id and base64 payload of a stored value."""
    if not isinstance(stored, str):
        raise DecryptionError("Encrypted value must be text.")
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != FORMAT_VERSION or not parts[1]:
        raise DecryptionError("Value is not in the 'v1:<key id>:<data>' format.")
    return parts[1], parts[2]


def decrypt(stored: str) -> str:
    """Decrypt a value made by ``encrypt`` with whichever configured key it names."""
    key_id, payload = _split_stored(stored)
    keys = settings.FIELD_ENCRYPTION_KEYS
    if key_id not in keys:
        raise DecryptionError(f"No encryption key with id {key_id!r} is configured.")
    key = _configured_key(f"FIELD_ENCRYPTION_KEYS[{key_id!r}]", keys[key_id])
    try:
        data = base64.b64decode(payload, altchars=b"-_", validate=True)
    except ValueError:
        raise DecryptionError("Encrypted data is not valid base64.") from None
    if len(data) < NONCE_LENGTH + TAG_LENGTH:
        raise DecryptionError("Encrypted data is too short.")
    try:
        plaintext = AESGCM(key).decrypt(data[:NONCE_LENGTH], data[NONCE_LENGTH:], None)
    except InvalidTag:
        raise DecryptionError("Encrypted data was changed or uses another key.") from None
    return plaintext.decode("utf-8")


def encrypt_bytes(plaintext: bytes) -> bytes:
    """Encrypt a file's bytes like ``encrypt`` does text: ``v1:<key id>:`` then nonce and
    ciphertext, raw (a photo is large enough that base64's third more matters)."""
    if not isinstance(plaintext, bytes):
        raise TypeError("Only bytes can be encrypted as a file.")
    key_id, key = _current_key()
    nonce = os.urandom(NONCE_LENGTH)
    header = f"{FORMAT_VERSION}:{key_id}:".encode("ascii")
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, None)


def is_encrypted_bytes(data: bytes) -> bool:
    """Whether ``data`` starts like ``encrypt_bytes``'s output (a file written before files
    were encrypted does not: JPEG and PNG start with other bytes)."""
    return data.startswith(f"{FORMAT_VERSION}:".encode("ascii"))


def decrypt_bytes(stored: bytes) -> bytes:
    """Decrypt what ``encrypt_bytes`` made, with whichever configured key it names."""
    prefix = f"{FORMAT_VERSION}:".encode("ascii")
    if not stored.startswith(prefix):
        raise DecryptionError("File is not in the 'v1:<key id>:<data>' format.")
    key_id_bytes, separator, data = stored[len(prefix) :].partition(b":")
    key_id = key_id_bytes.decode("ascii", errors="replace")
    if not separator or not key_id:
        raise DecryptionError("File is not in the 'v1:<key id>:<data>' format.")
    keys = settings.FIELD_ENCRYPTION_KEYS
    if key_id not in keys:
        raise DecryptionError(f"No encryption key with id {key_id!r} is configured.")
    key = _configured_key(f"FIELD_ENCRYPTION_KEYS[{key_id!r}]", keys[key_id])
    if len(data) < NONCE_LENGTH + TAG_LENGTH:
        raise DecryptionError("Encrypted data is too short.")
    try:
        return AESGCM(key).decrypt(data[:NONCE_LENGTH], data[NONCE_LENGTH:], None)
    except InvalidTag:
        raise DecryptionError("Encrypted data was changed or uses another key.") from None


def needs_reencryption(stored: str) -> bool:
    """Say whether a value was encrypted under an older key, so rotation can rewrite it."""
    key_id, _payload = _split_stored(stored)
    return key_id != settings.FIELD_ENCRYPTION_KEY_ID


# --- Blind index ----------------------------------------------------------------------------


def normalise_for_index(value: str) -> str:
    """Remove all whitespace and upper-case, so '110105 1949...x' finds '1101051949...X'."""
    return "".join(value.split()).upper()


def blind_index(value: str, purpose: str) -> str:
    """Keyed hash of a normalised value, for exact-match search over encrypted columns.

    ``purpose`` (for example ``"visitor.id_number"``) is hashed in, so two columns holding the
    same value get different indexes and cannot be joined to link records across fields. The
    key keeps anyone with only the database from hashing guesses to find a person.
    """
    if not purpose or "\x00" in purpose:
        raise ValueError("Blind index purpose must be non-empty text without NUL characters.")
    key = _configured_key("BLIND_INDEX_KEY", settings.BLIND_INDEX_KEY)
    message = purpose.encode("utf-8") + b"\x00" + normalise_for_index(value).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def secret_hash(secret: str) -> str:
    """What is stored instead of a random secret that grants something (a gate agent's key, a
    pass or decision link's code): SHA-256 is enough, since the secret itself carries 128
    bits or more and cannot be guessed, unlike the values ``blind_index`` hides."""
    return hashlib.sha256(secret.encode()).hexdigest()


# --- Model field ----------------------------------------------------------------------------


class EncryptedTextField(models.TextField):
    """Text stored encrypted with ``encrypt``; Python code only ever sees the plaintext.

    ``None`` and ``""`` are stored as they are, so "not given" stays visible to queries.
    Comparing the column is refused (only ``__isnull``, and ``exact`` against ``""``, "not
    given", work): every encryption differs, so an ``exact`` or ``contains`` lookup on a value
    would silently match nothing. Search a blind index column.
    Ordering by the column is allowed by Django but orders by ciphertext, which is meaningless.
    """

    description = "Text encrypted at rest (search it through a blind index column)"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value: Any) -> str | None:
        """Return plaintext as text; values reaching here (forms, fixtures) are never encrypted."""
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value: Any) -> str | None:
        text = super().get_prep_value(value)
        if text is None or text == "":
            return text
        return encrypt(text)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return EmptyExact
        if lookup_name != "isnull":
            raise self._lookup_error(lookup_name)
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        raise self._lookup_error(lookup_name)

    def _lookup_error(self, lookup_name: str) -> EncryptedLookupError:
        return EncryptedLookupError(
            f"Encrypted field {self.name!r} cannot be queried with '__{lookup_name}': its stored "
            "value is randomly encrypted. Filter on its blind index column instead; only "
            "'__isnull' and '=\"\"' are supported."
        )


class EmptyExact(Exact):
    """``field=""`` on an encrypted column: "not given" is stored as it is, so comparing with
    the empty text is meaningful (``exclude(mobile="")``, a constraint); any other value is
    refused, since its ciphertext never equals a fresh encryption."""

    def get_prep_lookup(self) -> Any:
        if self.rhs != "":
            raise EncryptedLookupError(
                f"Encrypted field {self.lhs.target.name!r} can only be compared with '': filter "
                "on its blind index column instead."
            )
        return super().get_prep_lookup()


# --- Masking for screens --------------------------------------------------------------------


def mask_id_number(value: str) -> str:
    """Show enough of an identity number to tell documents apart, not enough to reuse it.

    Long numbers (12 or more characters) keep the first 4 and last 4 characters, shorter ones
    such as passports keep only the last 2, and 4 characters or fewer are hidden entirely.
    """
    length = len(value)
    if length <= 4:
        return "*" * length
    if length < 12:
        return "*" * (length - 2) + value[-2:]
    return value[:4] + "*" * (length - 8) + value[-4:]


def mask_mobile(value: str) -> str:
    """Hide the four digits before the last four, keeping spaces, '+' and the country code.

    "13812345678" becomes "138****5678" and "+86 138 1234 5678" becomes "+86 138 **** 5678".
    Fewer than 8 digits cannot be a mobile number worth half-showing, so every digit is hidden.
    """
    digit_positions = [index for index, character in enumerate(value) if character.isdecimal()]
    hidden = set(digit_positions if len(digit_positions) < 8 else digit_positions[-8:-4])
    return "".join("*" if index in hidden else character for index, character in enumerate(value))


def mask_name(value: str) -> str:
    """Keep the first character of each word: "张三" -> "张*", "John Smith" -> "J*** S****".

    A name of a single character is hidden entirely, since keeping it would show all of it.
    """
    name = value.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return re.sub(r"\S+", _mask_word, name)


def _mask_word(match: re.Match[str]) -> str:
    word = match[0]
    return word[0] + "*" * (len(word) - 1)
