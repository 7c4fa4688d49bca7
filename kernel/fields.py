"""Model fields shared by the domain packages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


def user_field(
    verbose_name: Any, *, on_delete: Any, null: bool = False
) -> models.ForeignKey[Any, Any]:
    """A building's row pointing at a user account, which lives in the shared schema.

    No database constraint (ADR 0044): a foreign key from a building's table into a shared
    table puts two triggers on the shared table, per key and per building (54,000 on the users
    table at 1,000 buildings), which every provisioning adds to, locks the table for, and
    makes every connection load again. Accounts are deactivated, never deleted
    (``workflows.actions.users``), so the constraint guarded against nothing the platform
    does; ``on_delete`` still tells Django what a deletion would do.
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=null,
        blank=null,
        on_delete=on_delete,
        related_name="+",
        db_constraint=False,
    )


def actor_field(verbose_name: Any) -> models.ForeignKey[Any, Any]:
    """The person who did something to a row (invited, approved, issued...).

    Optional, and kept when the account goes: the audit log holds the name at the time.
    """
    return user_field(verbose_name, on_delete=models.SET_NULL, null=True)
