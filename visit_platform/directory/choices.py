"""Choices for the directory: the roles a membership can hold."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR = "operator", _("Platform operator")
    PROPERTY_ADMIN = "property_admin", _("Property admin")
    COMPANY_ADMIN = "company_admin", _("Company admin")
    HOST = "host", _("Host")
    RECEPTION = "reception", _("Reception")
    SECURITY = "security", _("Security")


# Roles that act for one company only; their membership names the company.
COMPANY_ROLES = frozenset({Role.COMPANY_ADMIN, Role.HOST})
