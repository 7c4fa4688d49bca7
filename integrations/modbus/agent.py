"""The gate agent: wires controllers, the reader interface, the platform client and the
journal together, decides scans online or offline, and reports its health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from integrations.modbus import AGENT_VERSION, offline
from integrations.modbus.config import (
    AgentConfig,
    ControllerConfig,
    GateBinding,
    controllers_from_data,
)
from integrations.modbus.controller import ControllerLink, ControllerUnavailableError, iso_time
from integrations.modbus.journal import Journal
from integrations.modbus.platform_client import (
    PlatformClient,
    PlatformRefusedError,
    PlatformUnavailableError,
)
from integrations.modbus.reader import ReaderInputError, ReaderServer, ScanOutcome
from integrations.modbus.roll_call import adjusted_list, render_page
from kernel import pass_tokens as tokens

logger = logging.getLogger(__name__)

UPLOAD_BATCH = 500
# A stop must end: a controller that does not answer is left after this long (its coils are
# in the journal and go off on the next connection).
STOP_STEP_SECONDS = 5.0


async def _within(coroutine: Awaitable[None], seconds: float, what: str) -> None:
    """Run ``coroutine`` for at most ``seconds``, without waiting for it to honour the
    cancellation (a Modbus request may not)."""
    task = asyncio.ensure_future(coroutine)
    done, _pending = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        logger.warning("gave up %s after %s s", what, seconds)


# What a reader shows when the platform has not yet told this agent its building's words (an
# agent that starts offline): a person at the gate needs words, not a reason code.
FALLBACK_GRANTED = "已放行 Welcome"
FALLBACK_REFUSED = "请到前台 Please see reception"


def reader_message(messages: dict[str, str], reason: str) -> str:
    """The building's message for ``reason``, or a bilingual fallback."""
    if reason in messages:
        return messages[reason]
    return FALLBACK_GRANTED if reason == "granted" else FALLBACK_REFUSED


class GateAgent:
    """One agent per building LAN. ``start()`` returns once it listens; ``stop()`` ends every
    task, connection and listener it opened."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.journal = Journal(config.journal_path)
        self.platform = PlatformClient(
            config.platform_url, config.agent_key, host=config.platform_host
        )
        self.reader = ReaderServer(
            self.handle_scan,
            self.health,
            self.sync_now,
            http_tokens=[token for token in (config.http_token, config.agent_key) if token],
            line_timeout=config.line_timeout,
            roll_call=self.roll_call_page,
        )
        self.links: dict[int, ControllerLink] = {}
        self.gates: dict[int, tuple[ControllerLink, GateBinding]] = {}
        self.state = offline.OfflineState()
        self.messages: dict[str, str] = {}
        self.last_platform_contact: float | None = None
        self._offline_until = 0.0
        self._tasks: list[asyncio.Task[Any]] = []
        self._controller_tasks: dict[int, asyncio.Task[None]] = {}
        self._upload_wanted = asyncio.Event()
        self._heartbeat_wanted = asyncio.Event()
        self._started_at = time.monotonic()
        self._etags: dict[str, str] = {}
        self._synced_once = False
        self._platform_answered = False
        self._sync_task: asyncio.Task[None] | None = None
        self.started = False  # start() has finished: first sync tried, loops running

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._load_cached_state()
        if self.config.controllers is not None:
            self._configure(self.config.controllers)
        else:
            cached = self.journal.get_state("controllers")
            if cached is not None:
                self._configure(controllers_from_data(cached))
        await self.reader.start(
            self.config.reader_host,
            self.config.reader_port,
            self.config.http_host,
            self.config.http_port,
        )
        await self._sync_quietly()
        self._tasks += [
            asyncio.create_task(self._sync_loop()),
            asyncio.create_task(self._upload_loop()),
            asyncio.create_task(self._every(self.config.command_interval, self._run_commands)),
            asyncio.create_task(self._heartbeat_loop()),
        ]
        self.started = True

    async def stop(self) -> None:
        """No new scans, then every coil off while the controllers are still connected, then
        the rest."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.reader.close()
        for link in list(self.links.values()):
            await _within(link.close(), STOP_STEP_SECONDS, f"closing {link.config.name}")
        controller_tasks = list(self._controller_tasks.values())
        for task in controller_tasks:
            task.cancel()
        if controller_tasks:
            await asyncio.wait(controller_tasks, timeout=STOP_STEP_SECONDS)
        self.platform.close()
        self.journal.close()

    async def __aenter__(self) -> GateAgent:
        try:
            await self.start()
        except BaseException:
            # Ctrl-C during the first sync (or a port in use): what started is stopped, and a
            # gate it opened meanwhile is closed.
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _configure(self, controllers: list[ControllerConfig]) -> None:
        """Start a link for each controller; restart those whose settings changed."""
        wanted = {controller.id: controller for controller in controllers}
        for controller_id in list(self.links):
            if wanted.get(controller_id) != self.links[controller_id].config:
                link = self.links.pop(controller_id)
                task = self._controller_tasks.pop(controller_id)
                self._tasks.append(asyncio.create_task(self._retire(link, task)))
        for controller_id, controller in wanted.items():
            if controller_id in self.links:
                continue
            link = ControllerLink(
                controller,
                self.journal,
                reconnect_initial=self.config.reconnect_initial,
                reconnect_max=self.config.reconnect_max,
                on_events=self._upload_wanted.set,
                on_link_change=self._heartbeat_wanted.set,
                counter_allowance=self.config.counter_jump_allowance,
                counter_rate=self.config.counter_max_rate,
            )
            self.links[controller_id] = link
            self._controller_tasks[controller_id] = asyncio.create_task(link.run())
        self.gates = {
            binding.gate_id: (link, binding)
            for link in self.links.values()
            for binding in link.config.gates
        }

    async def _retire(self, link: ControllerLink, task: asyncio.Task[None]) -> None:
        """A controller this agent no longer drives, or drives differently: its coils off
        first (while still connected), then its connection."""
        try:
            await link.close()
        finally:
            task.cancel()

    async def _sync_loop(self) -> None:
        """Sync on schedule; until the first sync succeeds, try every couple of seconds (an
        agent started before the platform, or during an outage, should not wait a minute)."""
        while True:
            synced = self.journal.get_state("settings") is not None and self._synced_once
            await asyncio.sleep(
                self.config.sync_interval if synced else min(2.0, self.config.sync_interval)
            )
            try:
                await self._sync_quietly()
            except Exception:
                logger.exception("sync failed")

    async def _every(self, seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                logger.exception("agent job failed")

    # --- health -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "controllers": [
                {
                    "id": link.config.id,
                    "name": link.config.name,
                    "connected": link.connected,
                    "last_error": link.last_error,
                }
                for link in self.links.values()
            ],
            "platform_reachable": self.platform_reachable,
            "last_platform_contact": (
                iso_time(self.last_platform_contact) if self.last_platform_contact else None
            ),
            "journal_depth": self.journal.depth(),
            "journal_rejected": self.journal.rejected(),
            "coils_to_release": len(self.journal.pending_releases()),
            "offline_ready": self.state.is_ready,
            "started": self.started,
        }

    def heartbeat_report(self) -> dict[str, Any]:
        """What the heartbeat tells the platform: each controller's link (those tried at
        least once: a link still connecting is neither up nor down), the journal's depth,
        this agent's version and uptime."""
        return {
            "version": AGENT_VERSION,
            "uptime_seconds": round(time.monotonic() - self._started_at, 3),
            "journal_depth": self.journal.depth(),
            "controllers": [
                {
                    "id": link.config.id,
                    "connected": link.connected,
                    "since_seconds": round(link.link_state_seconds(), 3),
                    "last_error": link.last_error[:500],
                }
                for link in self.links.values()
                if link.attempted
            ],
        }

    async def send_heartbeat(self) -> bool:
        """Send one heartbeat; returns whether the platform recorded it. Never raises and
        never waits longer than the heartbeat timeout: it must not disturb anything else
        (scans decide with their own calls, and a failed heartbeat does not send them
        offline)."""
        try:
            await asyncio.wait_for(
                self.platform.request(
                    "POST",
                    "/heartbeat",
                    self.heartbeat_report(),
                    timeout=self.config.heartbeat_timeout,
                ),
                # The request's socket timeout bounds each read; this bounds the whole call.
                self.config.heartbeat_timeout * 2,
            )
        except PlatformRefusedError as error:
            logger.warning("heartbeat refused: %s", error)
            if error.code == "unknown_controller":
                # The platform moved a controller away from this agent: fetch the new config.
                self._sync_soon()
            return False
        except (PlatformUnavailableError, TimeoutError) as error:
            logger.info("heartbeat not delivered: %s", error)
            return False
        except Exception:
            logger.exception("heartbeat failed")
            return False
        self._heard_from_platform()
        return True

    async def _heartbeat_loop(self) -> None:
        """A heartbeat now, then every ``heartbeat_interval``, and at once when a
        controller's link changes (several changes close together make one heartbeat)."""
        while True:
            self._heartbeat_wanted.clear()
            await self.send_heartbeat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._heartbeat_wanted.wait(), self.config.heartbeat_interval
                )

    @property
    def platform_reachable(self) -> bool:
        """Whether the last call to the platform succeeded."""
        return self._platform_answered

    def _heard_from_platform(self) -> None:
        self.last_platform_contact = time.time()
        self._platform_answered = True
        self._offline_until = 0.0

    def _platform_failed(self) -> None:
        self._platform_answered = False
        self._offline_until = time.monotonic() + self.config.offline_hold

    # --- scans ------------------------------------------------------------------------------

    async def handle_scan(self, gate_id: int, token: str, direction: str | None) -> ScanOutcome:
        """Ask the platform; if it cannot be reached, decide here. Open the gate on a grant."""
        found = self.gates.get(gate_id)
        if found is None:
            raise ReaderInputError(
                "unknown_gate", f"gate {gate_id} is not driven by this agent", 404
            )
        link, binding = found
        event_id = str(uuid.uuid4())
        outcome: ScanOutcome | None = None
        if time.monotonic() >= self._offline_until:
            outcome = await self._decide_online(gate_id, token, direction, event_id)
        if outcome is None:
            outcome = self._decide_offline(binding, token, direction, event_id)
        if outcome.granted:
            try:
                await link.pulse(binding.lane, outcome.direction)
            except ControllerUnavailableError as error:
                logger.error("granted but the gate did not open: %s", error)
                return ScanOutcome(
                    True,
                    outcome.reason,
                    self._message("gate_unreachable"),
                    outcome.mode,
                    event_id,
                    outcome.direction,
                )
        return outcome

    async def _decide_online(
        self, gate_id: int, token: str, direction: str | None, event_id: str
    ) -> ScanOutcome | None:
        try:
            answer = await self.platform.scan(
                gate_id, token, direction, event_id, self.config.scan_timeout
            )
        except (PlatformUnavailableError, PlatformRefusedError) as error:
            # A refusal of the request itself (a gate the platform no longer knows, a key
            # revoked) must not keep a visitor out: the agent decides alone and reports it.
            logger.warning("platform did not decide the scan: %s", error)
            self._platform_failed()
            return None
        self._heard_from_platform()
        outcome = ScanOutcome(
            bool(answer.get("granted")),
            str(answer.get("reason", "")),
            str(answer.get("message", "")),
            "online",
            event_id,
            str(answer.get("direction") or "in"),
        )
        self._remember_uses(token, answer, outcome)
        self._note_passage(answer.get("pass_id"), outcome)
        return outcome

    def _note_passage(self, pass_id: Any, outcome: ScanOutcome) -> None:
        """Keep a granted passage of a known pass for the offline roll call."""
        if outcome.granted and isinstance(pass_id, int) and not isinstance(pass_id, bool):
            self.journal.add_sighting(pass_id, outcome.direction)

    def _remember_uses(self, token: str, answer: dict[str, Any], outcome: ScanOutcome) -> None:
        """Keep what an online answer says of the pass's uses, for offline decisions later:
        an entry granted, and the uses left when the platform says (``uses_left``, on a
        granted entry and on ``uses_exhausted``; a replayed answer does not say)."""
        pass_id = answer.get("pass_id")
        if not isinstance(pass_id, int) or isinstance(pass_id, bool):
            return
        entered = outcome.granted and outcome.direction == "in"
        if not entered and outcome.reason != offline.USES_EXHAUSTED:
            return
        uses_left = answer.get("uses_left")
        limit_known = (
            "uses_left" in answer
            and not answer.get("replayed")
            and (uses_left is None or (isinstance(uses_left, int) and uses_left >= 0))
        )
        if outcome.reason == offline.USES_EXHAUSTED:
            limit_known, uses_left = True, 0
        self.journal.record_online_answer(
            pass_id,
            entered=entered,
            uses_left=uses_left if limit_known else None,
            limit_known=limit_known,
            expires_at=self._uses_expiry(token),
        )

    def _uses_expiry(self, token: str) -> float:
        """Until when a pass's uses are worth remembering: a slip names the end of its pass;
        a rotating code only its own minute, so its pass is remembered for the retention."""
        now = time.time()
        try:
            claims = tokens.parse_token(token).claims
        except tokens.TokenError:
            return now + self.config.use_retention
        if claims.kind == tokens.TokenKind.SLIP:
            return float(claims.not_after)
        return max(float(claims.not_after), now + self.config.use_retention)

    def _decide_offline(
        self, binding: GateBinding, token: str, direction: str | None, event_id: str
    ) -> ScanOutcome:
        decision = offline.decide_offline(
            self.state,
            token=token,
            gate_direction=binding.direction,
            gate_is_active=binding.is_active,
            requested_direction=direction,
            now=int(time.time()),
            uses_of=self.journal.pass_uses,
            gate_zone=binding.zone,
        )
        payload = {
            "event_id": event_id,
            "gate_id": binding.gate_id,
            "direction": decision.direction,
            "occurred_at": iso_time(time.time()),
            "pass_id": decision.pass_id,
            "granted": decision.granted,
            "reason": decision.reason,
            "mode": "offline",
        }
        counts_entry = decision.granted and decision.direction == "in" and decision.pass_id
        self.journal.record_offline_decision(payload, bool(counts_entry), self._uses_expiry(token))
        self._upload_wanted.set()
        if decision.granted and decision.pass_id:
            self.journal.add_sighting(int(decision.pass_id), decision.direction)
        if decision.reason == offline.UNKNOWN_KEY:
            # Perhaps a key rotated since the last sync: fetch the keys (in the background;
            # this visitor has their answer) so the next scan can be checked.
            self._sync_soon()
        return ScanOutcome(
            decision.granted,
            decision.reason,
            self._message(decision.reason),
            "offline",
            event_id,
            decision.direction,
        )

    def _sync_soon(self) -> None:
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = asyncio.create_task(self._sync_quietly())
            self._tasks.append(self._sync_task)

    def _message(self, reason: str) -> str:
        return reader_message(self.messages, reason)

    # --- sync with the platform -------------------------------------------------------------

    def _load_cached_state(self) -> None:
        keys = self.journal.get_state("keys")
        if keys:
            self._apply_keys(keys)
        for name in ("revocations", "watchlist", "zones"):
            cached = self.journal.get_state(name)
            if cached:
                self._apply_list(name, cached)
        roll_call = self.journal.get_state("roll_call")
        if roll_call and roll_call.get("etag"):
            self._etags["roll_call"] = roll_call["etag"]
        settings = self.journal.get_state("settings")
        if settings:
            self._apply_settings(settings)

    def _apply_keys(self, body: dict[str, Any]) -> None:
        keys = {}
        for item in body.get("keys", []):
            try:
                keys[int(item["key_id"])] = tokens.public_key_from_text(item["public_key"])
            except (KeyError, ValueError, tokens.TokenError):
                logger.warning("ignored a malformed public key from the platform")
        self.state.keys = keys
        self.state.building_tag = bytes.fromhex(str(body.get("building_tag", "")))

    def _apply_list(self, name: str, body: dict[str, Any]) -> None:
        ids = frozenset(int(pass_id) for pass_id in body.get("pass_ids", []))
        if name == "revocations":
            self.state.revoked = ids
        elif name == "watchlist":
            self.state.watchlisted = ids
        else:
            self.state.pass_zones = _pass_zones(body)
        if body.get("etag"):
            self._etags[name] = body["etag"]

    def _apply_settings(self, body: dict[str, Any]) -> None:
        self.state.entries_per_pass = int(
            body.get("offline_entries_per_pass", offline.DEFAULT_ENTRIES_PER_PASS)
        )
        self.messages = {str(k): str(v) for k, v in body.get("messages", {}).items()}

    async def sync_now(self) -> dict[str, Any]:
        """Fetch config, keys, revocations and the watchlist digest now (the reader's
        ``POST /sync``, and on a schedule)."""
        try:
            await self.sync()
        except (PlatformUnavailableError, PlatformRefusedError) as error:
            return {"synced": False, "error": str(error)}
        return {"synced": True}

    async def _sync_quietly(self) -> None:
        try:
            await self.sync()
        except (PlatformUnavailableError, PlatformRefusedError) as error:
            logger.warning("sync failed: %s", error)
            self._platform_failed()

    async def sync(self) -> None:
        config = (await self.platform.get("/config")).body or {}
        self._heard_from_platform()
        self._apply_settings(config)
        self.journal.set_state("settings", config)
        if self.config.controllers is None:
            controllers = controllers_from_data(config.get("controllers", []))
            self.journal.set_state("controllers", config.get("controllers", []))
            self._configure(controllers)
        keys = (await self.platform.get("/keys")).body or {}
        self._apply_keys(keys)
        self.journal.set_state("keys", keys)
        for name, path in (
            ("revocations", "/revocations"),
            ("watchlist", "/watchlist"),
            ("zones", "/zones"),
        ):
            response = await self.platform.get(path, etag=self._etags.get(name))
            if response.status == 304 or response.body is None:
                continue
            body = {**response.body, "etag": response.etag}
            self._apply_list(name, body)
            self.journal.set_state(name, body)
        await self._sync_roll_call()
        self._synced_once = True
        # The journal may hold events from an outage: now is a good time to send them.
        self._upload_wanted.set()

    async def _sync_roll_call(self) -> None:
        """Fetch who is inside, for the offline roll call page. A platform without the
        endpoint (older) leaves the page saying it never synced; the gates go on."""
        try:
            response = await self.platform.get("/roll-call", etag=self._etags.get("roll_call"))
        except PlatformRefusedError as error:
            logger.warning("the list of people inside was refused: %s", error)
            return
        if response.status != 304 and response.body is not None:
            body = {**response.body, "etag": response.etag}
            self.journal.set_state("roll_call", body)
            if response.etag:
                self._etags["roll_call"] = response.etag
        # Unchanged (304) is news too: the list is as of now.
        self.journal.set_state("roll_call_synced_at", time.time())

    def roll_call_page(self) -> str:
        """The read-only roll call page (the reader's ``GET /roll-call``): the last list
        synced, adjusted by the passages seen since."""
        synced_at = self.journal.get_state("roll_call_synced_at")
        since = float(synced_at) if synced_at is not None else 0.0
        listing = adjusted_list(
            self.journal.get_state("roll_call"),
            float(synced_at) if synced_at is not None else None,
            self.journal.sightings_since(since),
        )
        settings = self.journal.get_state("settings") or {}
        return render_page(listing, str(settings.get("building", "")))

    # --- journal upload ---------------------------------------------------------------------

    async def _upload_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._upload_wanted.wait(), self.config.upload_interval)
            self._upload_wanted.clear()
            try:
                await self.upload_journal()
            except (PlatformUnavailableError, PlatformRefusedError) as error:
                logger.info("journal upload postponed: %s", error)
            except Exception:
                logger.exception("journal upload failed")

    async def upload_journal(self) -> int:
        """Send every journalled event; returns how many the platform accepted. Idempotent:
        an event sent twice (an answer lost on the way back) is answered, not recorded again."""
        sent = 0
        for kind, path, key in (
            ("passage", "/passages", "passages"),
            ("alert", "/alerts", "alerts"),
        ):
            while True:
                entries = self.journal.pending(kind, UPLOAD_BATCH)
                if not entries:
                    break
                try:
                    await self.platform.upload(path, key, [entry.payload for entry in entries])
                except PlatformRefusedError as error:
                    if not self._set_aside(entries, error):
                        raise
                    continue
                except PlatformUnavailableError:
                    self._platform_failed()
                    raise
                self._heard_from_platform()
                self.journal.mark_uploaded(entry.event_id for entry in entries)
                sent += len(entries)
        # The uses the agent has seen stay: the platform's count is only known again from
        # its next answer about each pass (ADR 0006).
        return sent

    def _set_aside(self, entries: list[Any], error: PlatformRefusedError) -> bool:
        """The platform refused some items of a batch (all or nothing, by index): keep those
        aside with the reason, so the rest of the journal is not stuck behind them."""
        details = error.body.get("details")
        if error.status != 422 or not isinstance(details, list):
            return False
        indexes = {
            detail["loc"][1]
            for detail in details
            if isinstance(detail, dict)
            and isinstance(detail.get("loc"), list)
            and len(detail["loc"]) > 1
            and isinstance(detail["loc"][1], int)
            and 0 <= detail["loc"][1] < len(entries)
        }
        for index in indexes:
            logger.error("platform refused journal item %s: %s", entries[index].event_id, details)
            self.journal.mark_rejected(entries[index].event_id, str(details)[:500])
        return bool(indexes)

    # --- commands from the platform (the console's "test" button) ---------------------------
    # The passage that follows a test pulse is reported as a ``test_passage``, so someone who
    # walks through on it is recorded, and not as a visitor.

    async def _run_commands(self) -> None:
        try:
            response = await self.platform.request("POST", "/commands/claim", {}, timeout=5.0)
        except (PlatformUnavailableError, PlatformRefusedError):
            return
        self._heard_from_platform()
        for command in (response.body or {}).get("commands", []):
            await self._run_command(command)

    async def _run_command(self, command: dict[str, Any]) -> None:
        found = self.gates.get(int(command.get("gate_id", 0)))
        ok, message = False, "this agent does not drive the gate"
        if found is not None:
            link, binding = found
            try:
                await link.pulse(binding.lane, str(command.get("direction") or "in"), kind="test")
                ok, message = True, ""
            except ControllerUnavailableError as error:
                message = str(error)
        try:
            await self.platform.request(
                "POST", f"/commands/{int(command['id'])}/done", {"ok": ok, "message": message[:200]}
            )
        except (PlatformUnavailableError, PlatformRefusedError) as error:
            logger.warning("could not report command %s: %s", command.get("id"), error)


def _pass_zones(body: dict[str, Any]) -> dict[int, tuple[str, ...]]:
    """The platform's ``/zones`` list as pass id -> zones; a malformed item is skipped (its
    pass then opens every zone offline, as before zones were synced)."""
    zones: dict[int, tuple[str, ...]] = {}
    for item in body.get("passes", []):
        try:
            zones[int(item["pass_id"])] = tuple(str(zone) for zone in item["zones"])
        except (KeyError, TypeError, ValueError):
            logger.warning("ignored a malformed pass zone from the platform")
    return zones
