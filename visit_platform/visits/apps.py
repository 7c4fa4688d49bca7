"""App configuration for visitors, visits and the watchlist."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visit_platform.visits"
    label = "visits"
    verbose_name = _("Visits")
