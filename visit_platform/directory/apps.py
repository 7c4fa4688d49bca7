"""App configuration for the directory."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "visit_platform.directory"
    label = "directory"
    verbose_name = _("Directory")

    def ready(self) -> None:
        from visit_platform.directory import provisioning  # noqa: F401 - registers its steps
