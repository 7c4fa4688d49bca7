"""Modbus/TCP turnstile controllers and the gate agent that runs at the building.

Nothing in this package's core imports Django: the agent must run on a machine with no
database (``python -m integrations.modbus``). The platform imports ``register_map`` to
validate the maps it stores, so both sides apply the same rules.
"""

# Reported in the agent's heartbeat, so the console shows which agents need an update.
AGENT_VERSION = "0.1.0"
