"""App configuration for the scenario flows."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Visit flows")

    def ready(self) -> None:
        from workflows import audit_words, flows, provisioning, retention  # noqa: F401 - registers steps and flows

        audit_words.register()
        retention.connect()
