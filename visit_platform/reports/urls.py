"""The records, statistics and export pages (the ``reports`` URL namespace)."""

from django.urls import URLPattern, path

from visit_platform.reports import statistics_views, views

app_name = "reports"

urlpatterns: list[URLPattern] = [
    path("records/", views.records, name="records"),
    path("records/saved/", views.save_records_filter, name="save_filter"),
    path("records/saved/<int:pk>/", views.open_saved_filter, name="open_filter"),
    path("records/saved/delete/", views.delete_saved_filter, name="delete_filter"),
    path("statistics/", statistics_views.statistics_page, name="statistics"),
]
