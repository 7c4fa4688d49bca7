"""A host's personal invitation code (issue 13, 3): the token in the host's WeChat scene
code and in ``/visit/request/?host=<token>``, with which the visitor's form opens with the
host filled in.

The token is a signed reference (``kernel.references``): nothing is stored, it names one host
of one building, and it stops working when the host or their company is deactivated.
"""

from __future__ import annotations

from kernel.references import reference_for, referenced_pk
from tenants.db import current_schema
from visit_platform.directory.models import Host

HOST_INVITATION = "directory.host_invitation"
# The query parameter of the request form that carries the token.
HOST_PARAMETER = "host"


def host_invite_token(host: Host) -> str:
    """The host's invitation code in the current building."""
    return reference_for(HOST_INVITATION, current_schema(), host.pk)


def host_by_invite_token(token: str) -> Host | None:
    """The active host of an active company of this building the code names, or None
    (malformed, forged, another building's, or a host no longer here)."""
    pk = referenced_pk(HOST_INVITATION, current_schema(), token)
    if pk is None:
        return None
    return (
        Host.objects.select_related("company")
        .filter(pk=pk, is_active=True, company__is_active=True)
        .first()
    )
