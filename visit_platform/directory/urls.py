"""URLs of the directory pages."""

from django.urls import path

from visit_platform.directory import views

app_name = "directory"

urlpatterns = [
    path("companies/", views.company_list, name="company_list"),
    path("companies/new/", views.company_edit, name="company_create"),
    path("companies/import/", views.company_import, name="company_import"),
    path("companies/<int:pk>/", views.company_edit, name="company_edit"),
    path("companies/<int:pk>/active/", views.company_set_active, name="company_set_active"),
    path("employees/", views.host_list, name="host_list"),
    path("employees/new/", views.host_edit, name="host_create"),
    path("employees/import/", views.host_import, name="host_import"),
    path("employees/<int:pk>/", views.host_edit, name="host_edit"),
    path("employees/<int:pk>/active/", views.host_set_active, name="host_set_active"),
    path("people/", views.membership_list, name="membership_list"),
    path("people/<int:pk>/revoke/", views.membership_revoke, name="membership_revoke"),
    path("people/<int:pk>/invite/", views.membership_invite, name="membership_invite"),
]
