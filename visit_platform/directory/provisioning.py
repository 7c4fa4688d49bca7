"""The directory's provisioning step: the building's first property admin."""

from __future__ import annotations

from tenants.provisioning import ProvisioningContext, provisioning_step
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Membership


@provisioning_step(order=0)
def grant_first_property_admin(context: ProvisioningContext) -> None:
    membership, _created = Membership.objects.get_or_create(
        user=context.admin, role=Role.PROPERTY_ADMIN, company=None
    )
    actor = Actor.system("provisioning")
    record(actor, "building.provisioned", None, building=context.building.name)
    record(
        actor, "membership.granted", membership, email=context.admin.email, role=Role.PROPERTY_ADMIN
    )
