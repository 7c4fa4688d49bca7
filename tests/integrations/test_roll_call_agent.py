"""The gate agent's offline roll call: with the platform stopped, marshals on the building
network still get the list of people inside, as last synced and adjusted by the passages the
agent has seen since, on a read-only page that needs the agent's HTTP token."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.access.conftest import make_pass, make_visit, make_visitor, slip_token
from tests.integrations.conftest import HTTP_TOKEN, LivePlatform, running_site
from tests.integrations.test_gate_agent import run
from visit_platform.access.actions import decide_scan
from visit_platform.access.models import AccessEvent, Gate, Pass


async def get(port: int, path: str, headers: str = "", method: str = "GET") -> tuple[int, str, str]:
    """(status, head, body) of one plain HTTP/1.1 request to the agent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: agent\r\n{headers}\r\n".encode())
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.decode("latin-1"), body.decode()


def visitor_inside(name: str, mobile: str, gate: Gate, companions: int = 0) -> Pass:
    visit = make_visit(visitor=make_visitor(name=name, mobile=mobile, id_number=""))
    type(visit).objects.filter(pk=visit.pk).update(companions=companions)
    pass_record = make_pass(visit)
    assert decide_scan(gate=gate, token=slip_token(pass_record)).granted
    return pass_record


def test_the_agent_serves_the_people_inside_while_the_platform_is_stopped(
    committed: LivePlatform, tmp_path: Path
) -> None:
    """Synced once, then the platform refuses connections: the page lists who was inside at
    the sync, without the one who left through the agent's gate since, with the one who came
    in since (by pass number: the agent never knew their name), and says how old it is. It
    survives an agent restart, as it lives in the journal."""
    # The platform is shared by the module's tests: whoever their scans left inside is not
    # part of this roll call.
    AccessEvent.objects.all().delete()
    later = make_pass(make_visit(visitor=make_visitor(name="孙七", mobile="13900000004")))

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            gate = site.gates[1]
            Gate.objects.filter(pk=gate.pk).update(zone="A座大堂")
            visitor_inside("韩梅梅", "13900000001", gate, companions=2)
            visitor_inside("王五", "13900000002", gate)
            leaving = visitor_inside("赵六", "13900000003", gate)
            await site.start_agent()
            assert site.agent.journal.get_state("roll_call")["people"]

            await site.relay.stop()  # the platform is unreachable from here on
            exit_answer = await site.scan(gate, slip_token(leaving), direction="out")
            entry_answer = await site.scan(gate, slip_token(later))
            assert exit_answer.startswith("GRANT") and entry_answer.startswith("GRANT")
            assert site.agent.health()["platform_reachable"] is False

            port = site.agent.reader.http_port
            status, head, page = await get(port, f"/roll-call?token={HTTP_TOKEN}")
            assert status == 200
            assert "text/html" in head and "Cache-Control: no-store" in head
            assert "韩梅梅" in page and "王五" in page and "赵六" not in page
            assert f"<td>{later.pk}</td>" in page and "Unknown (entered after the sync)" in page
            # 韩梅梅 with two companions and 王五; the newcomer's zone is not known to the agent.
            assert "A座大堂 (4)" in page and "未分区 No zone (1)" in page
            assert "+2 次通行 passages since" in page
            assert '<strong id="total">5</strong>' in page

            await site.stop_agent()
            await site.start_agent()  # still no platform: the journal has the list
            status, _head, again = await get(
                site.agent.reader.http_port,
                "/roll-call",
                headers=f"Authorization: Bearer {HTTP_TOKEN}\r\n",
            )
            assert status == 200 and "韩梅梅" in again and "赵六" not in again

    run(scenario())


def test_the_offline_roll_call_page_needs_the_agents_token_and_is_read_only(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            visitor_inside("韩梅梅", "13900000011", site.gates[1])
            await site.start_agent()
            port = site.agent.reader.http_port

            refusals = [
                ("/roll-call", "", "GET", 401),
                ("/roll-call?token=wrong", "", "GET", 401),
                ("/roll-call?token=", "", "GET", 401),
                ("/roll-call?" + "&".join(f"a{n}=1" for n in range(20)), "", "GET", 400),
                ("/roll-call?token=" + "x" * 900, "", "GET", 401),
                (f"/roll-call?token={HTTP_TOKEN}", "", "POST", 405),
                ("/roll-call", "Authorization: Basic abc\r\n", "GET", 401),
            ]
            for path, headers, method, expected in refusals:
                status, _head, body = await get(port, path, headers, method)
                assert status == expected, path[:60]
                assert "韩梅梅" not in body

    run(scenario())
