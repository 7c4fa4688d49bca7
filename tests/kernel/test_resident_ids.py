"""Tests for resident identity number normalising, validation and birth dates."""

from __future__ import annotations

import datetime

import pytest

from kernel.errors import DomainError
from kernel.resident_ids import (
    birth_date_from_resident_id,
    is_valid_resident_id,
    normalise_id_number,
)

TODAY = datetime.date(2025, 6, 15)


def with_check_character(first_17_digits: str) -> str:
    """Complete a number from the standard's own definition, independent of the module's table.

    GB 11643-1999 (ISO 7064 MOD 11-2): weight of position i counted from the right, starting at
    1 for the check character, is 2**(i-1) mod 11, and the check value makes the weighted sum
    of all 18 positions congruent to 1 modulo 11; the value 10 is written 'X'.
    """
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(first_17_digits))
    check_value = (1 - total) % 11
    return first_17_digits + ("X" if check_value == 10 else str(check_value))


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the standard's example, check character X
        "110101199003074477",
        with_check_character("11010120000229123"),  # leap day
        with_check_character("11010119000101001"),  # earliest allowed birth date
        with_check_character("44030020250615001"),  # born today
    ],
)
def test_valid_numbers(number: str) -> None:
    assert is_valid_resident_id(number, today=TODAY)


def test_independent_check_helper_agrees_with_known_numbers() -> None:
    assert with_check_character("11010519491231002") == "11010519491231002X"
    assert with_check_character("11010119900307447") == "110101199003074477"


@pytest.mark.parametrize("check", list("0123456789"))
def test_wrong_check_character_is_invalid(check: str) -> None:
    assert not is_valid_resident_id("11010519491231002" + check, today=TODAY)


def test_changed_digit_is_invalid() -> None:
    valid = "110101199003074477"
    for index in range(17):
        digit = str((int(valid[index]) + 1) % 10)
        changed = valid[:index] + digit + valid[index + 1 :]
        assert not is_valid_resident_id(changed, today=TODAY), changed


def test_lowercase_x_is_refused_until_normalised() -> None:
    assert not is_valid_resident_id("11010519491231002x", today=TODAY)
    assert is_valid_resident_id(normalise_id_number("11010519491231002x"), today=TODAY)


@pytest.mark.parametrize(
    "birth",
    [
        "20010229",  # not a leap year
        "19490230",  # February 30
        "19491131",  # November 31
        "19491301",  # month 13
        "19490001",  # month 0
        "19490100",  # day 0
        "18991231",  # before 1900
        "00000000",
    ],
)
def test_impossible_or_too_early_birth_dates_are_invalid(birth: str) -> None:
    number = with_check_character(f"110105{birth}002")

    assert not is_valid_resident_id(number, today=TODAY)


def test_old_but_well_formed_sample_is_invalid() -> None:
    # A widely quoted sample with a correct check character but an 1880 birth date.
    assert not is_valid_resident_id("440524188001010014", today=TODAY)


def test_birth_date_in_the_future_is_invalid() -> None:
    tomorrow = with_check_character("44030020250616001")

    assert not is_valid_resident_id(tomorrow, today=TODAY)
    assert is_valid_resident_id(tomorrow, today=datetime.date(2025, 6, 16))


def test_today_defaults_to_the_local_date() -> None:
    far_future = with_check_character("11010129991231001")

    assert is_valid_resident_id("11010519491231002X")
    assert not is_valid_resident_id(far_future)


@pytest.mark.parametrize(
    "number",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002X0",  # 19 characters
        "320311770706001",  # old 15-digit number
        "1101051949123100XX",
        "X1010519491231002X",
        "11010A19491231002X",
        "110105 19491231002X",
        "11010519491231002X\n",
        " 11010519491231002X",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
        "\u0661" * 17 + "X",  # Arabic-Indic digits
    ],
)
def test_malformed_numbers_are_invalid(number: str) -> None:
    assert not is_valid_resident_id(number, today=TODAY)


@pytest.mark.parametrize("value", [None, 11010519491231002, b"11010519491231002X"])
def test_non_text_is_invalid(value: object) -> None:
    assert not is_valid_resident_id(value, today=TODAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002x ", "11010519491231002X"),
        ("110105\u300019491231002X", "11010519491231002X"),
        ("110101199003074477", "110101199003074477"),
        ("e12345678", "e12345678"),
        ("", ""),
    ],
)
def test_normalise_id_number(text: str, expected: str) -> None:
    assert normalise_id_number(text) == expected


def test_birth_date_from_resident_id() -> None:
    assert birth_date_from_resident_id("11010519491231002X", today=TODAY) == datetime.date(
        1949, 12, 31
    )
    leap_day = with_check_character("11010120000229123")
    assert birth_date_from_resident_id(leap_day, today=TODAY) == datetime.date(2000, 2, 29)


@pytest.mark.parametrize(
    "number",
    ["11010519491231002x", "110105194912310021", with_check_character("11010519490230002"), ""],
)
def test_birth_date_from_invalid_number_raises(number: str) -> None:
    with pytest.raises(DomainError) as caught:
        birth_date_from_resident_id(number, today=TODAY)

    assert caught.value.code == "id_number_invalid"
    assert caught.value.message
