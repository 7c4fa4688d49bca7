"""Zones: which gates a pass opens, one rule for the platform and the gate agent (ADR 0021).

Pure Python, no Django: the gate agent decides offline with the same function the platform's
decision runs, so a gate can never admit offline what it refuses online, or the other way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A range of floors is expanded up to this many floors; a longer one ("1-999") is a typo
# and is kept as written rather than turned into hundreds of zones.
MAX_FLOOR_RANGE = 50
_SEPARATORS = re.compile(r"[,，、;；/\s]+")
_RANGE = re.compile(r"^(\d+)\s*[-~～—]\s*(\d+)$")


def zone_admits(pass_zones: Iterable[str], gate_zone: str) -> bool:
    """Whether a pass with ``pass_zones`` may enter at a gate in ``gate_zone``.

    A pass without zones opens every gate. A gate without a zone is a common area (the
    lobby, the car park lift) that every pass may use: otherwise a pass limited to its
    host's floors could not get past the front door. Otherwise names match whole and
    exactly ("A座" does not open "A座东")."""
    zones = list(pass_zones)
    return not zones or not gate_zone or gate_zone in zones


def checked_zone(gate_zone: str, checks_zone: bool) -> str:
    """The zone a gate checks passes against: its zone when it checks one, else none (a
    common area). A gate's zone also says where it is, for screens and roll calls, so naming
    the lobby's zone must not make the lobby refuse passes limited to a company's floors."""
    return gate_zone if checks_zone else ""


def company_zones(zone: str, floors: str) -> list[str]:
    """The zones a company's visitors may enter by default: the company's zone and each of
    its floors, as written in the directory ("12-15" is floors 12 to 15). Gates are named
    the same way (a gate of floor 12 has the zone "12"). No zone and no floors: an empty
    list, which is every zone."""
    names = [zone.strip()] if zone.strip() else []
    for item in _SEPARATORS.split(floors.strip()):
        if not item:
            continue
        span = _RANGE.match(item)
        if span and 0 <= int(span[2]) - int(span[1]) < MAX_FLOOR_RANGE:
            names.extend(str(floor) for floor in range(int(span[1]), int(span[2]) + 1))
        else:
            names.append(item)
    return sorted(set(names))
