"""Signed references (``kernel.references``): a code names one row for one purpose in one
building, and anything else reads as nothing."""

from __future__ import annotations

import pytest
from django.test import override_settings

from kernel.references import (
    MAC_LENGTH,
    reference_for,
    referenced_pk,
    stamped_reference_for,
    stamped_referenced,
)


def test_a_reference_names_its_row() -> None:
    reference = reference_for("host", "alpha", 42)

    assert reference.startswith("42-") and len(reference) == 3 + MAC_LENGTH
    assert referenced_pk("host", "alpha", reference) == 42


def test_a_reference_is_nothing_for_another_purpose_or_building() -> None:
    reference = reference_for("host", "alpha", 42)

    assert referenced_pk("event", "alpha", reference) is None
    assert referenced_pk("host", "beta", reference) is None


def test_another_key_turns_every_reference_into_nothing() -> None:
    reference = reference_for("host", "alpha", 42)

    with override_settings(BLIND_INDEX_KEY=b"k" * 32):
        assert referenced_pk("host", "alpha", reference) is None


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "42",
        "43-" + "0" * MAC_LENGTH,
        "042-" + "0" * MAC_LENGTH,
        "-42-" + "0" * MAC_LENGTH,
        "42-" + "G" * MAC_LENGTH,
        "1" * 19 + "-" + "0" * MAC_LENGTH,
        "x" * 100_000,
        "42-abc\n",
    ],
)
def test_what_reference_for_did_not_make_is_nothing(reference: str) -> None:
    assert referenced_pk("host", "alpha", reference) is None


def test_a_tampered_mac_is_nothing() -> None:
    reference = reference_for("host", "alpha", 7)
    last = "0" if reference[-1] != "0" else "1"

    assert referenced_pk("host", "alpha", reference[:-1] + last) is None


def test_a_stamped_reference_names_its_row_and_moment_and_nothing_else() -> None:
    reference = stamped_reference_for("overstay", "alpha", 42, 1_765_000_000)
    pk, stamp, mac = reference.split("-")

    assert stamped_referenced("overstay", "alpha", reference) == (42, 1_765_000_000)
    assert stamped_referenced("overstay", "beta", reference) is None
    assert stamped_referenced("host", "alpha", reference) is None
    assert stamped_referenced("overstay", "alpha", f"{pk}-{int(stamp) + 1}-{mac}") is None
    assert stamped_referenced("overstay", "alpha", f"{pk}-{mac}") is None
    assert stamped_referenced("overstay", "alpha", reference + "0" * 100) is None
    assert referenced_pk("overstay", "alpha", reference) is None  # not a plain reference
