"""URLs of the visits pages and the watchlist."""

from django.urls import path

from visit_platform.visits import views, watchlist_views

app_name = "visits"

urlpatterns = [
    path("visits/", views.visit_list, name="visit_list"),
    path("watchlist/", watchlist_views.watchlist_list, name="watchlist_list"),
    path("watchlist/new/", watchlist_views.watchlist_propose, name="watchlist_propose"),
    path("watchlist/<int:pk>/", watchlist_views.watchlist_detail, name="watchlist_detail"),
    path("watchlist/<int:pk>/review/", watchlist_views.watchlist_review, name="watchlist_review"),
    path(
        "watchlist/<int:pk>/removal/",
        watchlist_views.watchlist_propose_removal,
        name="watchlist_propose_removal",
    ),
]
