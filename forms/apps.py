"""App configuration for the low-code registration forms."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormsConfig(AppConfig):
    name = "forms"
    label = "forms"
    verbose_name = _("Registration forms")

    def ready(self) -> None:
        from forms import provisioning  # noqa: F401 - registers its steps
