"""URLs of the audit log."""

from django.urls import path

from visit_platform.audit import views

app_name = "audit"

urlpatterns = [path("audit/", views.entry_list, name="entry_list")]
