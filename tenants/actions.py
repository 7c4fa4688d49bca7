"""Actions on buildings: provisioning a new one."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import schema_context

from kernel.errors import DomainError
from tenants.cloning import clone_template
from tenants.db import tenant_connection
from tenants.models import Building, Domain, User
from tenants.provisioning import (
    ProvisioningContext,
    ensure_template_schema,
    migrate_new_schema,
    registered_steps,
    slug_problem,
)

_SLUG_MESSAGES = {
    "slug_invalid": gettext_lazy(
        "The slug names the building's sub-domain: 2 to 41 lower-case letters and digits, "
        "starting with a letter (no _ or -), e.g. towera."
    ),
    "slug_reserved": gettext_lazy("This slug is reserved for the platform."),
    "slug_taken": gettext_lazy("A building with this slug already exists."),
}


@dataclass
class ProvisionedBuilding:
    building: Building
    domain: Domain
    admin: User
    admin_created: bool
    notes: list[str]


def building_domain(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


# The port of the request being served, in development only (``DevelopmentPortMiddleware``).
request_port: ContextVar[str] = ContextVar("request_port", default="")


def building_url(schema_name: str, path: str) -> str:
    """An absolute address on the building's domain, for links sent by text or e-mail."""
    return f"{settings.PUBLIC_SCHEME}://{building_domain(schema_name)}{_public_port()}{path}"


def platform_url(path: str) -> str:
    """An absolute address on the platform's own (public) host: the WeChat callback."""
    return f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{_public_port()}{path}"


def _public_port() -> str:
    """``:port`` for links, or nothing on the scheme's own port. ``PUBLIC_PORT`` always wins.
    Without it, a development server (``runserver 8080``) is reached on the port its request
    came in on, so links made while serving a page open there too. Production never takes
    the port from a request: a forged Host header must not steer where texted links point."""
    if settings.PUBLIC_PORT:
        return f":{settings.PUBLIC_PORT}"
    port = request_port.get() if settings.DEBUG else ""
    return f":{port}" if port else ""


def create_building(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str | None = None,
    time_zone: str = "Asia/Shanghai",
    default_language: str = "zh-hans",
    retention_days: int = 180,
) -> ProvisionedBuilding:
    """Create a building: its schema (cloned from the template), its domain, its first
    property admin, and whatever every registered provisioning step adds.

    All of it happens in one transaction, so a refused or failed provisioning leaves no
    schema, domain, user or row behind. With ``TENANT_CREATION_FAKES_MIGRATIONS`` off (the
    benchmarks' and tests' reference), the schema is made by running every migration instead.
    """
    slug = slug.strip()
    problem = slug_problem(slug)
    if problem:
        raise DomainError(problem, str(_SLUG_MESSAGES[problem]), slug=slug)
    name = name.strip()
    if not name:
        raise DomainError("name_required", _("The building needs a name."))
    try:
        validate_email(admin_email)
    except ValidationError as error:
        raise DomainError("email_invalid", _("The admin e-mail address is not valid.")) from error

    ensure_template_schema()
    with transaction.atomic():
        building = Building.objects.create(
            schema_name=slug,
            name=name,
            time_zone=time_zone,
            default_language=default_language,
            retention_days=retention_days,
        )
        if settings.TENANT_CREATION_FAKES_MIGRATIONS:
            clone_template(slug)
        else:
            migrate_new_schema(slug)
        tenant_connection().set_schema_to_public()
        domain = Domain.objects.create(domain=building_domain(slug), tenant=building)
        admin, admin_created = _admin_account(admin_email, admin_password)
        context = ProvisioningContext(building=building, admin=admin)
        with schema_context(slug):
            for step in registered_steps():
                step.run(context)
    return ProvisionedBuilding(building, domain, admin, admin_created, context.notes)


def _admin_account(email: str, password: str | None) -> tuple[User, bool]:
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email, password), True
