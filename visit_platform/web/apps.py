"""App configuration for the web layer."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "visit_platform.web"
    label = "web"
    verbose_name = _("Web")

    def ready(self) -> None:
        from django.contrib import admin

        from visit_platform.web.views import AdminSignInForm

        admin.site.login_form = AdminSignInForm
