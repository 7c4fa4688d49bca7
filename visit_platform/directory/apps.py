"""App configuration for the directory."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "visit_platform.directory"
    label = "directory"
    verbose_name = _("Directory")

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from visit_platform.directory import provisioning  # noqa: F401 - registers its steps
        from visit_platform.directory.sign_in import audit_lockout

        user_locked_out.connect(audit_lockout, dispatch_uid="directory.audit_sign_in_lockout")
