"""Directory actions: companies, hosts and memberships change only through them, each change
is audited, and every refusal leaves the building as it was."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from kernel.errors import DomainError, PermissionDeniedError
from tenants.models import Building, User
from tests.conftest import admin_of, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import (
    create_company,
    create_host,
    grant_membership,
    revoke_membership,
    set_company_active,
    set_host_active,
    update_company,
    update_host,
)
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host, Membership

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def property_admin(alpha: Building, in_alpha: Building) -> Actor:
    return Actor(user=admin_of(alpha), ip_address="10.0.0.7")


@pytest.fixture
def acme(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name="上海云途信息科技有限公司", floors="12-15")


@pytest.fixture
def globex(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name="杭州青木咨询有限公司", floors="8")


def _audit_count() -> int:
    return AuditEntry.objects.count()


def _last_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-id").first()  # type: ignore[return-value]


def _company_admin(alpha: Building, company: Company, email: str = "boss@yuntu.example") -> Actor:
    return Actor(user=member(alpha, email, Role.COMPANY_ADMIN, company))


# --- Companies ------------------------------------------------------------------------------


def test_create_company_stores_cleaned_fields_and_records_company_created(
    property_admin: Actor,
) -> None:
    company = create_company(
        property_admin,
        name="  北京星河律师事务所 ",
        floors="20",
        zone="B座",
        contact_name="赵敏",
        contact_mobile="139 1234 5678",
    )

    stored = Company.objects.get(pk=company.pk)
    assert (
        stored.name,
        stored.floors,
        stored.zone,
        stored.contact_name,
        stored.contact_mobile,
    ) == (
        "北京星河律师事务所",
        "20",
        "B座",
        "赵敏",
        "+8613912345678",
    )
    entry = _last_entry()
    assert (entry.verb, entry.object_type, entry.object_id, entry.object_repr) == (
        "company.created",
        "directory.company",
        str(company.pk),
        "北京星河律师事务所",
    )
    assert (entry.actor_id, entry.actor_label, entry.ip_address) == (
        property_admin.user.pk,  # type: ignore[union-attr]
        "admin@alpha.example",
        "10.0.0.7",
    )


def test_update_company_records_the_changed_fields(property_admin: Actor, acme: Company) -> None:
    update_company(property_admin, acme, name=acme.name, floors="12-16", zone="A座")

    acme.refresh_from_db()
    assert (acme.floors, acme.zone) == ("12-16", "A座")
    entry = _last_entry()
    assert (entry.verb, entry.detail) == ("company.updated", {"fields": ["floors", "zone"]})


def test_update_company_without_a_change_writes_no_audit_entry(
    property_admin: Actor, acme: Company
) -> None:
    before = _audit_count()

    update_company(property_admin, acme, name=acme.name, floors=acme.floors)

    assert _audit_count() == before


@pytest.mark.parametrize("name", ["上海云途信息科技有限公司", "  上海云途信息科技有限公司  "])
def test_company_with_an_existing_name_is_refused_and_nothing_is_written(
    property_admin: Actor, acme: Company, name: str
) -> None:
    before = _audit_count()

    with pytest.raises(DomainError) as refusal:
        create_company(property_admin, name=name)

    assert (refusal.value.code, refusal.value.details) == ("company_exists", {"field": "name"})
    assert Company.objects.count() == 1
    assert _audit_count() == before


def test_company_name_differing_only_in_case_is_a_duplicate(property_admin: Actor) -> None:
    create_company(property_admin, name="Acme Trading")
    before = _audit_count()

    with pytest.raises(DomainError) as refusal:
        create_company(property_admin, name="ACME trading")

    assert refusal.value.code == "company_exists"
    assert list(Company.objects.values_list("name", flat=True)) == ["Acme Trading"]
    assert _audit_count() == before


def test_renaming_a_company_to_another_company_name_is_refused(
    property_admin: Actor, acme: Company, globex: Company
) -> None:
    with pytest.raises(DomainError) as refusal:
        update_company(property_admin, globex, name=acme.name.upper())

    assert refusal.value.code == "company_exists"
    globex.refresh_from_db()
    assert globex.name == "杭州青木咨询有限公司"


def test_company_may_change_the_case_of_its_own_name(property_admin: Actor) -> None:
    company = create_company(property_admin, name="acme trading")

    update_company(property_admin, company, name="Acme Trading")

    assert Company.objects.get().name == "Acme Trading"


@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        ({"name": "   "}, "name_required", "name"),
        ({"name": "X" * 201}, "too_long", "name"),
        ({"name": "Acme", "contact_mobile": "12345"}, "mobile_invalid", "contact_mobile"),
    ],
)
def test_invalid_company_fields_are_refused_naming_the_field(
    property_admin: Actor, values: dict[str, str], code: str, field: str
) -> None:
    with pytest.raises(DomainError) as refusal:
        create_company(property_admin, **values)

    assert (refusal.value.code, refusal.value.details.get("field")) == (code, field)
    assert Company.objects.count() == 0


def test_deactivating_a_company_deactivates_its_hosts_and_memberships_only(
    alpha: Building, property_admin: Actor, acme: Company, globex: Company
) -> None:
    create_host(SYSTEM, acme, name="张伟", mobile="13812345678")
    create_host(SYSTEM, globex, name="李娜", mobile="13912345678")
    boss = member(alpha, "boss@yuntu.example", Role.COMPANY_ADMIN, acme)
    member(alpha, "boss@qingmu.example", Role.COMPANY_ADMIN, globex)

    set_company_active(property_admin, acme, False)

    assert dict(Company.objects.values_list("name", "is_active")) == {
        "上海云途信息科技有限公司": False,
        "杭州青木咨询有限公司": True,
    }
    assert dict(Host.objects.values_list("name", "is_active")) == {"张伟": False, "李娜": True}
    assert dict(
        Membership.objects.filter(company__isnull=False).values_list("user__email", "is_active")
    ) == {"boss@yuntu.example": False, "boss@qingmu.example": True}
    assert User.objects.get(pk=boss.pk).has_perm("directory.view_host") is False
    assert (_last_entry().verb, _last_entry().object_id) == ("company.deactivated", str(acme.pk))


def test_reactivating_a_company_records_company_activated(
    property_admin: Actor, acme: Company
) -> None:
    set_company_active(property_admin, acme, False)

    set_company_active(property_admin, acme, True)

    assert Company.objects.get(pk=acme.pk).is_active is True
    assert _last_entry().verb == "company.activated"


def test_reactivating_a_company_restores_the_hosts_and_roles_that_left_with_it_only(
    alpha: Building, property_admin: Actor, acme: Company
) -> None:
    """Reactivating used to leave every host and role off; but a host or a role ended on
    its own before the company left must not come back with it."""
    stayed = create_host(SYSTEM, acme, name="张伟", mobile="13812345678")
    left_before = create_host(SYSTEM, acme, name="李娜", mobile="13912345678")
    set_host_active(property_admin, left_before, False)
    boss = member(alpha, "boss@yuntu.example", Role.COMPANY_ADMIN, acme)
    revoked = member(alpha, "old.boss@yuntu.example", Role.COMPANY_ADMIN, acme)
    revoke_membership(property_admin, Membership.objects.get(user=revoked))

    set_company_active(property_admin, acme, False)
    set_company_active(property_admin, acme, True)

    assert dict(Host.objects.values_list("pk", "is_active")) == {
        stayed.pk: True,
        left_before.pk: False,
    }
    assert dict(Membership.objects.filter(company=acme).values_list("user_id", "is_active")) == {
        boss.pk: True,
        revoked.pk: False,
    }
    assert User.objects.get(pk=boss.pk).has_perm("directory.view_host", acme) is True
    assert _last_entry().detail == {"hosts": 1, "memberships": 1}


def test_deactivating_an_inactive_company_again_writes_nothing(
    property_admin: Actor, acme: Company
) -> None:
    set_company_active(property_admin, acme, False)
    before = _audit_count()

    set_company_active(property_admin, acme, False)

    assert _audit_count() == before


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, Role.RECEPTION, Role.SECURITY, Role.HOST])
def test_only_the_property_may_create_or_deactivate_companies(
    alpha: Building, acme: Company, role: Role
) -> None:
    user = member(
        alpha, "someone@alpha.example", role, acme if role in ("company_admin", "host") else None
    )
    actor = Actor(user=user)
    before = _audit_count()

    with pytest.raises(PermissionDeniedError) as creating:
        create_company(actor, name="新公司")
    with pytest.raises(PermissionDeniedError) as deactivating:
        set_company_active(actor, acme, False)

    assert (creating.value.code, deactivating.value.code) == ("forbidden", "forbidden")
    assert list(Company.objects.values_list("name", "is_active")) == [(acme.name, True)]
    assert _audit_count() == before


# --- Hosts ----------------------------------------------------------------------------------


def test_create_host_normalises_the_mobile_and_records_host_created(
    property_admin: Actor, acme: Company
) -> None:
    host = create_host(
        property_admin,
        acme,
        name=" 张伟 ",
        mobile="138-1234-5678",
        email="Zhang.Wei@Yuntu.example",
        department="研发部",
    )

    stored = Host.objects.get(pk=host.pk)
    assert (stored.company_id, stored.name, stored.mobile, stored.email, stored.department) == (
        acme.pk,
        "张伟",
        "+8613812345678",
        "zhang.wei@yuntu.example",
        "研发部",
    )
    entry = _last_entry()
    assert (entry.verb, entry.object_type, entry.object_id, entry.detail) == (
        "host.created",
        "directory.host",
        str(host.pk),
        {"company": acme.pk},
    )


@pytest.mark.parametrize(
    "mobile",
    ["13812345678", "138 1234 5678", "+86 138-1234-5678", "008613812345678", "8613812345678"],
)
def test_host_mobile_written_in_any_format_is_a_duplicate_and_nothing_is_written(
    property_admin: Actor, acme: Company, globex: Company, mobile: str
) -> None:
    create_host(SYSTEM, acme, name="张伟", mobile="+8613812345678")
    before = _audit_count()

    with pytest.raises(DomainError) as refusal:
        create_host(property_admin, globex, name="李娜", mobile=mobile)

    assert (refusal.value.code, refusal.value.details) == ("mobile_taken", {"field": "mobile"})
    assert list(Host.objects.values_list("name", "mobile")) == [("张伟", "+8613812345678")]
    assert _audit_count() == before


def test_changing_a_host_mobile_to_another_host_mobile_is_refused(
    property_admin: Actor, acme: Company
) -> None:
    create_host(SYSTEM, acme, name="张伟", mobile="13812345678")
    other = create_host(SYSTEM, acme, name="王芳", mobile="13912345678")

    with pytest.raises(DomainError) as refusal:
        update_host(property_admin, other, name="王芳", mobile="138 1234 5678")

    assert refusal.value.code == "mobile_taken"
    assert Host.objects.get(pk=other.pk).mobile == "+8613912345678"


@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        ({"name": "", "mobile": "13812345678"}, "name_required", "name"),
        ({"name": "张伟", "mobile": "12345"}, "mobile_invalid", "mobile"),
        ({"name": "张伟", "mobile": ""}, "mobile_invalid", "mobile"),
        ({"name": "张伟", "mobile": "010 1234 5678"}, "mobile_invalid", "mobile"),
        (
            {"name": "张伟", "mobile": "13812345678", "email": "not-an-address"},
            "email_invalid",
            "email",
        ),
    ],
)
def test_invalid_host_fields_are_refused_naming_the_field(
    property_admin: Actor, acme: Company, values: dict[str, str], code: str, field: str
) -> None:
    with pytest.raises(DomainError) as refusal:
        create_host(property_admin, acme, **values)

    assert (refusal.value.code, refusal.value.details.get("field")) == (code, field)
    assert Host.objects.count() == 0


def test_update_host_records_the_changed_fields(property_admin: Actor, acme: Company) -> None:
    host = create_host(SYSTEM, acme, name="张伟", mobile="13812345678")

    update_host(property_admin, host, name="张伟", mobile="13812345678", department="市场部")

    assert Host.objects.get(pk=host.pk).department == "市场部"
    entry = _last_entry()
    assert (entry.verb, entry.detail) == ("host.updated", {"fields": ["department"]})


def test_host_cannot_be_added_to_an_inactive_company(property_admin: Actor, acme: Company) -> None:
    set_company_active(property_admin, acme, False)

    with pytest.raises(DomainError) as refusal:
        create_host(property_admin, acme, name="张伟", mobile="13812345678")

    assert refusal.value.code == "company_inactive"
    assert Host.objects.count() == 0


def test_deactivating_a_host_ends_their_host_role_and_records_host_deactivated(
    alpha: Building, property_admin: Actor, acme: Company
) -> None:
    user = member(alpha, "zhang.wei@yuntu.example", Role.HOST, acme)
    host = create_host(SYSTEM, acme, name="张伟", mobile="13812345678")
    Host.objects.filter(pk=host.pk).update(user=user)
    host.refresh_from_db()

    set_host_active(property_admin, host, False)

    assert Host.objects.get(pk=host.pk).is_active is False
    assert Membership.objects.get(user=user).is_active is False
    assert (_last_entry().verb, _last_entry().object_id) == ("host.deactivated", str(host.pk))


def test_reactivating_a_host_records_host_activated(property_admin: Actor, acme: Company) -> None:
    host = create_host(SYSTEM, acme, name="张伟", mobile="13812345678")
    set_host_active(property_admin, host, False)

    set_host_active(property_admin, host, True)

    assert Host.objects.get(pk=host.pk).is_active is True
    assert _last_entry().verb == "host.activated"


def test_company_admin_manages_hosts_of_their_own_company(alpha: Building, acme: Company) -> None:
    actor = _company_admin(alpha, acme)

    host = create_host(actor, acme, name="张伟", mobile="13812345678")
    update_host(actor, host, name="张伟", mobile="13812345678", department="研发部")
    set_host_active(actor, host, False)

    assert list(AuditEntry.objects.filter(actor=actor.user).values_list("verb", flat=True)) == [
        "host.deactivated",
        "host.updated",
        "host.created",
    ]


def test_company_admin_cannot_create_change_or_deactivate_another_company_hosts(
    alpha: Building, acme: Company, globex: Company
) -> None:
    actor = _company_admin(alpha, acme)
    theirs = create_host(SYSTEM, globex, name="李娜", mobile="13912345678")
    before = _audit_count()

    with pytest.raises(PermissionDeniedError):
        create_host(actor, globex, name="王芳", mobile="13712345678")
    with pytest.raises(PermissionDeniedError):
        update_host(actor, theirs, name="改名", mobile="13912345678")
    with pytest.raises(PermissionDeniedError):
        set_host_active(actor, theirs, False)

    assert list(Host.objects.values_list("name", "is_active")) == [("李娜", True)]
    assert _audit_count() == before


# --- Memberships ----------------------------------------------------------------------------


def test_granting_a_role_to_a_new_address_creates_the_account_and_records_membership_granted(
    property_admin: Actor,
) -> None:
    grant = grant_membership(property_admin, email=" New.Clerk@Alpha.example ", role=Role.RECEPTION)

    user = User.objects.get(email="new.clerk@alpha.example")
    assert grant.user_created is True
    assert user.has_usable_password() is False
    assert (grant.membership.user_id, grant.membership.role, grant.membership.company_id) == (
        user.pk,
        "reception",
        None,
    )
    entry = _last_entry()
    assert (entry.verb, entry.object_id, entry.detail) == (
        "membership.granted",
        str(grant.membership.pk),
        {"email": "new.clerk@alpha.example", "role": "reception"},
    )


def test_granting_a_role_twice_keeps_one_membership_and_one_audit_entry(
    property_admin: Actor,
) -> None:
    first = grant_membership(property_admin, email="clerk@alpha.example", role=Role.RECEPTION)
    before = _audit_count()

    second = grant_membership(property_admin, email="CLERK@alpha.example", role=Role.RECEPTION)

    assert second.membership.pk == first.membership.pk
    assert second.user_created is False
    assert Membership.objects.filter(user__email="clerk@alpha.example").count() == 1
    assert User.objects.filter(email__iexact="clerk@alpha.example").count() == 1
    assert _audit_count() == before


def test_granting_a_revoked_role_again_reactivates_it_and_records_it(
    property_admin: Actor,
) -> None:
    grant = grant_membership(property_admin, email="clerk@alpha.example", role=Role.RECEPTION)
    revoke_membership(property_admin, grant.membership)

    again = grant_membership(property_admin, email="clerk@alpha.example", role=Role.RECEPTION)

    assert again.membership.pk == grant.membership.pk
    assert Membership.objects.get(pk=grant.membership.pk).is_active is True
    assert _last_entry().verb == "membership.granted"


def test_building_wide_role_is_granted_without_a_company(
    property_admin: Actor, acme: Company
) -> None:
    grant = grant_membership(
        property_admin, email="guard@alpha.example", role=Role.SECURITY, company=acme
    )

    assert grant.membership.company_id is None


@pytest.mark.parametrize(
    ("role", "company", "code"),
    [
        ("janitor", None, "role_invalid"),
        (Role.HOST, None, "company_required"),
        (Role.COMPANY_ADMIN, None, "company_required"),
    ],
)
def test_bad_grants_are_refused_and_create_no_account(
    property_admin: Actor, role: str, company: None, code: str
) -> None:
    with pytest.raises(DomainError) as refusal:
        grant_membership(property_admin, email="nobody@alpha.example", role=role, company=company)

    assert refusal.value.code == code
    assert not User.objects.filter(email="nobody@alpha.example").exists()


@pytest.mark.parametrize("role", [Role.HOST, Role.COMPANY_ADMIN])
def test_company_admin_may_grant_company_roles_in_their_own_company(
    alpha: Building, acme: Company, role: Role
) -> None:
    actor = _company_admin(alpha, acme)

    grant = grant_membership(actor, email="staff@yuntu.example", role=role, company=acme)

    assert (grant.membership.role, grant.membership.company_id) == (role, acme.pk)
    assert (_last_entry().verb, _last_entry().actor_id) == ("membership.granted", actor.user.pk)  # type: ignore[union-attr]


@pytest.mark.parametrize("role", [Role.HOST, Role.COMPANY_ADMIN])
def test_company_admin_may_not_grant_roles_in_another_company(
    alpha: Building, acme: Company, globex: Company, role: Role
) -> None:
    actor = _company_admin(alpha, acme)

    with pytest.raises(PermissionDeniedError) as refusal:
        grant_membership(actor, email="spy@qingmu.example", role=role, company=globex)

    assert refusal.value.code == "forbidden"
    assert not Membership.objects.filter(company=globex).exists()
    assert not User.objects.filter(email="spy@qingmu.example").exists()


@pytest.mark.parametrize(
    "role", [Role.PROPERTY_ADMIN, Role.RECEPTION, Role.SECURITY, Role.OPERATOR]
)
def test_company_admin_may_never_grant_building_wide_roles(
    alpha: Building, acme: Company, role: Role
) -> None:
    actor = _company_admin(alpha, acme)
    memberships_before = Membership.objects.count()

    with pytest.raises(PermissionDeniedError):
        grant_membership(actor, email="friend@yuntu.example", role=role, company=acme)

    assert not User.objects.filter(email="friend@yuntu.example").exists()
    assert Membership.objects.count() == memberships_before


def test_property_admin_may_not_grant_the_operator_role(property_admin: Actor) -> None:
    with pytest.raises(PermissionDeniedError):
        grant_membership(property_admin, email="op@alpha.example", role=Role.OPERATOR)

    assert not Membership.objects.filter(role=Role.OPERATOR).exists()


def test_company_role_in_an_inactive_company_is_refused(
    property_admin: Actor, acme: Company
) -> None:
    set_company_active(property_admin, acme, False)

    with pytest.raises(DomainError) as refusal:
        grant_membership(property_admin, email="late@yuntu.example", role=Role.HOST, company=acme)

    assert refusal.value.code == "company_inactive"
    assert not Membership.objects.filter(company=acme).exists()


def test_revoking_a_membership_removes_the_permission_and_records_membership_revoked(
    alpha: Building, property_admin: Actor
) -> None:
    clerk = member(alpha, "clerk@alpha.example", Role.RECEPTION)
    membership = Membership.objects.get(user=clerk)

    revoke_membership(property_admin, membership)

    assert Membership.objects.get(pk=membership.pk).is_active is False
    assert User.objects.get(pk=clerk.pk).has_perm("directory.view_host") is False
    entry = _last_entry()
    assert (entry.verb, entry.object_id, entry.detail) == (
        "membership.revoked",
        str(membership.pk),
        {"email": "clerk@alpha.example"},
    )


def test_the_last_property_admin_cannot_be_removed(property_admin: Actor) -> None:
    only_admin = Membership.objects.get(role=Role.PROPERTY_ADMIN)
    before = _audit_count()

    with pytest.raises(DomainError) as refusal:
        revoke_membership(property_admin, only_admin)

    assert refusal.value.code == "last_admin"
    assert Membership.objects.get(pk=only_admin.pk).is_active is True
    assert _audit_count() == before


def test_a_property_admin_can_be_removed_while_another_remains(
    alpha: Building, property_admin: Actor
) -> None:
    member(alpha, "second@alpha.example", Role.PROPERTY_ADMIN)
    first = Membership.objects.get(user__email="admin@alpha.example")

    revoke_membership(property_admin, first)

    assert list(
        Membership.objects.filter(role=Role.PROPERTY_ADMIN, is_active=True).values_list(
            "user__email", flat=True
        )
    ) == ["second@alpha.example"]


def test_company_admin_may_not_revoke_a_property_admin(alpha: Building, acme: Company) -> None:
    actor = _company_admin(alpha, acme)
    member(alpha, "second@alpha.example", Role.PROPERTY_ADMIN)
    target = Membership.objects.get(user__email="second@alpha.example")

    with pytest.raises(PermissionDeniedError):
        revoke_membership(actor, target)

    assert Membership.objects.get(pk=target.pk).is_active is True


def test_company_admin_may_revoke_hosts_of_their_own_company_only(
    alpha: Building, acme: Company, globex: Company
) -> None:
    actor = _company_admin(alpha, acme)
    member(alpha, "staff@yuntu.example", Role.HOST, acme)
    member(alpha, "staff@qingmu.example", Role.HOST, globex)
    own = Membership.objects.get(user__email="staff@yuntu.example")
    theirs = Membership.objects.get(user__email="staff@qingmu.example")

    revoke_membership(actor, own)
    with pytest.raises(PermissionDeniedError):
        revoke_membership(actor, theirs)

    assert Membership.objects.get(pk=own.pk).is_active is False
    assert Membership.objects.get(pk=theirs.pk).is_active is True
