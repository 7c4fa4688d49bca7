"""Model fields shared by the domain packages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


def actor_field(verbose_name: Any) -> models.ForeignKey[Any, Any]:
    """The person who did something to a row (invited, approved, issued...).

    Optional, and kept when the account goes: the audit log holds the name at the time.
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
