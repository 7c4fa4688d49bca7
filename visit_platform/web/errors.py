"""The error pages of both hosts (a building's and the platform's own), in the person's
language: Django's handlers with our templates, which viewflow's own ``404.html`` and the
like would otherwise shadow. A script (an ``/api/`` address, or a request that accepts
JSON) gets ``{"code", "message"}`` instead of a page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views import defaults

from kernel.console import json_error, wants_json


def _for_a_script(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or wants_json(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_a_script(request):
        return json_error("bad_request", _("The request could not be read."), 400)
    return defaults.bad_request(request, exception, template_name="web/400.html")


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_a_script(request):
        return json_error("forbidden", _("Not allowed"), 403)
    return defaults.permission_denied(request, exception, template_name="web/403.html")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_a_script(request):
        return json_error("not_found", _("Page not found"), 404)
    return defaults.page_not_found(request, exception, template_name="web/404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """Renders without context processors or the database (Django's ``server_error``):
    the page must appear when the database is what failed."""
    if _for_a_script(request):
        return json_error("server_error", _("Something went wrong"), 500)
    return defaults.server_error(request, template_name="web/500.html")
