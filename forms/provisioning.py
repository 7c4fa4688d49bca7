"""The forms package's provisioning step: a published default form for every scenario."""

from __future__ import annotations

from forms.actions import ensure_default_forms
from tenants.provisioning import ProvisioningContext, provisioning_step
from visit_platform.audit.actions import Actor


@provisioning_step(order=30)
def create_default_forms(context: ProvisioningContext) -> None:
    ensure_default_forms(Actor.system("provisioning"))
