"""Companies in the building, their hosts, and users' memberships (roles) in the building."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from kernel.fields import user_field
from visit_platform.directory.choices import COMPANY_ROLES, Role


class Company(models.Model):
    """An organisation occupying the building (业主单位 / 入驻公司). Its employees are hosts."""

    name = models.CharField(_("name"), max_length=200)
    floors = models.CharField(_("floors"), max_length=100, blank=True)
    zone = models.CharField(_("zone"), max_length=100, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_mobile = models.CharField(_("contact mobile"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="company_name_unique_ci"),
        ]
        permissions = [("import_company", "Can import companies")]

    def __str__(self) -> str:
        return self.name


class Host(models.Model):
    """An employee of a company who can be visited. Visitors find a host by mobile number,
    so the (normalised, E.164) mobile is unique in the building."""

    company = models.ForeignKey(
        Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="hosts"
    )
    name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=32, unique=True)
    email = models.EmailField(_("e-mail"), blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    user = user_field(_("user account"), on_delete=models.SET_NULL, null=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The host's WeChat (5.1): their openid under the building's Official Account, bound by
    # OAuth plus an SMS code to ``mobile``. Approvals and arrival notices go there.
    wechat_openid = models.CharField(max_length=64, blank=True, editable=False)
    wechat_bound_at = models.DateTimeField(_("WeChat bound at"), null=True, blank=True)
    # Deactivated because their company was: reactivating the company brings back these
    # hosts, and not those deactivated on their own before.
    deactivated_with_company = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("host")
        verbose_name_plural = _("hosts")
        ordering = ["company__name", "name"]
        permissions = [("import_host", "Can import hosts")]
        constraints = [
            # One WeChat user is one employee: an openid bound twice would decide for two.
            models.UniqueConstraint(
                fields=["wechat_openid"],
                condition=~models.Q(wechat_openid=""),
                name="host_wechat_openid_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in this building, optionally for one company.

    Everything a user may do in a building follows from these rows: a role held in one
    building grants nothing in another, because each building's rows live in its own schema.
    """

    user = user_field(_("user"), on_delete=models.CASCADE)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    is_active = models.BooleanField(_("active"), default=True)
    # As for hosts: reactivating the company restores the roles it took away, only those.
    deactivated_with_company = models.BooleanField(default=False, editable=False)
    # Revoked by someone (not with the company): re-importing the company file does not
    # grant it again; only granting it by hand does.
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "company"],
                name="membership_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(role__in=sorted(COMPANY_ROLES), company__isnull=False)
                    | (~models.Q(role__in=sorted(COMPANY_ROLES)) & models.Q(company__isnull=True))
                ),
                name="membership_company_matches_role",
            ),
        ]

    def __str__(self) -> str:
        role = Role(self.role).label
        return f"{role} · {self.company}" if self.company_id else str(role)

    @property
    def is_company_scoped(self) -> bool:
        return self.role in COMPANY_ROLES
