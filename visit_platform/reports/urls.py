"""The records, statistics and export pages (the ``reports`` URL namespace)."""

from django.urls import URLPattern, path

from visit_platform.reports import export_views, statistics_views, views

app_name = "reports"

urlpatterns: list[URLPattern] = [
    path("records/", views.records, name="records"),
    path("records/saved/", views.save_records_filter, name="save_filter"),
    path("records/saved/<int:pk>/", views.open_saved_filter, name="open_filter"),
    path("records/saved/delete/", views.delete_saved_filter, name="delete_filter"),
    path("statistics/", statistics_views.statistics_page, name="statistics"),
    path("exports/", export_views.export_list, name="export_list"),
    path("exports/<int:pk>/", export_views.export_detail, name="export_detail"),
    path("exports/<int:pk>/status.json", export_views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", export_views.export_download, name="export_download"),
]
