"""Every change to the directory: companies, hosts and memberships."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, DomainError, PermissionDeniedError
from tenants.models import User
from visit_platform.audit.actions import Actor, record, record_many
from visit_platform.directory.backends import forget_memberships
from visit_platform.directory.choices import COMPANY_ROLES, Role
from visit_platform.directory.cleaning import (
    COMPANY_FIELDS,
    HOST_FIELDS,
    clean_company_fields,
    clean_host_fields,
)
from visit_platform.directory.imports import ImportPreview, ImportResult, preview_rows_again
from visit_platform.directory.invitations import schedule_invitation
from visit_platform.directory.models import Company, Host, Membership
from visit_platform.directory.roles import (
    CHANGE_COMPANY,
    CHANGE_HOST,
    CHANGE_MEMBERSHIP,
    IMPORT_COMPANIES,
    IMPORT_HOSTS,
)


def require(actor: Actor, permission: str, obj: Any = None) -> None:
    """Refuse unless the actor may do this here. System actors (timers, commands) may."""
    if actor.user is None:
        return
    if not actor.user.has_perm(permission, obj):
        raise PermissionDeniedError(
            "forbidden", _("Your role in this building does not allow this.")
        )


# --- Companies ------------------------------------------------------------------------------


def _refuse_duplicate_company_name(name: str, exclude_pk: int | None = None) -> None:
    duplicates = Company.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        duplicates = duplicates.exclude(pk=exclude_pk)
    if duplicates.exists():
        raise DomainError(
            "company_exists", _("A company with this name already exists."), field="name"
        )


def _save_changes(actor: Actor, event: str, obj: Company | Host, cleaned: dict[str, str]) -> None:
    """Write the fields whose cleaned value differs, and audit which ones (an edit that
    changes nothing writes nothing)."""
    changed = {f: v for f, v in cleaned.items() if getattr(obj, f) != v}
    if changed:
        for field, value in changed.items():
            setattr(obj, field, value)
        obj.save()
        record(actor, event, obj, fields=sorted(changed))


@transaction.atomic
def create_company(actor: Actor, **values: Any) -> Company:
    require(actor, CHANGE_COMPANY)
    cleaned = clean_company_fields(values)
    _refuse_duplicate_company_name(cleaned["name"])
    company = Company.objects.create(**cleaned)
    record(actor, "company.created", company)
    return company


@transaction.atomic
def update_company(actor: Actor, company: Company, **values: Any) -> Company:
    require(actor, CHANGE_COMPANY, company)
    cleaned = clean_company_fields(values)
    _refuse_duplicate_company_name(cleaned["name"], exclude_pk=company.pk)
    _save_changes(actor, "company.updated", company, cleaned)
    return company


@transaction.atomic
def set_company_active(actor: Actor, company: Company, is_active: bool) -> Company:
    """Deactivating a company also deactivates its hosts and its people's roles: a company
    that has left the building can no longer be visited or act in it."""
    require(actor, CHANGE_COMPANY, company)
    if company.is_active == is_active:
        return company
    company.is_active = is_active
    company.save(update_fields=["is_active", "updated_at"])
    if not is_active:
        _unbind_wechat(actor, company.hosts.all(), "company_deactivated")
        hosts = company.hosts.filter(is_active=True).update(
            is_active=False, deactivated_with_company=True
        )
        roles = company.memberships.filter(is_active=True).update(
            is_active=False, deactivated_with_company=True
        )
    else:
        # Only what left with the company comes back: a host or a role ended on its own
        # before stays ended.
        hosts = company.hosts.filter(deactivated_with_company=True).update(
            is_active=True, deactivated_with_company=False
        )
        roles = company.memberships.filter(deactivated_with_company=True).update(
            is_active=True, deactivated_with_company=False
        )
    record(
        actor,
        "company.activated" if is_active else "company.deactivated",
        company,
        hosts=hosts,
        memberships=roles,
    )
    return company


# --- Hosts ----------------------------------------------------------------------------------


def _refuse_duplicate_mobile(mobile: str, exclude_pk: int | None = None) -> None:
    duplicates = Host.objects.filter(mobile=mobile)
    if exclude_pk is not None:
        duplicates = duplicates.exclude(pk=exclude_pk)
    if duplicates.exists():
        raise DomainError(
            "mobile_taken",
            _("This mobile number already belongs to a host in this building."),
            field="mobile",
        )


@transaction.atomic
def create_host(actor: Actor, company: Company, **values: Any) -> Host:
    require(actor, CHANGE_HOST, company)
    if not company.is_active:
        raise DomainError("company_inactive", _("This company is no longer active."))
    cleaned = clean_host_fields(values)
    _refuse_duplicate_mobile(cleaned["mobile"])
    host = Host.objects.create(company=company, **cleaned)
    record(actor, "host.created", host, company=company.pk)
    return host


@transaction.atomic
def update_host(actor: Actor, host: Host, **values: Any) -> Host:
    require(actor, CHANGE_HOST, host)
    cleaned = clean_host_fields(values)
    _refuse_duplicate_mobile(cleaned["mobile"], exclude_pk=host.pk)
    if cleaned["mobile"] != host.mobile:
        # The WeChat was bound by a code sent to the old number, which may now be someone
        # else's: the employee binds again with the new one.
        _unbind_wechat(actor, Host.objects.filter(pk=host.pk), "mobile_changed")
        host.refresh_from_db()
    _save_changes(actor, "host.updated", host, cleaned)
    return host


@transaction.atomic
def set_host_active(actor: Actor, host: Host, is_active: bool) -> Host:
    require(actor, CHANGE_HOST, host)
    if host.is_active == is_active:
        return host
    if not is_active:
        _unbind_wechat(actor, Host.objects.filter(pk=host.pk), "host_deactivated")
        host.refresh_from_db()
    host.is_active = is_active
    host.deactivated_with_company = False
    host.save(update_fields=["is_active", "deactivated_with_company", "updated_at"])
    if not is_active and host.user_id:
        Membership.objects.filter(
            user_id=host.user_id, role=Role.HOST, company_id=host.company_id
        ).update(is_active=False, deactivated_with_company=False)
    record(actor, "host.activated" if is_active else "host.deactivated", host)
    return host


# --- Hosts' WeChat (5.1) -------------------------------------------------------------------

MAX_OPENID_LENGTH = 64


@transaction.atomic
def bind_host_wechat(actor: Actor, host: Host, openid: str) -> Host:
    """Bind a WeChat user (their openid under the building's Official Account) to an
    employee, so that approvals and arrival notices reach them in WeChat.

    The caller has proved the employee's mobile (an SMS code): that is the authority, so
    this checks no role. One openid is one employee: bound to another host before (a shared
    phone handed on), it moves here; a host binding a new WeChat replaces the old one.
    """
    openid = openid.strip()
    if not openid or len(openid) > MAX_OPENID_LENGTH:
        raise DomainError("openid_invalid", _("This WeChat user is not valid."))
    host = Host.objects.select_for_update().select_related("company").get(pk=host.pk)
    if not host.is_active or not host.company.is_active:
        raise DomainError("host_inactive", _("This employee is no longer active here."))
    if host.wechat_openid == openid:
        return host
    _unbind_wechat(actor, Host.objects.filter(wechat_openid=openid), "bound_elsewhere")
    replaced = bool(host.wechat_openid)
    host.wechat_openid = openid
    host.wechat_bound_at = timezone.now()
    try:
        with transaction.atomic():
            host.save(update_fields=["wechat_openid", "wechat_bound_at", "updated_at"])
    except IntegrityError as error:  # the same WeChat bound to another employee meanwhile
        raise ConflictError(
            "openid_taken", _("This WeChat was just bound to someone else; try again.")
        ) from error
    record(actor, "host.wechat_bound", host, replaced=replaced)
    return host


@transaction.atomic
def unbind_host_wechat(actor: Actor, host: Host) -> Host:
    """The employee unbinds their WeChat (from the staff page): notices go by SMS again."""
    _unbind_wechat(actor, Host.objects.filter(pk=host.pk), "unbound_by_host")
    host.refresh_from_db()
    return host


def _unbind_wechat(actor: Actor, hosts: QuerySet[Host], why: str) -> int:
    """Clear the WeChat binding of ``hosts`` (those that have one), audited with ``why``."""
    bound = list(hosts.exclude(wechat_openid="").select_for_update())
    if not bound:
        return 0
    Host.objects.filter(pk__in=[host.pk for host in bound]).update(
        wechat_openid="", wechat_bound_at=None, updated_at=timezone.now()
    )
    record_many(actor, "host.wechat_unbound", bound, reason=why)
    return len(bound)


# --- Memberships ----------------------------------------------------------------------------


@dataclass
class Grant:
    membership: Membership
    user_created: bool
    refused_revoked: bool = False


def _user_for_email(email: str) -> tuple[User, bool]:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise DomainError(
            "email_invalid", _("Enter a valid e-mail address."), field="email"
        ) from error
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email, None), True


def _require_may_manage(actor: Actor, role: str, company: Company | None) -> None:
    """Company roles are managed by the company's admins and the property; building-wide
    roles by the property only; the operator role by platform operators only."""
    if role in COMPANY_ROLES:
        require(actor, CHANGE_MEMBERSHIP, company)
    else:
        require(actor, CHANGE_COMPANY)
    if role == Role.OPERATOR and actor.user is not None and not actor.user.is_superuser:
        raise PermissionDeniedError(
            "forbidden", _("Only platform operators can grant the operator role.")
        )


@transaction.atomic
def grant_membership(
    actor: Actor,
    *,
    email: str,
    role: str,
    company: Company | None = None,
    regrant_revoked: bool = True,
) -> Grant:
    """Give the person with this e-mail a role here, creating their account if needed.

    Granting a role someone already holds is harmless and returns the existing membership,
    so imports can be run twice. With ``regrant_revoked`` False (an import) a role someone
    revoked stays revoked (``refused_revoked``): only a person grants it again.
    """
    if role not in Role.values:
        raise DomainError("role_invalid", _("Unknown role."), field="role")
    if role in COMPANY_ROLES and company is None:
        raise DomainError("company_required", _("This role needs a company."), field="company")
    if role not in COMPANY_ROLES:
        company = None
    _require_may_manage(actor, role, company)
    if company is not None and not company.is_active:
        raise DomainError("company_inactive", _("This company is no longer active."))
    user, user_created = _user_for_email(email)
    membership, created = Membership.objects.get_or_create(user=user, role=role, company=company)
    if not membership.is_active:
        if membership.revoked_at is not None and not regrant_revoked:
            return Grant(membership, user_created, refused_revoked=True)
        membership.is_active = True
        membership.deactivated_with_company = False
        membership.revoked_at = None
        membership.save(update_fields=["is_active", "deactivated_with_company", "revoked_at"])
        created = True
    if created:
        record(actor, "membership.granted", membership, email=user.email, role=role)
        if not user.has_usable_password():
            schedule_invitation(user)
    forget_memberships(user)
    return Grant(membership, user_created)


@transaction.atomic
def revoke_membership(actor: Actor, membership: Membership) -> None:
    _require_may_manage(actor, membership.role, membership.company)
    if not membership.is_active:
        return
    if membership.role == Role.PROPERTY_ADMIN:
        others = Membership.objects.filter(role=Role.PROPERTY_ADMIN, is_active=True)
        if not others.exclude(pk=membership.pk).exists():
            raise DomainError(
                "last_admin", _("The building must keep at least one property admin.")
            )
    membership.is_active = False
    membership.deactivated_with_company = False
    membership.revoked_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_with_company", "revoked_at"])
    record(actor, "membership.revoked", membership, email=membership.user.email)
    forget_memberships(membership.user)


@transaction.atomic
def resend_invitation(actor: Actor, membership: Membership) -> None:
    """E-mail the person a fresh set-password link, if they have not chosen a password."""
    _require_may_manage(actor, membership.role, membership.company)
    if membership.user.has_usable_password():
        raise DomainError(
            "already_active", _("This person has already chosen a password and can sign in.")
        )
    schedule_invitation(membership.user)
    record(actor, "membership.invitation_sent", membership, email=membership.user.email)


# --- Spreadsheet imports (previews in directory.imports) ---------------------------------------


@transaction.atomic
def apply_company_import(actor: Actor, preview: ImportPreview) -> ImportResult:
    """Write every row that is valid now; each company gets its admin account if named."""
    require(actor, IMPORT_COMPANIES)
    require(actor, CHANGE_COMPANY)
    fresh = preview_rows_again(preview)
    result = ImportResult(0, 0, 0, skipped=fresh.count("error"))
    for row in fresh.valid_rows:
        fields = {f: row.values[f] for f in COMPANY_FIELDS}
        if row.outcome == "create":
            company = create_company(actor, **fields)
            result.created += 1
        else:
            company = Company.objects.get(name__iexact=fields["name"])
            if row.outcome == "update":
                update_company(actor, company, **fields)
                result.updated += 1
            else:
                result.unchanged += 1
        if row.values.get("admin_email"):
            grant = grant_membership(
                actor,
                email=row.values["admin_email"],
                role=Role.COMPANY_ADMIN,
                company=company,
                regrant_revoked=False,
            )
            if grant.refused_revoked:
                result.still_revoked.append(grant.membership.user.email)
            if grant.user_created:
                result.new_accounts.append(grant.membership.user.email)
    record(actor, "directory.companies_imported", None, filename=preview.filename, **asdict(result))
    return result


@transaction.atomic
def apply_host_import(actor: Actor, preview: ImportPreview) -> ImportResult:
    require(actor, IMPORT_HOSTS)
    fresh = preview_rows_again(preview)
    result = ImportResult(0, 0, 0, skipped=fresh.count("error"))
    companies = {c.pk: c for c in Company.objects.filter(is_active=True)}
    for row in fresh.valid_rows:
        company = companies[int(row.values["company_id"])]
        require(actor, CHANGE_HOST, company)
        fields = {f: row.values[f] for f in HOST_FIELDS}
        if row.outcome == "create":
            create_host(actor, company, **fields)
            result.created += 1
        elif row.outcome == "update":
            host = Host.objects.get(mobile=fields["mobile"])
            update_host(actor, host, **fields)
            set_host_active(actor, host, True)
            result.updated += 1
        else:
            result.unchanged += 1
    record(actor, "directory.hosts_imported", None, filename=preview.filename, **asdict(result))
    return result


# --- Sign-in --------------------------------------------------------------------------------


@transaction.atomic
def record_sign_in_lockout(
    *,
    username: str,
    ip_address: str | None,
    by_account: bool,
    failures: int,
    cool_off_seconds: int,
) -> None:
    """Audit that sign-in was paused for an account (typed, whether it exists or not) or for a
    client after too many wrong passwords (visit_platform/directory/sign_in.py)."""
    actor = Actor(user=None, ip_address=ip_address, label="sign-in throttle")
    record(
        actor,
        "sign_in.locked_out",
        username=username,
        locked="account" if by_account else "client",
        failures=failures,
        cool_off_seconds=cool_off_seconds,
    )
