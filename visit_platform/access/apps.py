"""App configuration for passes, gates and access events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "visit_platform.access"
    label = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        from visit_platform.access import provisioning  # noqa: F401 - registers its steps
