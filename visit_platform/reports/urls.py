"""The records, statistics and export pages (the ``reports`` URL namespace)."""

from django.urls import URLPattern, path

from visit_platform.reports import views

app_name = "reports"

urlpatterns: list[URLPattern] = [
    path("statistics/", views.statistics_page, name="statistics"),
]
