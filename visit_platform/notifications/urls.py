"""URLs of the notification log."""

from django.urls import path

from visit_platform.notifications import views

app_name = "notifications"

urlpatterns = [path("notifications/", views.notification_list, name="notification_list")]
