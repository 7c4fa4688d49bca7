"""Short signed references to a row of one building: codes printed on posters and carried in
WeChat scene strings and links (a host's personal invitation code, an event's code).

A reference is ``<pk>-<mac>``: the row's key and a keyed hash (``blind_index``) over the
purpose, the building's schema and the key, truncated. Nothing is stored: the code is checked
by computing it again. So a code names one row of one building for one purpose: a host's code
is not an event's, and a code from one building means nothing in another, where the same key
may name someone else.
"""

from __future__ import annotations

import hmac
import re

from kernel.privacy import blind_index

# 96 bits of the keyed hash: far beyond what guessing over HTTP can reach.
MAC_LENGTH = 24
# WeChat's scene strings hold 64 characters; a reference stays well inside them.
MAX_REFERENCE_LENGTH = 48
_REFERENCE = re.compile(rf"([1-9][0-9]{{0,17}})-([0-9a-f]{{{MAC_LENGTH}}})")


def _mac(purpose: str, schema: str, pk: int) -> str:
    return blind_index(f"{schema}|{pk}", f"reference.{purpose}")[:MAC_LENGTH]


def reference_for(purpose: str, schema: str, pk: int) -> str:
    """The reference to row ``pk`` for ``purpose`` in the building ``schema``."""
    return f"{pk}-{_mac(purpose, schema, pk)}"


def referenced_pk(purpose: str, schema: str, reference: str) -> int | None:
    """The key a reference names, if it was made by ``reference_for`` for this purpose and
    building; None for anything else (malformed, too long, forged, another building's)."""
    if not isinstance(reference, str) or len(reference) > MAX_REFERENCE_LENGTH:
        return None
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        return None
    pk = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _mac(purpose, schema, pk)):
        return None
    return pk


# A stamped reference: ``<pk>-<stamp>-<mac>``, the stamp a moment in whole seconds.
_STAMPED = re.compile(rf"([1-9][0-9]{{0,17}})-([0-9]{{1,12}})-([0-9a-f]{{{MAC_LENGTH}}})")


def stamped_reference_for(purpose: str, schema: str, pk: int, stamp: int) -> str:
    """A reference to row ``pk`` in one of its successive states, named by ``stamp`` (say the
    moment the row entered it): the holder can tell a forged reference (refused) from one to
    a state the row has since left (whose page says what happened since)."""
    return f"{pk}-{stamp}-{_mac(f'{purpose}@{stamp}', schema, pk)}"


def stamped_referenced(purpose: str, schema: str, reference: str) -> tuple[int, int] | None:
    """The key and stamp a reference names, if it was made by ``stamped_reference_for`` for
    this purpose and building; None for anything else."""
    if not isinstance(reference, str) or len(reference) > 64:
        return None
    match = _STAMPED.fullmatch(reference)
    if match is None:
        return None
    pk, stamp = int(match.group(1)), int(match.group(2))
    if not hmac.compare_digest(match.group(3), _mac(f"{purpose}@{stamp}", schema, pk)):
        return None
    return pk, stamp
