"""URLs of the console's gate pages (controllers, gates, the "test" pulse), alerts, the
security screen, the security settings and evacuation roll calls, and the host's answer to an
overstay (``/o/<code>/``, no login)."""

from django.urls import path

from visit_platform.access import roll_call_views, views

app_name = "access"

urlpatterns = [
    path("gates/", views.gate_list, name="gate_list"),
    path("gates/new/", views.gate_edit, name="gate_create"),
    path("gates/<int:pk>/", views.gate_edit, name="gate_edit"),
    path("gates/<int:pk>/pulse/", views.gate_pulse, name="gate_pulse"),
    path("gates/controllers/new/", views.controller_edit, name="controller_create"),
    path("gates/controllers/<int:pk>/", views.controller_edit, name="controller_edit"),
    path("passes/<int:pk>/revoke/", views.pass_revoke, name="pass_revoke"),
    path("security/", views.security_screen, name="security_screen"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("settings/security/", views.security_settings, name="security_settings"),
    path("o/<str:code>/", views.overstay_page, name="overstay_page"),
    path("roll-call/", roll_call_views.roll_call_home, name="roll_call_home"),
    path("roll-call/start/", roll_call_views.roll_call_start, name="roll_call_start"),
    path("roll-call/<int:pk>/", roll_call_views.roll_call_page, name="roll_call"),
    path(
        "roll-call/<int:pk>/entries/<int:entry_pk>/",
        roll_call_views.roll_call_mark,
        name="roll_call_mark",
    ),
    path("roll-call/<int:pk>/close/", roll_call_views.roll_call_close, name="roll_call_close"),
    path("roll-call/<int:pk>/roll-call.pdf", roll_call_views.roll_call_pdf, name="roll_call_pdf"),
]
