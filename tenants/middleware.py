"""Which building a request is for, from its host name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware

from kernel.process_cache import BUILDINGS, ProcessCache
from tenants.actions import request_port
from tenants.models import Building, Domain

# A building's domains and settings change seldom; a scan needs them every time.
BUILDING_CACHE_SECONDS = 5
# By host name: a building's own domain, and room for one more each (the public site's, a
# building's custom one).
_buildings: ProcessCache[Building] = ProcessCache(
    BUILDING_CACHE_SECONDS, (Building, Domain), max_entries=2 * BUILDINGS
)


class BuildingMiddleware(TenantMainMiddleware):
    """django-tenants' middleware, with the building of each host name kept for a few seconds
    (another process's change to a building shows within ``BUILDING_CACHE_SECONDS``)."""

    def get_tenant(self, domain_model: Any, hostname: str) -> Building:
        def load() -> Building | None:
            domain = domain_model.objects.select_related("tenant").filter(domain=hostname).first()
            return domain.tenant if domain is not None else None

        building = _buildings.get(hostname, load)
        if building is None:
            raise domain_model.DoesNotExist
        return building


class DevelopmentPortMiddleware:
    """In development (``DEBUG``), remember the port the request came in on, so that links
    made while serving it (``building_url``) open on the server actually running, whichever
    port ``runserver`` was given. Does nothing in production, where ``PUBLIC_PORT`` decides."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.DEBUG:
            return self.get_response(request)
        # get_host() has been checked against ALLOWED_HOSTS; its port is what the browser used.
        _host, _colon, port = request.get_host().rpartition(":")
        token = request_port.set(port if _colon and port.isdigit() else "")
        try:
            return self.get_response(request)
        finally:
            request_port.reset(token)
