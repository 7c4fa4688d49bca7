"""The permission backend: what each role may do in the current building, and nothing more."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants.models import Building, User
from tests.conftest import member
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host, revoke_membership
from visit_platform.directory.backends import MembershipBackend
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Membership

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")

EVERY_PERMISSION = (
    "directory.view_company",
    "directory.change_company",
    "directory.import_company",
    "directory.view_host",
    "directory.change_host",
    "directory.import_host",
    "directory.view_membership",
    "directory.change_membership",
    "audit.view_auditentry",
)


def _fresh(user: User) -> User:
    """The same account loaded again, without memberships cached on the object."""
    return User.objects.get(pk=user.pk)


def _granted(user: User, obj: object = None) -> set[str]:
    return {permission for permission in EVERY_PERMISSION if user.has_perm(permission, obj)}


@pytest.fixture
def acme(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name="Acme 科技")


@pytest.fixture
def globex(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name="Globex 咨询")


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.PROPERTY_ADMIN, set(EVERY_PERMISSION)),
        (
            Role.COMPANY_ADMIN,
            {
                "directory.view_company",
                "directory.view_host",
                "directory.change_host",
                "directory.import_host",
                "directory.view_membership",
                "directory.change_membership",
            },
        ),
        (Role.HOST, set()),
        (Role.RECEPTION, {"directory.view_company", "directory.view_host"}),
        (Role.SECURITY, {"directory.view_company"}),
    ],
)
def test_each_role_holds_exactly_its_permissions_in_the_building(
    alpha: Building, acme: Company, role: Role, expected: set[str]
) -> None:
    company = acme if role in (Role.COMPANY_ADMIN, Role.HOST) else None
    user = member(alpha, f"{role}@alpha.example", role, company)

    assert _granted(user) == expected


def test_backend_lists_no_permissions_for_a_user_without_a_membership(in_alpha: Building) -> None:
    stranger = User.objects.create_user("stranger@example.com", "pw-stranger-1")

    assert MembershipBackend().get_all_permissions(stranger) == set()
    assert stranger.has_perm("directory.view_company") is False


def test_company_admin_may_change_hosts_of_their_own_company_only(
    alpha: Building, acme: Company, globex: Company
) -> None:
    own_host = create_host(SYSTEM, acme, name="张伟", mobile="13812345678")
    other_host = create_host(SYSTEM, globex, name="李娜", mobile="13912345678")
    admin = member(alpha, "boss@acme.example", Role.COMPANY_ADMIN, acme)

    assert admin.has_perm("directory.change_host", own_host) is True
    assert admin.has_perm("directory.change_host", other_host) is False
    assert admin.has_perm("directory.change_host", acme) is True
    assert admin.has_perm("directory.change_host", globex) is False
    assert _granted(admin, globex) == set()


def test_company_admin_may_manage_memberships_of_their_own_company_only(
    alpha: Building, acme: Company, globex: Company
) -> None:
    admin = member(alpha, "boss@acme.example", Role.COMPANY_ADMIN, acme)
    own_host = member(alpha, "staff@acme.example", Role.HOST, acme)
    member(alpha, "staff@globex.example", Role.HOST, globex)
    own = Membership.objects.get(user=own_host)
    other = Membership.objects.get(user__email="staff@globex.example")
    property_admin = Membership.objects.get(user__email="admin@alpha.example")

    assert admin.has_perm("directory.change_membership", own) is True
    assert admin.has_perm("directory.change_membership", other) is False
    assert admin.has_perm("directory.change_membership", property_admin) is False


def test_host_role_grants_nothing_even_on_their_own_company(alpha: Building, acme: Company) -> None:
    host = member(alpha, "staff@acme.example", Role.HOST, acme)

    assert _granted(host, acme) == set()


def test_property_admin_permissions_hold_on_every_company(
    alpha: Building, acme: Company, globex: Company
) -> None:
    admin = _fresh(User.objects.get(email="admin@alpha.example"))

    assert _granted(admin, acme) == set(EVERY_PERMISSION)
    assert _granted(admin, globex) == set(EVERY_PERMISSION)


def test_superuser_without_a_membership_has_no_permission_inside_a_building(
    in_alpha: Building,
) -> None:
    operator = User.objects.create_superuser("root@platform.example", "pw-root-1")

    assert _granted(operator) == set()
    assert operator.get_all_permissions() == set()


def test_superuser_with_a_reception_role_gets_reception_permissions_only(
    alpha: Building, in_alpha: Building
) -> None:
    operator = User.objects.create_superuser("root@platform.example", "pw-root-1")
    member(alpha, "root@platform.example", Role.RECEPTION)

    assert _granted(_fresh(operator)) == {"directory.view_company", "directory.view_host"}


def test_inactive_membership_grants_nothing(alpha: Building, acme: Company) -> None:
    admin = member(alpha, "boss@acme.example", Role.COMPANY_ADMIN, acme)
    revoke_membership(SYSTEM, Membership.objects.get(user=admin))

    assert _granted(_fresh(admin)) == set()
    assert _granted(_fresh(admin), acme) == set()


def test_deactivated_account_has_no_permission_despite_its_membership(alpha: Building) -> None:
    clerk = member(alpha, "clerk@alpha.example", Role.RECEPTION)
    clerk.is_active = False
    clerk.save()

    assert _granted(_fresh(clerk)) == set()


def test_role_held_in_alpha_grants_nothing_in_beta(alpha: Building, beta: Building) -> None:
    clerk = member(alpha, "clerk@alpha.example", Role.PROPERTY_ADMIN)

    connection.set_tenant(beta)
    assert _granted(_fresh(clerk)) == set()
    connection.set_tenant(alpha)
    assert _granted(_fresh(clerk)) == set(EVERY_PERMISSION)


def test_building_roles_grant_nothing_on_the_public_site(alpha: Building) -> None:
    clerk = member(alpha, "clerk@alpha.example", Role.PROPERTY_ADMIN)

    connection.set_schema_to_public()
    assert _granted(_fresh(clerk)) == set()
