"""Buildings, their domains and the user accounts shared by all buildings."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import models as auth_models
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_public_schema_name

from kernel.privacy import EncryptedTextField
from tenants.db import current_schema


class OfficialAccount(models.Model):
    """A WeChat Official Account (公众号) of a property company, serving one or more of its
    buildings (each building has at most one: ``Building.wechat_account``).

    It lives in the public schema because WeChat calls one URL per account
    (``/wechat/<appid>/`` on the platform's public host), before any building is known. The
    secrets are encrypted at rest and shown back masked only (``masked``).
    """

    name = models.CharField(_("name"), max_length=100)
    appid = models.CharField(_("AppID"), max_length=32, unique=True)
    secret = EncryptedTextField(_("AppSecret"))
    token = EncryptedTextField(_("token"))
    encoding_aes_key = EncryptedTextField(_("EncodingAESKey"), blank=True)
    require_encryption = models.BooleanField(
        _("safe mode only"),
        default=True,
        help_text=_("Refuse messages that are not encrypted (WeChat's safe mode)."),
    )
    # Template message ids by notice (a notification purpose: ``approval_request``,
    # ``pass_link``, ``decision``, ``reminder``, ``arrival``); a notice without one goes by SMS.
    templates = models.JSONField(_("template ids"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("WeChat Official Account")
        verbose_name_plural = _("WeChat Official Accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.appid})"

    def template_id(self, notice: str) -> str:
        value = self.templates.get(notice) if isinstance(self.templates, dict) else None
        return value if isinstance(value, str) else ""


class Building(TenantMixin):
    """One office building, campus or park: the tenant, with a PostgreSQL schema of its own.

    Domain code calls it a building, never a "tenant": in the seeds a tenant (业主) is a company.
    """

    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    default_language = models.CharField(_("default language"), max_length=10, default="zh-hans")
    retention_days = models.PositiveIntegerField(
        _("retention (days)"),
        default=180,
        help_text=_("Visitors' personal data is anonymised this many days after their visit."),
    )
    anti_passback = models.BooleanField(
        _("anti-passback"),
        default=False,
        help_text=_("Refuse a second entry on the same pass until it has exited."),
    )
    overstay_grace_minutes = models.PositiveIntegerField(
        _("overstay grace (minutes)"),
        default=30,
        help_text=_(
            "A visitor still inside this long after their visit's window has ended is an "
            "overstay: their host is told."
        ),
    )
    day_end_time = models.TimeField(
        _("end of day"),
        default=time(23, 0),
        help_text=_(
            "Local time at which visits whose window has ended that day, and who were not seen "
            "leaving, are checked out."
        ),
    )
    overstay_escalation_minutes = models.PositiveIntegerField(
        _("overstay escalation (minutes)"),
        default=30,
        help_text=_(
            "If an overstay is still open this long after the host was told (the visitor has "
            "not left, nobody extended the visit), it becomes an alert for security."
        ),
    )
    overstay_tells_visitor = models.BooleanField(
        _("tell the visitor of an overstay"),
        default=False,
        help_text=_("Besides the host, text the visitor that their visit has ended."),
    )
    gate_silence_seconds = models.PositiveIntegerField(
        _("gate silence alert (seconds)"),
        default=120,
        help_text=_(
            "A gate agent not heard from, or a controller its agent cannot reach, for this "
            "long raises an alert."
        ),
    )
    denial_burst_count = models.PositiveIntegerField(
        _("refusals that make a burst"),
        default=5,
        help_text=_("This many refusals at one gate within the burst window raise an alert."),
    )
    denial_burst_seconds = models.PositiveIntegerField(_("burst window (seconds)"), default=60)
    wechat_account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("WeChat Official Account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buildings",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # Provisioning creates the schema itself, inside one transaction with everything else.
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")

    def __str__(self) -> str:
        return self.name

    @property
    def slug(self) -> str:
        return str(self.schema_name)

    def local_time(self, moment: datetime) -> datetime:
        """``moment`` on the building's clock: the time texts to its people name."""
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = timezone.get_default_timezone()
        return timezone.localtime(moment, zone)

    def last_day_end(self, moment: datetime) -> datetime:
        """The latest moment at or before ``moment`` when the building's clock read its
        ``day_end_time``: the end of the last day that is over."""
        local = self.local_time(moment)
        end = datetime.combine(local.date(), self.day_end_time, tzinfo=local.tzinfo)
        if end > local:
            end = datetime.combine(
                local.date() - timedelta(days=1), self.day_end_time, tzinfo=local.tzinfo
            )
        return end

    def next_day_end(self, moment: datetime) -> datetime:
        """The first moment after ``moment`` when the building's clock reads its
        ``day_end_time``: the end of the day that is running."""
        last = self.last_day_end(moment)
        return datetime.combine(
            last.date() + timedelta(days=1), self.day_end_time, tzinfo=last.tzinfo
        )


class Domain(DomainMixin):
    """A host name that routes to a building (``<slug>.<BASE_DOMAIN>``)."""

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


class UserManager(BaseUserManager["User"]):
    """Users log in with their e-mail address."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in. Shared by all buildings; what they may do in one comes from
    that building's Membership rows.

    Inside a building, being a superuser grants nothing: platform operators run the public
    site, and see a building's data only through a membership there, which is audited like
    anyone else's.
    """

    username = None  # type: ignore[assignment,misc]
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    preferred_language = models.CharField(_("language"), max_length=10, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        if current_schema() == get_public_schema_name():
            return super().has_perm(perm, obj)
        return self.is_active and bool(auth_models._user_has_perm(self, perm, obj))  # type: ignore[attr-defined]

    def has_module_perms(self, app_label: str) -> bool:
        if current_schema() == get_public_schema_name():
            return super().has_module_perms(app_label)
        return False


class FaceRecordCensus(models.Model):
    """One count of the face records the platform holds, over every building (the 2025
    face-recognition rules ask for a filing once face data of 100,000 people is held). What
    counts is defined in ADR 0036; the per-building numbers are in ``counts``. It lives in
    the public schema: only the operator sees it, and it holds numbers, never people."""

    counted_at = models.DateTimeField(_("counted at"), db_index=True)
    total = models.PositiveIntegerField(_("people with face records"))
    threshold = models.PositiveIntegerField(_("alert threshold"))
    # Set when this census crossed the threshold and the operator was e-mailed: once per
    # crossing, not once a day.
    alerted_at = models.DateTimeField(_("operator alerted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("face record census")
        verbose_name_plural = _("face record censuses")
        ordering = ["-counted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.total} ({self.counted_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def over_threshold(self) -> bool:
        return self.total >= self.threshold


class FaceRecordCount(models.Model):
    """One building's part of a census: numbers only."""

    census = models.ForeignKey(
        FaceRecordCensus,
        verbose_name=_("census"),
        on_delete=models.CASCADE,
        related_name="counts",
    )
    building = models.ForeignKey(
        Building,
        verbose_name=_("building"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    schema_name = models.CharField(_("schema"), max_length=63)
    photos = models.PositiveIntegerField(_("visitors with a desk photo"))
    form_photos = models.PositiveIntegerField(_("visits with a photo in their form"))
    face_matches = models.PositiveIntegerField(_("face-match reports"))
    people = models.PositiveIntegerField(_("people with face records"))

    class Meta:
        verbose_name = _("face records of a building")
        verbose_name_plural = _("face records by building")
        ordering = ["schema_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["census", "schema_name"], name="face_record_count_once_per_building"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schema_name}: {self.people}"
