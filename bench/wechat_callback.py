"""Benchmark: a crowd scans an event's entrance code: a burst of WeChat callbacks.

WeChat gives the account's callback 5 seconds to answer each event, then retries it (three
times) and finally shows the user "该公众号暂时无法提供服务". When an event's code is on the
screen at the entrance, hundreds of people scan it within a minute: first-timers follow the
account through the code (``subscribe`` with ``qrscene_...``), followers send ``SCAN``.

This script provisions a building with an event and an Official Account on a scratch database
(created and dropped here, as ``bench/gate_decision.py`` does), starts the platform as in
production (uvicorn, production settings, ``--workers`` processes) on a free loopback port,
builds ``--events`` signed and AES-encrypted events with the WeChat sandbox (wechatpy's crypto,
safe mode, each from a different WeChat user, half ``subscribe`` and half ``SCAN``, all with the
event's scene), and sends them ``--concurrency`` at a time, a new connection each, as fast as
the answers come. It counts the events answered with the event's link within 5 s, the latency
of each (p50, p99, max), the events answered per second, and where the CPU went.

Prints its figures; they go into docs/performance.md with the machine. Never run by CI.

    python bench/wechat_callback.py --events 1000 --concurrency 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.gate_decision import (  # noqa: E402
    HttpConnection,
    Server,
    cpu_sample,
    percentiles,
    postgres_version,
    production_environment,
)
from bench.public_load import cpu_model  # noqa: E402
from bench.scratch import django_on_scratch_database  # noqa: E402
from integrations.wechat.sandbox import SandboxAccount, WeChatSandbox  # noqa: E402

SCRATCH_DATABASE = "visit_bench_wechat_callback"
SLUG = "bench"
WECHAT_DEADLINE_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1000, help="events in the burst")
    parser.add_argument("--concurrency", type=int, default=50, help="events in flight at once")
    parser.add_argument("--warmup", type=int, default=100, help="events sent first, not counted")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    args = parser.parse_args()
    with django_on_scratch_database(SCRATCH_DATABASE, production_environment) as environment:
        run(args, environment)


@dataclass(frozen=True)
class Burst:
    """The signed requests to send, and what a good answer must contain."""

    appid: str
    requests: list[bytes]
    expected_link: str


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    answered_in_time: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    answers: list[bytes] = field(default_factory=list)
    wall: float = 0.0


def run(args: argparse.Namespace, environment: dict[str, str]) -> None:
    import django

    django.setup()
    started = time.perf_counter()
    sandbox = WeChatSandbox()
    remote = sandbox.add_account("wx" + secrets.token_hex(8))
    token = provision(remote)
    print(
        f"provisioned building {SLUG!r} with an event and an Official Account in safe mode "
        f"({time.perf_counter() - started:.1f} s)"
    )
    server = Server(environment, args.workers, "uvicorn")
    server.start()
    try:
        warmup = burst(sandbox, remote.appid, token, args.warmup, "warm")
        asyncio.run(send(server.port, warmup, args.concurrency))
        crowd = burst(sandbox, remote.appid, token, args.events, "crowd")
        before = cpu_sample(server.pid)
        outcome = asyncio.run(send(server.port, crowd, args.concurrency))
        after = cpu_sample(server.pid)
    finally:
        server.stop()
    correct = sum(crowd.expected_link in reply for reply in decrypted(remote, outcome.answers))
    count = len(crowd.requests)
    failures = ", ".join(f"{key} x{n}" for key, n in outcome.failures.most_common()) or "none"
    print(
        f"burst: {count} subscribe/SCAN events with the event's scene, {args.concurrency} at a "
        f"time, a new connection each; server: uvicorn, {args.workers} workers"
    )
    print(
        f"  answered within {WECHAT_DEADLINE_SECONDS:.0f} s: {outcome.answered_in_time} of "
        f"{count}; replies with the event's link: {correct}; failed requests: {failures}"
    )
    if outcome.latencies:
        print(
            f"  latency {percentiles(outcome.latencies)}; {count / outcome.wall:.0f} events/s "
            f"({outcome.wall:.2f} s for the burst)"
        )
    cores = os.cpu_count() or 1
    spent = {
        part: (getattr(after, part) - getattr(before, part)) / count * 1000
        for part in ("machine", "server", "client", "database", "redis")
    }
    print(
        f"  CPU per event {spent['machine']:.2f} ms: server workers {spent['server']:.2f} ms, "
        f"PostgreSQL {spent['database']:.2f} ms, Redis {spent['redis']:.2f} ms, load generator "
        f"{spent['client']:.2f} ms; the {cores} cores were "
        f"{(after.machine - before.machine) / outcome.wall / cores:.0%} busy"
    )
    print(
        f"machine: {cpu_model()}, {cores} cores, Python {platform.python_version()}, "
        f"{postgres_version()}"
    )


def provision(remote: SandboxAccount) -> str:
    """``setup_platform``, the building, a company, an event that starts in an hour, and the
    Official Account serving the building; returns the event's token (its code's scene)."""
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenants.actions import create_building
    from tenants.models import OfficialAccount
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company
    from visit_platform.visits.invite_tokens import event_invite_token
    from workflows.actions import events as event_actions

    call_command("setup_platform", verbosity=0)
    building = create_building(
        slug=SLUG, name="Bench Tower", admin_email=f"admin@{SLUG}.example"
    ).building
    account = OfficialAccount.objects.create(
        name="Bench Property",
        appid=remote.appid,
        secret=remote.secret,
        token=remote.token,
        encoding_aes_key=remote.encoding_aes_key,
        require_encryption=True,
    )
    building.wechat_account = account
    building.save(update_fields=["wechat_account"])
    actor = Actor.system("bench")
    with schema_context(SLUG):
        company = create_company(actor, name="Bench Company", floors="8")
        start = timezone.now() + timedelta(hours=1)
        event = event_actions.create_event(
            actor,
            name="Partner conference",
            company=company,
            starts_at=start,
            ends_at=start + timedelta(hours=4),
        )
        return event_invite_token(event)


def burst(sandbox: WeChatSandbox, appid: str, token: str, count: int, label: str) -> Burst:
    """``count`` events from as many WeChat users, signed and encrypted as WeChat sends them."""
    scene = f"b:{SLUG}:event:{token}"
    requests = []
    for index in range(count):
        openid = f"o{label}{index:06d}{secrets.token_hex(6)}"
        kind = "subscribe" if index % 2 == 0 else "SCAN"
        fields = sandbox.event_xml(appid, openid, kind, scene=scene)
        query, body = sandbox.signed_request(appid, fields, mode="safe")
        head = (
            f"POST /wechat/{appid}/?{urlencode(query)} HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        requests.append(head.encode() + body)
    # The reply links to /wx/start/?next=/wx/events/<token>/ on the building's domain.
    return Burst(appid, requests, urlencode({"next": f"/wx/events/{token}/"}))


async def send(port: int, work: Burst, concurrency: int) -> Outcome:
    """Every request of ``work``, ``concurrency`` in flight at a time, as fast as answered."""
    outcome = Outcome()
    queue = iter(work.requests)

    async def client() -> None:
        for request in queue:
            started = time.perf_counter()
            connection = await HttpConnection.open(port)
            try:
                status, payload, _keep_alive = await connection.exchange(request)
            except OSError as error:
                outcome.failures[type(error).__name__] += 1
                continue
            finally:
                connection.close()
            elapsed = time.perf_counter() - started
            if status == 200 and b"<Encrypt>" in payload:
                outcome.latencies.append(elapsed)
                outcome.answered_in_time += elapsed <= WECHAT_DEADLINE_SECONDS
                outcome.answers.append(payload)
            else:
                outcome.failures[f"HTTP {status}"] += 1

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    outcome.wall = time.perf_counter() - began
    return outcome


def decrypted(remote: SandboxAccount, answers: list[bytes]) -> list[str]:
    """The replies as the users' WeChat shows them."""
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(remote.token, remote.encoding_aes_key, remote.appid)
    texts = []
    for answer in answers:
        document = xmltodict.parse(answer)["xml"]
        inner = crypto.decrypt_message(
            document, document["MsgSignature"], document["TimeStamp"], document["Nonce"]
        )
        texts.append(str(xmltodict.parse(inner)["xml"].get("Content", "")))
    return texts


if __name__ == "__main__":
    main()
