"""URLs of the scenario policies."""

from django.urls import path

from workflows import views

app_name = "workflows"

urlpatterns = [
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/<str:scenario>/", views.policy_edit, name="policy_edit"),
    path("a/<str:code>/", views.decision_page, name="decision_page"),
]
