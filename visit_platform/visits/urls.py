"""URLs of the visits app's own pages. The ``visits`` URL namespace also holds the events,
watchlist and visitor's pages, which start or act on flows and so live in ``workflows``
(``workflows.urls.visits_pages``); ``visit_platform/urls.py`` puts the two lists together."""

from django.urls import path

from visit_platform.visits import retention_views, today_views, views

urlpatterns = [
    path("visits/", views.visit_list, name="visit_list"),
    path("today/", today_views.expected_today, name="expected_today"),
    path("today/<int:pk>/check-in/", today_views.check_in, name="check_in"),
    path("settings/retention/", retention_views.retention_settings, name="retention_settings"),
    path(
        "settings/retention/preview/",
        retention_views.retention_preview,
        name="retention_preview",
    ),
]
