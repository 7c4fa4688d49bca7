"""Tests for field encryption, key rotation, blind indexes, the encrypted field and masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection, models
from django.test import override_settings
from django.test.utils import isolate_apps

from kernel.privacy import (
    DecryptionError,
    EncryptedLookupError,
    EncryptedTextField,
    blind_index,
    decrypt,
    decrypt_bytes,
    encrypt,
    encrypt_bytes,
    is_encrypted_bytes,
    mask_id_number,
    mask_mobile,
    mask_name,
    needs_reencryption,
    normalise_for_index,
)

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(100, 132))
INDEX_KEY = b"\x01" * 32
OTHER_INDEX_KEY = b"\x02" * 32

KEYS = override_settings(
    FIELD_ENCRYPTION_KEYS={"old": OLD_KEY},
    FIELD_ENCRYPTION_KEY_ID="old",
    BLIND_INDEX_KEY=INDEX_KEY,
)


@pytest.fixture(autouse=True)
def keys() -> Iterator[None]:
    with KEYS:
        yield


def payload_bytes(stored: str) -> bytes:
    return base64.urlsafe_b64decode(stored.split(":", 2)[2])


def with_payload(stored: str, payload: bytes) -> str:
    prefix = stored.rsplit(":", 1)[0]
    return f"{prefix}:{base64.urlsafe_b64encode(payload).decode()}"


def assert_decryption_fails(stored: Any) -> DecryptionError:
    with pytest.raises(DecryptionError) as caught:
        decrypt(stored)
    assert caught.value.code == "decryption_failed"
    assert caught.value.message
    return caught.value


# --- Encryption -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext",
    ["11010519491231002X", "张三", "欧阳娜娜 北京市朝阳区", "O'Brien 😀", "", " ", "a" * 10_000],
)
def test_round_trip(plaintext: str) -> None:
    assert decrypt(encrypt(plaintext)) == plaintext


def test_stored_format_names_version_and_key_id() -> None:
    stored = encrypt("张三")
    version, key_id, payload = stored.split(":", 2)

    assert (version, key_id) == ("v1", "old")
    # 12-byte nonce, UTF-8 text (6 bytes for two Chinese characters), 16-byte tag.
    assert len(base64.urlsafe_b64decode(payload)) == 12 + 6 + 16
    assert set(payload) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_two_encryptions_of_the_same_text_differ() -> None:
    first, second = encrypt("11010519491231002X"), encrypt("11010519491231002X")

    assert first != second
    assert payload_bytes(first)[:12] != payload_bytes(second)[:12]


@pytest.mark.parametrize("plaintext", ["11010519491231002X", "13812345678", "张三"])
def test_ciphertext_does_not_contain_the_plaintext(plaintext: str) -> None:
    stored = encrypt(plaintext)

    assert plaintext not in stored
    assert plaintext.encode() not in payload_bytes(stored)


def test_changing_any_byte_of_the_data_is_detected() -> None:
    stored = encrypt("11010519491231002X")
    payload = payload_bytes(stored)

    for index in range(len(payload)):
        changed = bytearray(payload)
        changed[index] ^= 0x01
        assert_decryption_fails(with_payload(stored, bytes(changed)))


def test_cut_or_extended_data_is_detected() -> None:
    stored = encrypt("11010519491231002X")
    payload = payload_bytes(stored)

    assert_decryption_fails(with_payload(stored, payload[:-1]))
    assert_decryption_fails(with_payload(stored, payload + b"\x00"))
    assert_decryption_fails(with_payload(stored, payload[:27]))


def test_data_moved_under_another_key_id_does_not_decrypt() -> None:
    stored = encrypt("张三")

    with override_settings(FIELD_ENCRYPTION_KEYS={"old": OLD_KEY, "new": NEW_KEY}):
        assert_decryption_fails(stored.replace("v1:old:", "v1:new:"))


def test_unknown_key_id_fails_with_a_message_naming_it() -> None:
    stored = encrypt("张三").replace("v1:old:", "v1:gone:")

    error = assert_decryption_fails(stored)
    assert "gone" in error.message


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain text",
        "v1:old",
        "v1::AAAA",
        "v2:old:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1:old:",
        "v1:old:not base64!",
        "v1:old:AAAA=AAA",
        "v1:old:ü",
        None,
        b"v1:old:AAAA",
    ],
)
def test_malformed_values_fail(stored: Any) -> None:
    assert_decryption_fails(stored)


def test_encrypt_refuses_non_text() -> None:
    with pytest.raises(TypeError):
        encrypt(b"bytes")  # type: ignore[arg-type]


# --- Key rotation ---------------------------------------------------------------------------


def test_rotation_keeps_old_data_readable_and_marks_it_for_reencryption() -> None:
    old_stored = encrypt("11010519491231002X")
    assert needs_reencryption(old_stored) is False

    with override_settings(
        FIELD_ENCRYPTION_KEYS={"old": OLD_KEY, "new": NEW_KEY}, FIELD_ENCRYPTION_KEY_ID="new"
    ):
        assert decrypt(old_stored) == "11010519491231002X"
        assert needs_reencryption(old_stored) is True

        new_stored = encrypt(decrypt(old_stored))
        assert new_stored.startswith("v1:new:")
        assert needs_reencryption(new_stored) is False
        assert decrypt(new_stored) == "11010519491231002X"

    with override_settings(FIELD_ENCRYPTION_KEYS={"new": NEW_KEY}, FIELD_ENCRYPTION_KEY_ID="new"):
        assert decrypt(new_stored) == "11010519491231002X"
        assert_decryption_fails(old_stored)


def test_needs_reencryption_refuses_malformed_values() -> None:
    with pytest.raises(DecryptionError):
        needs_reencryption("not encrypted")


@pytest.mark.parametrize(
    "overrides",
    [
        {"FIELD_ENCRYPTION_KEY_ID": "missing"},
        {"FIELD_ENCRYPTION_KEY_ID": ""},
        {"FIELD_ENCRYPTION_KEYS": {"a:b": OLD_KEY}, "FIELD_ENCRYPTION_KEY_ID": "a:b"},
        {"FIELD_ENCRYPTION_KEYS": {"old": OLD_KEY[:16]}},
        {"FIELD_ENCRYPTION_KEYS": {"old": OLD_KEY.hex()}},
    ],
)
def test_bad_key_settings_are_reported_as_configuration_errors(overrides: dict[str, Any]) -> None:
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured):
        encrypt("x")


# --- Blind index ----------------------------------------------------------------------------


def test_blind_index_is_a_deterministic_keyed_hash() -> None:
    first = blind_index("11010519491231002X", "visitor.id_number")
    expected = hmac.new(
        INDEX_KEY, b"visitor.id_number\x0011010519491231002X", hashlib.sha256
    ).hexdigest()

    assert first == blind_index("11010519491231002X", "visitor.id_number")
    assert first == expected
    assert len(first) == 64
    assert set(first) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    "variant",
    [
        "11010519491231002x",
        " 11010519491231002X ",
        "110105 19491231 002X",
        "110105\t19491231\n002x",
        "110105\u300019491231002X",  # ideographic space from Chinese input methods
    ],
)
def test_blind_index_ignores_case_and_spaces(variant: str) -> None:
    assert blind_index(variant, "visitor.id_number") == blind_index(
        "11010519491231002X", "visitor.id_number"
    )


def test_blind_index_distinguishes_different_values() -> None:
    assert blind_index("11010519491231002X", "p") != blind_index("110105194912310021", "p")


def test_blind_index_differs_by_purpose() -> None:
    assert blind_index("13812345678", "visitor.mobile") != blind_index("13812345678", "host.mobile")
    # The separator keeps purpose and value from running into each other.
    assert blind_index("b", "a") != blind_index("", "ab")


def test_blind_index_differs_by_key() -> None:
    before = blind_index("13812345678", "visitor.mobile")

    with override_settings(BLIND_INDEX_KEY=OTHER_INDEX_KEY):
        after = blind_index("13812345678", "visitor.mobile")

    assert before != after


@pytest.mark.parametrize("purpose", ["", "a\x00b"])
def test_blind_index_refuses_unusable_purposes(purpose: str) -> None:
    with pytest.raises(ValueError):
        blind_index("x", purpose)


@pytest.mark.parametrize("key", [b"short", "x" * 32, None])
def test_blind_index_refuses_a_bad_key(key: Any) -> None:
    with override_settings(BLIND_INDEX_KEY=key), pytest.raises(ImproperlyConfigured):
        blind_index("x", "p")


def test_normalise_for_index() -> None:
    assert normalise_for_index(" ab c\u3000d\n") == "ABCD"


# --- EncryptedTextField ---------------------------------------------------------------------


@pytest.fixture
def visitor_model() -> Iterator[type[models.Model]]:
    with isolate_apps():

        class Visitor(models.Model):
            id_number = EncryptedTextField(null=True, blank=True)

            class Meta:
                app_label = "privacy_tests"

            def __str__(self) -> str:
                return f"Visitor {self.pk}"

        yield Visitor


def test_field_encrypts_for_the_database_and_decrypts_for_python() -> None:
    field = EncryptedTextField()

    stored = field.get_db_prep_save("11010519491231002X", connection)

    assert stored.startswith("v1:old:")
    assert "11010519491231002X" not in stored
    assert field.from_db_value(stored, None, connection) == "11010519491231002X"


@pytest.mark.parametrize("value", [None, ""])
def test_field_keeps_none_and_empty_text(value: str | None) -> None:
    field = EncryptedTextField()

    assert field.get_prep_value(value) == value
    assert field.from_db_value(value, None, connection) == value


def test_field_to_python_returns_plaintext_text() -> None:
    field = EncryptedTextField()

    assert field.to_python(None) is None
    assert field.to_python("张三") == "张三"
    assert field.to_python(42) == "42"
    stored = field.get_prep_value(42)
    assert stored is not None
    assert decrypt(stored) == "42"


def test_field_refuses_damaged_database_values() -> None:
    with pytest.raises(DecryptionError):
        EncryptedTextField().from_db_value("v1:old:AAAA", None, connection)


@pytest.mark.parametrize(
    "lookup",
    [
        {"id_number": "11010519491231002X"},
        {"id_number__exact": "x"},
        {"id_number__iexact": "x"},
        {"id_number__contains": "x"},
        {"id_number__icontains": "x"},
        {"id_number__startswith": "x"},
        {"id_number__in": ["x"]},
        {"id_number__gt": "x"},
        {"id_number": None},
        {"id_number__lower": "x"},
        {"id_number__lower__exact": "x"},
    ],
)
def test_field_refuses_lookups(visitor_model: type[models.Model], lookup: dict[str, Any]) -> None:
    with pytest.raises(EncryptedLookupError) as caught:
        visitor_model.objects.filter(**lookup)  # type: ignore[attr-defined]

    assert isinstance(caught.value, FieldError)
    assert caught.value.code == "encrypted_field_lookup"
    assert "blind index" in caught.value.message
    assert "id_number" in caught.value.message


def test_field_refuses_lookups_in_exclude(visitor_model: type[models.Model]) -> None:
    with pytest.raises(EncryptedLookupError):
        visitor_model.objects.exclude(id_number="x")  # type: ignore[attr-defined]


@pytest.mark.parametrize("is_null", [True, False])
def test_field_allows_isnull(visitor_model: type[models.Model], is_null: bool) -> None:
    queryset = visitor_model.objects.filter(id_number__isnull=is_null)  # type: ignore[attr-defined]

    assert queryset.query.where


def test_field_deconstructs_for_migrations() -> None:
    field = EncryptedTextField(null=True, blank=True, help_text="Identity number")
    field.set_attributes_from_name("id_number")

    name, path, args, kwargs = field.deconstruct()

    assert name == "id_number"
    assert path == "kernel.privacy.EncryptedTextField"
    assert args == []
    assert kwargs == {"null": True, "blank": True, "help_text": "Identity number"}
    rebuilt = EncryptedTextField(*args, **kwargs)
    rebuilt.set_attributes_from_name(name)
    assert rebuilt.deconstruct() == (name, path, args, kwargs)


def test_field_is_a_text_column(visitor_model: type[models.Model]) -> None:
    field = visitor_model._meta.get_field("id_number")

    assert isinstance(field, EncryptedTextField)
    assert field.get_internal_type() == "TextField"


# --- Masking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11010519491231002X", "1101**********002X"),
        ("110105491231002", "1101*******1002"),
        ("123456789012", "1234****9012"),
        ("E12345678", "*******78"),
        ("12345", "***45"),
        ("1234", "****"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, expected: str) -> None:
    assert mask_id_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("+8613812345678", "+86138****5678"),
        ("138-1234-5678", "138-****-5678"),
        ("010-12345678", "010-****5678"),
        ("1234567", "*******"),
        ("+1 234", "+* ***"),
        ("", ""),
    ],
)
def test_mask_mobile(value: str, expected: str) -> None:
    assert mask_mobile(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("John Smith", "J*** S****"),
        ("  John   Smith ", "J***   S****"),
        ("Mary-Jane Watson", "M******** W*****"),
        ("迪丽热巴·迪力木拉提", "迪*********"),
        ("张", "*"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_mask_name(value: str, expected: str) -> None:
    assert mask_name(value) == expected


# --- Files ----------------------------------------------------------------------------------

PHOTO = b"\xff\xd8\xff\xe0 a JPEG's first bytes, then the picture"


def test_bytes_round_trip_and_name_their_key_id() -> None:
    stored = encrypt_bytes(PHOTO)

    assert stored.startswith(b"v1:old:")
    assert PHOTO not in stored and b"\xff\xd8\xff" not in stored[:16]
    assert is_encrypted_bytes(stored) and not is_encrypted_bytes(PHOTO)
    assert decrypt_bytes(stored) == PHOTO
    assert encrypt_bytes(PHOTO) != stored


def test_bytes_under_an_old_key_still_decrypt_after_rotation() -> None:
    stored = encrypt_bytes(PHOTO)

    with override_settings(
        FIELD_ENCRYPTION_KEYS={"new": NEW_KEY, "old": OLD_KEY}, FIELD_ENCRYPTION_KEY_ID="new"
    ):
        assert decrypt_bytes(stored) == PHOTO
        assert encrypt_bytes(PHOTO).startswith(b"v1:new:")


@pytest.mark.parametrize(
    "damage",
    [
        lambda stored: stored[:-1] + bytes([stored[-1] ^ 1]),
        lambda stored: stored[:20],
        lambda stored: stored.replace(b"v1:old:", b"v1:gone:"),
        lambda stored: stored.replace(b"v1:old:", b"v1:old"),
        lambda stored: PHOTO,
    ],
    ids=["changed", "cut", "unknown key", "no separator", "plain"],
)
def test_damaged_bytes_fail_to_decrypt(damage: Any) -> None:
    with pytest.raises(DecryptionError):
        decrypt_bytes(damage(encrypt_bytes(PHOTO)))


def test_encrypt_bytes_refuses_text() -> None:
    with pytest.raises(TypeError):
        encrypt_bytes("photo")  # type: ignore[arg-type]


def test_field_allows_comparing_with_empty_text_only(visitor_model: type[models.Model]) -> None:
    queryset = visitor_model.objects.exclude(id_number="")  # type: ignore[attr-defined]

    sql, parameters = queryset.query.sql_with_params()
    assert parameters == ("",)
    assert 'WHERE NOT ("privacy_tests_visitor"."id_number" = %s AND' in sql
