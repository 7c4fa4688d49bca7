"""A building's URLs plus one that fails, for the 500 page's tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from visit_platform.urls import urlpatterns as building_urlpatterns


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("test-failure/", fail), *building_urlpatterns]

handler500 = "visit_platform.web.errors.server_error"
