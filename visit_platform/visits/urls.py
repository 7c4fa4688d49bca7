"""URLs of the visits pages: the staff list, and the visitor's own pages ("My visits")."""

from django.urls import path

from visit_platform.visits import views, visitor_views

app_name = "visits"

urlpatterns = [
    path("visits/", views.visit_list, name="visit_list"),
    path("me/", visitor_views.my_visits, name="my_visits"),
    path("me/code/", visitor_views.send_code, name="my_send_code"),
    path("me/sign-in/", visitor_views.check_code, name="my_check_code"),
    path("me/sign-out/", visitor_views.sign_out_view, name="my_sign_out"),
    path("me/visits/<int:pk>/cancel/", visitor_views.cancel_visit, name="my_cancel"),
    path("me/visits/<int:pk>/pass/", visitor_views.open_pass, name="my_pass"),
]
