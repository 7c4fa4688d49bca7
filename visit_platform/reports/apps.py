"""App configuration for records, statistics and exports."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "visit_platform.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from visit_platform.reports import audit_words

        audit_words.register()
