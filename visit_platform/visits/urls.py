"""URLs of the visits pages."""

from django.urls import path

from visit_platform.visits import views

app_name = "visits"

urlpatterns = [path("visits/", views.visit_list, name="visit_list")]
