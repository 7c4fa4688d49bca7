"""The records, statistics and export pages (the ``reports`` URL namespace)."""

from django.urls import URLPattern

app_name = "reports"

urlpatterns: list[URLPattern] = []
