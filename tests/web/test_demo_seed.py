"""The demo's sample data: idempotent, one login per role, and a pass that opens."""

from __future__ import annotations

from django_tenants.utils import schema_context

from forms.demo import seed_demo_forms
from forms.models import FormDefinition
from tenants.models import Building, User
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


def test_demo_forms_are_published_and_a_walk_in_was_registered_with_one(alpha: Building) -> None:
    from visit_platform.visits.models import Visit

    with schema_context("alpha"):
        seed_demo_directory()
        path = seed_demo_forms()
        seed_demo_forms()
        forms = FormDefinition.objects.filter(company=None).count()
        registered = list(Visit.objects.filter(form_version__isnull=False))

    assert forms == 5
    assert len(registered) == 1
    assert registered[0].answers["id_document"]["encrypted"].startswith("v1:")
    assert client_for(alpha).get(path).status_code == 200


def test_the_demo_has_a_request_for_the_host_and_a_walk_in_for_reception(alpha: Building) -> None:
    from workflows.demo import seed_demo_flows

    with schema_context("alpha"):
        seed_demo_directory()
        started = seed_demo_flows()
        again = seed_demo_flows()
    host = User.objects.get(email="zhang.wei@demo.example.com")
    reception = User.objects.get(email="reception@demo.example.com")

    assert (started, again) == (2, 0)
    host_tasks = client_for(alpha, host).get("/tasks/").content.decode()
    desk_tasks = client_for(alpha, reception).get("/tasks/").content.decode()
    assert host_tasks.count("data-task=") == 1
    assert desk_tasks.count("data-task=") == 1
