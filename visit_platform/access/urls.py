"""URLs of the console's gate pages (controllers, gates, the "test" pulse), alerts and the
security settings, and the host's answer to an overstay (``/o/<code>/``, no login)."""

from django.urls import path

from visit_platform.access import views

app_name = "access"

urlpatterns = [
    path("gates/", views.gate_list, name="gate_list"),
    path("gates/new/", views.gate_edit, name="gate_create"),
    path("gates/<int:pk>/", views.gate_edit, name="gate_edit"),
    path("gates/<int:pk>/pulse/", views.gate_pulse, name="gate_pulse"),
    path("gates/controllers/new/", views.controller_edit, name="controller_create"),
    path("gates/controllers/<int:pk>/", views.controller_edit, name="controller_edit"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("settings/security/", views.security_settings, name="security_settings"),
    path("o/<str:code>/", views.overstay_page, name="overstay_page"),
]
