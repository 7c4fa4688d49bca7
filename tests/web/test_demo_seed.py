"""The demo's sample data: idempotent, one login per role, and a pass that opens."""

from __future__ import annotations

from django_tenants.utils import schema_context

from tenants.models import Building
from tests.conftest import client_for
from visit_platform.access.demo import seed_demo_access
from visit_platform.access.models import Gate, Pass
from visit_platform.directory.choices import Role
from visit_platform.directory.demo import seed_demo_directory
from visit_platform.directory.models import Company, Membership


def test_seeding_twice_creates_nothing_new_but_a_fresh_pass(alpha: Building) -> None:
    with schema_context("alpha"):
        seed_demo_directory()
        seed_demo_access()
        seed_demo_directory()
        demo_pass = seed_demo_access()
        counts = (Company.objects.count(), Gate.objects.count())
        roles = set(Membership.objects.values_list("role", flat=True))
        live = Pass.objects.filter(revoked_at__isnull=True).count()

    assert counts == (5, 2)
    assert {
        Role.PROPERTY_ADMIN,
        Role.COMPANY_ADMIN,
        Role.HOST,
        Role.RECEPTION,
        Role.SECURITY,
    } <= roles
    assert live == 1
    page = client_for(alpha).get(demo_pass.path)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
