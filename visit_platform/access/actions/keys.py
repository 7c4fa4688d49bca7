"""Signing keys: rotating them, and signing pass tokens with the current one."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel import pass_tokens as tokens
from kernel.errors import DomainError
from kernel.process_cache import BUILDINGS, ProcessCache
from tenants.db import current_schema
from visit_platform.access.models import Pass, SigningKey
from visit_platform.audit.actions import Actor, record

ROTATING_TOKEN_SECONDS = 60

# Keys never change once created, so processes may keep them as long as they are used:
# (schema, key id, public key) -> key. Room for every building's current key and as many again
# (just after rotations).
_private_keys: ProcessCache[Ed25519PrivateKey] = ProcessCache(
    math.inf, (), max_entries=2 * BUILDINGS
)


@transaction.atomic
def rotate_signing_key(actor: Actor) -> SigningKey:
    """Create a new signing key and retire the current one. Retired keys still verify the
    tokens they signed (printed slips), but sign nothing new."""
    now = timezone.now()
    latest = SigningKey.objects.select_for_update().order_by("-key_id").first()
    key_id = (latest.key_id + 1) if latest else 1
    if key_id > 0xFFFF:
        raise DomainError("key_ids_exhausted", _("No more key ids are available."))
    SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now)
    private = tokens.generate_private_key()
    key = SigningKey.objects.create(
        key_id=key_id,
        private_key=tokens.private_key_to_pem(private),
        public_key=tokens.public_key_to_text(private.public_key()),
    )
    record(actor, "signing_key.rotated", key, key_id=key_id)
    return key


def _signing_key() -> tuple[int, Ed25519PrivateKey]:
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-key_id").first()
    if key is None:
        raise DomainError("no_signing_key", _("This building has no signing key."))
    # The public key names the key pair itself: a building dropped and made again under the
    # same name starts its key ids at 1 again, with other keys.
    private = _private_keys.get(
        (current_schema(), key.key_id, key.public_key),
        lambda: tokens.private_key_from_pem(key.private_key),
    )
    assert private is not None  # the loader always gives a key
    return key.key_id, private


def pass_token(pass_record: Pass, kind: tokens.TokenKind, now: datetime | None = None) -> str:
    """A signed QR token for the pass: a slip token lasts the pass's window, a rotating one
    about a minute (the visitor's page fetches a fresh one every 30 seconds)."""
    now = now or timezone.now()
    not_after = pass_record.valid_until
    if kind == tokens.TokenKind.ROTATING:
        not_after = min(not_after, now + timedelta(seconds=ROTATING_TOKEN_SECONDS))
    key_id, private = _signing_key()
    claims = tokens.TokenClaims(
        kind=kind,
        building_tag=tokens.building_tag(current_schema()),
        key_id=key_id,
        pass_id=pass_record.pk,
        not_after=int(not_after.timestamp()),
    )
    return tokens.sign_token(claims, private)
