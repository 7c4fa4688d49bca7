"""URLs of the flows: tasks, timelines, policies with their diagrams, the host's link."""

from django.urls import path

from workflows import views

app_name = "workflows"

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<int:pk>/", views.task_page, name="task_page"),
    path("tasks/<int:pk>/claim/", views.task_claim, name="task_claim"),
    path("tasks/<int:pk>/release/", views.task_release, name="task_release"),
    path("reception/visits/<int:pk>/identity/", views.desk_identity, name="desk_identity"),
    path("visits/<int:pk>/timeline/", views.visit_timeline_page, name="visit_timeline"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/<str:scenario>/", views.policy_edit, name="policy_edit"),
    path("policies/<str:scenario>/chart.svg", views.policy_chart, name="policy_chart"),
    path("a/<str:code>/", views.decision_page, name="decision_page"),
]
