"""URLs served on a building's domain (the staff console and, later, visitor pages)."""

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("visit_platform.web.urls")),
    path("", include("visit_platform.directory.urls")),
    path("", include("visit_platform.audit.urls")),
]
