"""URLs of the flows: tasks, timelines, policies with their diagrams, the host's link; and
the pages that start flows or act on them (events, the watchlist, the visitor's own pages),
which keep their names in the ``visits`` namespace (``visits_pages``, joined to the visits
app's own URLs in ``visit_platform/urls.py``)."""

from django.urls import path

from workflows import (
    event_views,
    host_views,
    privacy_views,
    views,
    visitor_views,
    watchlist_views,
)

app_name = "workflows"

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<int:pk>/", views.task_page, name="task_page"),
    path("tasks/<int:pk>/claim/", views.task_claim, name="task_claim"),
    path("tasks/<int:pk>/release/", views.task_release, name="task_release"),
    path("tasks/<int:pk>/face-consent/", views.task_face_consent, name="task_face_consent"),
    path("tasks/<int:pk>/face-match.json", views.task_face_match, name="task_face_match"),
    path("reception/visits/<int:pk>/identity/", views.desk_identity, name="desk_identity"),
    path("visits/<int:pk>/timeline/", views.visit_timeline_page, name="visit_timeline"),
    path("face-consent/", views.face_consent_page, name="face_consent"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/<str:scenario>/", views.policy_edit, name="policy_edit"),
    path("policies/<str:scenario>/chart.svg", views.policy_chart, name="policy_chart"),
    path("a/<str:code>/", views.decision_page, name="decision_page"),
    path("privacy-requests/", privacy_views.request_list, name="privacy_requests"),
    path("privacy-requests/<int:pk>/", privacy_views.request_detail, name="privacy_request"),
    path(
        "privacy-requests/<int:pk>/carry-out/",
        privacy_views.carry_out,
        name="privacy_request_carry_out",
    ),
    path("privacy-requests/<int:pk>/refuse/", privacy_views.refuse, name="privacy_request_refuse"),
]

visits_pages = [
    path("events/", event_views.event_list, name="event_list"),
    path("events/new/", event_views.event_create, name="event_create"),
    path("events/<int:pk>/", event_views.event_detail, name="event_detail"),
    path("events/<int:pk>/upload/", event_views.event_upload, name="event_upload"),
    path("events/<int:pk>/confirm/", event_views.event_confirm, name="event_confirm"),
    path("events/<int:pk>/cancel/", event_views.event_cancel, name="event_cancel"),
    path("events/<int:pk>/cards.pdf", event_views.event_cards, name="event_cards"),
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
    path("my-visitors/", host_views.my_visitors, name="my_visitors"),
    path("my-visitors/<int:pk>/cancel/", host_views.cancel_my_visitor, name="my_visitor_cancel"),
    path("me/", visitor_views.my_visits, name="my_visits"),
    path("me/code/", visitor_views.send_code, name="my_send_code"),
    path("me/sign-in/", visitor_views.check_code, name="my_check_code"),
    path("me/sign-out/", visitor_views.sign_out_view, name="my_sign_out"),
    path("me/visits/<int:pk>/cancel/", visitor_views.cancel_visit, name="my_cancel"),
    path("me/visits/<int:pk>/pass/", visitor_views.open_pass, name="my_pass"),
    path("me/data/", visitor_views.download_my_data, name="my_data"),
    path("me/deletion/", visitor_views.ask_for_deletion, name="my_deletion"),
]
