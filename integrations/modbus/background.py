"""A simulated turnstile and a gate agent in a background thread, for the demo (and any
single-process setup): one command shows a gate opening without hardware."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future

from integrations.modbus.agent import GateAgent
from integrations.modbus.config import AgentConfig
from integrations.modbus.register_map import RegisterMap
from integrations.modbus.simulator import TurnstileSimulator

logger = logging.getLogger(__name__)


class BackgroundSite:
    """``start()`` returns once the simulator listens and the agent runs; ``stop()`` ends
    both and the thread."""

    def __init__(self, config: AgentConfig, register_map: RegisterMap, modbus_port: int) -> None:
        self.config = config
        self.simulator = TurnstileSimulator(register_map, port=modbus_port, walk_through=True)
        self.agent: GateAgent | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="gate-site", daemon=True
        )

    def start(self, timeout: float = 30) -> None:
        self._thread.start()
        self._call(self._start()).result(timeout)

    def stop(self, timeout: float = 30) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._call(self._stop()).result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            self._loop.close()

    def _call(self, coroutine: object) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]

    async def _start(self) -> None:
        await self.simulator.start()
        self.agent = GateAgent(self.config)
        await self.agent.start()

    async def _stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        await self.simulator.stop()
        # The platform client's calls ran in the loop's default executor.
        await self._loop.shutdown_default_executor()
