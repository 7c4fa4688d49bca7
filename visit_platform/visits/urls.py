"""URLs of the visits, events and watchlist pages, and the visitor's own pages ("My visits")."""

from django.urls import path

from visit_platform.visits import event_views, views, visitor_views, watchlist_views

app_name = "visits"

urlpatterns = [
    path("visits/", views.visit_list, name="visit_list"),
    path("events/", event_views.event_list, name="event_list"),
    path("events/new/", event_views.event_create, name="event_create"),
    path("events/<int:pk>/", event_views.event_detail, name="event_detail"),
    path("events/<int:pk>/upload/", event_views.event_upload, name="event_upload"),
    path("events/<int:pk>/confirm/", event_views.event_confirm, name="event_confirm"),
    path("events/<int:pk>/cancel/", event_views.event_cancel, name="event_cancel"),
    path(
        "events/<int:pk>/attendance.<str:file_format>",
        event_views.event_attendance,
        name="event_attendance",
    ),
    path("watchlist/", watchlist_views.watchlist_list, name="watchlist_list"),
    path("watchlist/new/", watchlist_views.watchlist_propose, name="watchlist_propose"),
    path("watchlist/<int:pk>/", watchlist_views.watchlist_detail, name="watchlist_detail"),
    path("watchlist/<int:pk>/review/", watchlist_views.watchlist_review, name="watchlist_review"),
    path(
        "watchlist/<int:pk>/removal/",
        watchlist_views.watchlist_propose_removal,
        name="watchlist_propose_removal",
    ),
    path("me/", visitor_views.my_visits, name="my_visits"),
    path("me/code/", visitor_views.send_code, name="my_send_code"),
    path("me/sign-in/", visitor_views.check_code, name="my_check_code"),
    path("me/sign-out/", visitor_views.sign_out_view, name="my_sign_out"),
    path("me/visits/<int:pk>/cancel/", visitor_views.cancel_visit, name="my_cancel"),
    path("me/visits/<int:pk>/pass/", visitor_views.open_pass, name="my_pass"),
]
