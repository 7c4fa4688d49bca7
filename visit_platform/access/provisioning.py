"""The access package's provisioning step: the building's first signing key."""

from __future__ import annotations

from tenants.provisioning import ProvisioningContext, provisioning_step
from visit_platform.access.actions import rotate_signing_key
from visit_platform.audit.actions import Actor


@provisioning_step(order=20)
def create_first_signing_key(context: ProvisioningContext) -> None:
    rotate_signing_key(Actor.system("provisioning"))
