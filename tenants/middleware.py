"""Which building a request is for, from its host name."""

from __future__ import annotations

from typing import Any

from django_tenants.middleware.main import TenantMainMiddleware

from kernel.process_cache import ProcessCache
from tenants.models import Building, Domain

# A building's domains and settings change seldom; a scan needs them every time.
BUILDING_CACHE_SECONDS = 5
_buildings: ProcessCache[Building] = ProcessCache(BUILDING_CACHE_SECONDS, (Building, Domain))


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
