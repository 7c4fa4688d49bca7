"""The flows' provisioning step: a policy for every scenario."""

from __future__ import annotations

from tenants.provisioning import ProvisioningContext, provisioning_step
from visit_platform.audit.actions import Actor
from workflows.actions.policies import ensure_default_policies


@provisioning_step(order=40)
def create_default_policies(context: ProvisioningContext) -> None:
    ensure_default_policies(Actor.system("provisioning"))
