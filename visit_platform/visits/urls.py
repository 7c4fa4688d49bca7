"""URLs of the visits app's own pages. The ``visits`` URL namespace also holds the events,
watchlist and visitor's pages, which start or act on flows and so live in ``workflows``
(``workflows.urls.visits_pages``); ``visit_platform/urls.py`` puts the two lists together."""

from django.urls import path

from visit_platform.visits import views

urlpatterns = [
    path("visits/", views.visit_list, name="visit_list"),
]
