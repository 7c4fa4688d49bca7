"""The error pages of both hosts (a building's and the platform's own), in the person's
language: Django's handlers with our templates, which viewflow's own ``404.html`` and the
like would otherwise shadow."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return defaults.bad_request(request, exception, template_name="web/400.html")


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    return defaults.permission_denied(request, exception, template_name="web/403.html")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return defaults.page_not_found(request, exception, template_name="web/404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """Renders without context processors or the database (Django's ``server_error``):
    the page must appear when the database is what failed."""
    return defaults.server_error(request, template_name="web/500.html")
