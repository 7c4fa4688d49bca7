"""The one helper every action uses to write the audit log, and the Actor it records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

from visit_platform.audit.models import AuditEntry

if TYPE_CHECKING:
    from django.http import HttpRequest

    from tenants.models import User


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where: passed by views, commands and flows to every action."""

    user: User | None
    ip_address: str | None = None
    label: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, ip_address=request.META.get("REMOTE_ADDR"))  # type: ignore[arg-type]

    @classmethod
    def system(cls, label: str) -> Actor:
        """A program acting on its own (a timer, an import job, a gate agent)."""
        return cls(user=None, label=label)

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.email
        return self.label or "system"


def audit_repr(obj: models.Model) -> str:
    """How the log names an object: its ``audit_repr()`` where it has one (a visitor, a visit:
    the log is append-only and outlives their names, ADR 0034), else ``str``."""
    method = getattr(obj, "audit_repr", None)
    return str(method()) if callable(method) else str(obj)


def record(
    actor: Actor,
    verb: str,
    obj: models.Model | None = None,
    **detail: Any,
) -> AuditEntry:
    """Write one audit entry in the current building's schema.

    Call it inside the action's transaction, so the entry exists exactly when the change does.
    """
    return AuditEntry.objects.create(
        actor=actor.user,
        actor_label=actor.name,
        verb=verb,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=audit_repr(obj)[:200] if obj is not None else "",
        detail=detail,
        ip_address=actor.ip_address,
    )


def record_many(
    actor: Actor, verb: str, objects: Iterable[models.Model], **detail: Any
) -> list[AuditEntry]:
    """``record`` for many objects at once, in one INSERT: an action that writes thousands
    of rows (an event's attendee list) still leaves one entry per row."""
    return AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=actor.user,
                actor_label=actor.name,
                verb=verb,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=audit_repr(obj)[:200],
                detail=detail,
                ip_address=actor.ip_address,
            )
            for obj in objects
        ],
        batch_size=2000,
    )
