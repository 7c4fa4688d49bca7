"""The zone rule the platform and the gate agent share (ADR 0021)."""

from __future__ import annotations

import pytest

from kernel.zones import company_zones, zone_admits


@pytest.mark.parametrize(
    ("pass_zones", "gate_zone", "admits"),
    [
        ([], "A座", True),
        (["A座"], "A座", True),
        (["A座"], "B座", False),
        (["A座东"], "A座", False),
        (["A座"], "", True),
    ],
    ids=["no zones: every gate", "its zone", "another zone", "names match whole", "common gate"],
)
def test_a_pass_opens_its_zones_and_the_common_gates(
    pass_zones: list[str], gate_zone: str, admits: bool
) -> None:
    """A gate without a zone (the lobby) is a common area: a pass limited to its host's
    floors must still get past the front door."""
    assert zone_admits(pass_zones, gate_zone) is admits


@pytest.mark.parametrize(
    ("zone", "floors", "expected"),
    [
        ("", "", []),
        ("A座", "", ["A座"]),
        ("A座", "12-15", ["12", "13", "14", "15", "A座"]),
        ("", "3, 5、7", ["3", "5", "7"]),
        ("", "B1", ["B1"]),
        ("", "1-999", ["1-999"]),
    ],
    ids=["none: every zone", "zone", "zone and a range", "a list", "a name", "a typo range"],
)
def test_a_companys_zones_are_its_zone_and_floors(
    zone: str, floors: str, expected: list[str]
) -> None:
    """Floors are written as the directory has them; a range is expanded so that a gate of
    floor 13 matches a company on floors 12-15, but a silly range is not made hundreds."""
    assert company_zones(zone, floors) == expected
