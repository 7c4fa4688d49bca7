"""Short references to a row that can be printed on a poster but not guessed: the row's id and
a keyed MAC over it (``42-1f3a9c0b7d2e4f61``).

A QR code for a host's invitation or an event's entrance must name the row, yet someone who
sees one code must not be able to make the code of the next host. Signing the id needs no
column and no migration; the ``purpose`` (which names the building too) keeps a reference
made for one kind of row, or in one building, worthless for another. It cannot be revoked
by itself: what it names is checked (active, not cancelled) whenever it is used.
"""

from __future__ import annotations

import hmac
import re

from kernel.privacy import blind_index

# 64 bits of MAC: far beyond what anyone can try against a server, short enough for a QR
# scene string (WeChat allows 64 characters) with the building's name in it.
MAC_LENGTH = 16
_SHAPE = re.compile(rf"([1-9][0-9]{{0,17}})-([0-9a-f]{{{MAC_LENGTH}}})")


def _mac(pk: int, purpose: str) -> str:
    return blind_index(str(pk), f"signed_id|{purpose}")[:MAC_LENGTH]


def signed_id(pk: int, purpose: str) -> str:
    """The reference to row ``pk`` for ``purpose`` (e.g. ``host_invite|alpha``)."""
    return f"{pk}-{_mac(pk, purpose)}"


def id_of(reference: str, purpose: str) -> int | None:
    """The row id ``reference`` names for ``purpose``, or None when it is not one of ours."""
    match = _SHAPE.fullmatch(reference or "")
    if match is None:
        return None
    pk = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _mac(pk, purpose)):
        return None
    return pk
