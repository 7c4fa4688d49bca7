"""A host's personal invitation code (seed 5.2.2): the reference printed in the host's WeChat
QR code and carried to the request form as ``?host=<token>``, so the form opens with the host
filled in. A signed id (``kernel.signed_ids``): no column, and a code made in one building
names nobody in another."""

from __future__ import annotations

from kernel.signed_ids import id_of, signed_id
from tenants.db import current_schema
from visit_platform.directory.models import Host

# The query parameter of the request form that carries the token.
HOST_PARAMETER = "host"


def _purpose() -> str:
    return f"host_invite|{current_schema()}"


def host_invite_token(host: Host) -> str:
    """The host's invitation token in the current building."""
    return signed_id(host.pk, _purpose())


def host_by_invite_token(token: str) -> Host | None:
    """The active host of an active company that ``token`` names in the current building, or
    None (not a token of ours, another building's, or someone who has left)."""
    pk = id_of(token, _purpose())
    if pk is None:
        return None
    return (
        Host.objects.select_related("company")
        .filter(pk=pk, is_active=True, company__is_active=True)
        .first()
    )
