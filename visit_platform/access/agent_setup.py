"""The gate agent's configuration from the database, for ``manage.py gate_agent`` and the
demo, which run the same agent as the standalone entry point with the controllers read here
instead of fetched over HTTP."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from integrations.modbus.config import AgentConfig, controllers_from_data
from kernel.errors import DomainError
from tenants.actions import building_domain
from visit_platform.access.actions import claim_controllers
from visit_platform.access.queries import agent_controllers, authenticate_agent


def agent_config_from_database(
    slug: str,
    agent_key: str,
    *,
    platform_url: str,
    journal_path: Path | None = None,
    reader_port: int = 7000,
    http_port: int = 7001,
) -> AgentConfig:
    """Call inside the building's schema. The key must be an active agent's of this building;
    it claims the controllers no active agent holds, as over HTTP, and its controllers (and
    their maps, checked again) become the agent's."""
    agent = authenticate_agent(agent_key)
    if agent is None:
        raise DomainError(
            "unauthorized", _("This is not an active gate agent key of the building.")
        )
    claim_controllers(agent)
    controllers = controllers_from_data(agent_controllers(agent))
    journal = journal_path or Path(settings.DATA_DIR) / f"gate-agent-{slug}.db"
    journal.parent.mkdir(parents=True, exist_ok=True)
    return AgentConfig(
        platform_url=platform_url,
        platform_host=building_domain(slug),
        agent_key=agent_key,
        journal_path=journal,
        controllers=controllers,
        reader_port=reader_port,
        http_port=http_port,
    )
