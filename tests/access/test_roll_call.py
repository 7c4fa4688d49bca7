"""Evacuation roll calls: the snapshot of who is inside by zone, marshals marking at once and
seeing each other's marks live, hosts marking only their own visitors, the printed list, the
summary kept at closing, and the gate API's list for the agents' offline page."""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

import channels.db
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client

from kernel.errors import ConflictError, PermissionDeniedError
from tenants.actions import building_domain
from tenants.models import Building, User
from tests.access.conftest import (
    make_agent,
    make_gate,
    make_host,
    make_pass,
    make_visit,
    make_visitor,
    slip_token,
)
from tests.conftest import client_for, member
from visit_platform.access.actions import (
    close_roll_call,
    decide_scan,
    mark_roll_call_entry,
    start_roll_call,
)
from visit_platform.access.models import Gate, Pass, RollCall, RollCallEntry
from visit_platform.asgi import application
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host

SYSTEM = Actor.system("tests")
DEADLINE = 10


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """channels would close the test's connection (and its uncommitted rows) around every
    database call of a consumer."""
    monkeypatch.setattr(channels.db, "close_old_connections", lambda **kwargs: None)


def inside(name: str, mobile: str, gate: Gate, host: Host | None = None, **visit: Any) -> Pass:
    """A visitor who came in through ``gate``."""
    visitor = make_visitor(name=name, mobile=mobile, id_number="")
    # Every zone: the lobby and the garage are zones of their own here, not the company's floors.
    pass_record = make_pass(make_visit(visitor=visitor, host=host or make_host()), zones=[])
    if visit:
        type(pass_record.visit).objects.filter(pk=pass_record.visit_id).update(**visit)
    assert decide_scan(gate=gate, token=slip_token(pass_record)).granted
    return pass_record


@pytest.fixture
def lobby(in_alpha: Building) -> Gate:
    return make_gate("大堂闸机", zone="A座大堂")


@pytest.fixture
def garage(in_alpha: Building) -> Gate:
    return make_gate("车库闸机", zone="地下车库")


def entry_of(roll_call: RollCall, name: str) -> RollCallEntry:
    return roll_call.entries.get(name=name)


# --- Actions --------------------------------------------------------------------------------


def test_a_roll_call_lists_everyone_inside_by_the_zone_they_came_in_through(
    lobby: Gate, garage: Gate
) -> None:
    inside("韩梅梅", "13800000011", lobby, companions=2)
    inside("王五", "13800000012", garage)
    left = inside("赵六", "13800000013", lobby)
    decide_scan(gate=lobby, token=slip_token(left), direction="out")

    roll_call = start_roll_call(SYSTEM)

    rows = list(roll_call.entries.values_list("zone", "name", "companions", "status"))
    assert sorted(rows) == [
        ("A座大堂", "韩梅梅", 2, "unaccounted"),
        ("地下车库", "王五", 0, "unaccounted"),
    ]
    started = AuditEntry.objects.get(verb="roll_call.started")
    assert started.detail == {"entries": 2, "people": 4}


def test_only_one_roll_call_is_open_at_a_time(in_alpha: Building) -> None:
    start_roll_call(SYSTEM)

    with pytest.raises(ConflictError) as refused:
        start_roll_call(SYSTEM)

    assert refused.value.code == "roll_call_open"
    assert RollCall.objects.count() == 1


def test_closing_keeps_the_counts_in_the_audit_log_and_stops_marks(lobby: Gate) -> None:
    inside("韩梅梅", "13800000021", lobby, companions=1)
    inside("王五", "13800000022", lobby)
    inside("赵六", "13800000023", lobby)
    roll_call = start_roll_call(SYSTEM)
    mark_roll_call_entry(SYSTEM, entry_of(roll_call, "韩梅梅").pk, "safe")
    mark_roll_call_entry(SYSTEM, entry_of(roll_call, "王五").pk, "missing")

    close_roll_call(SYSTEM, roll_call)

    summary = {"safe": 2, "missing": 1, "unaccounted": 1, "entries": 3}
    assert AuditEntry.objects.get(verb="roll_call.closed").detail == summary
    roll_call.refresh_from_db()
    assert (roll_call.is_open, roll_call.summary) == (False, summary)
    with pytest.raises(ConflictError):
        mark_roll_call_entry(SYSTEM, entry_of(roll_call, "赵六").pk, "safe")
    with pytest.raises(ConflictError):
        close_roll_call(SYSTEM, roll_call)
    start_roll_call(SYSTEM)  # the next evacuation may start


def test_a_mark_is_audited_and_a_bad_status_changes_nothing(lobby: Gate) -> None:
    inside("韩梅梅", "13800000031", lobby)
    roll_call = start_roll_call(SYSTEM)
    entry = entry_of(roll_call, "韩梅梅")

    with pytest.raises(Exception) as refused:
        mark_roll_call_entry(SYSTEM, entry.pk, "evacuated; DROP TABLE")
    mark_roll_call_entry(SYSTEM, entry.pk, "missing")

    assert getattr(refused.value, "code", "") == "invalid_status"
    [marked] = AuditEntry.objects.filter(verb="roll_call.marked")
    assert marked.detail == {"status": "missing", "previous": "unaccounted"}


def test_a_host_may_mark_only_their_own_visitors(lobby: Gate) -> None:
    own_host, other_host = make_host(), make_host()
    inside("韩梅梅", "13800000041", lobby, host=own_host)
    inside("王五", "13800000042", lobby, host=other_host)
    roll_call = start_roll_call(SYSTEM)

    mark_roll_call_entry(
        SYSTEM, entry_of(roll_call, "韩梅梅").pk, "safe", only_for_hosts=[own_host]
    )
    with pytest.raises(PermissionDeniedError):
        mark_roll_call_entry(
            SYSTEM, entry_of(roll_call, "王五").pk, "safe", only_for_hosts=[own_host]
        )

    assert entry_of(roll_call, "王五").status == "unaccounted"


# --- Two marshals at once, live ---------------------------------------------------------------


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user, backend="visit_platform.directory.backends.MembershipBackend")
    return client.cookies["sessionid"].value


def socket(building: Building, roll_call: RollCall, user: User) -> WebsocketCommunicator:
    host = building_domain(building.schema_name)
    headers = [
        (b"host", host.encode()),
        (b"origin", f"http://{host}".encode()),
        (b"cookie", f"sessionid={session_cookie(user)}".encode()),
    ]
    return WebsocketCommunicator(application, f"/ws/roll-call/{roll_call.pk}/", headers=headers)


def test_two_marshals_marking_at_once_both_see_both_marks_and_agree_on_the_last(
    lobby: Gate, alpha: Building, django_capture_on_commit_callbacks: Any
) -> None:
    """Two marshals' phones, both marking the same person: each phone hears every mark, and
    the highest version of a person is the same on both, which is the status the database
    kept (last write wins)."""
    inside("韩梅梅", "13800000051", lobby)
    inside("王五", "13800000052", lobby)
    roll_call = start_roll_call(SYSTEM)
    first = member(alpha, "marshal1@alpha.example", Role.SECURITY)
    second = member(alpha, "marshal2@alpha.example", Role.SECURITY)
    hanmeimei, wangwu = entry_of(roll_call, "韩梅梅"), entry_of(roll_call, "王五")
    phones = [socket(alpha, roll_call, first), socket(alpha, roll_call, second)]

    def mark_at_once() -> None:
        # Two marks on one person as the row lock orders them (the test's rows are
        # uncommitted, so no other connection can see them), and one on the other person.
        with django_capture_on_commit_callbacks(execute=True):
            mark_roll_call_entry(Actor(user=first), hanmeimei.pk, "safe")
            mark_roll_call_entry(Actor(user=second), hanmeimei.pk, "missing")
            mark_roll_call_entry(Actor(user=second), wangwu.pk, "safe")

    async def scenario() -> list[list[dict[str, Any]]]:
        # The phones live in this one event loop: a communicator's consumer runs only while
        # the loop that started it does.
        for phone in phones:
            connected, _ = await phone.connect(timeout=DEADLINE)
            assert connected
            assert (await phone.receive_json_from(timeout=DEADLINE))["type"] == "hello"
        await sync_to_async(mark_at_once)()
        seen = []
        for phone in phones:
            seen.append([await phone.receive_json_from(timeout=DEADLINE) for _ in range(3)])
            await phone.disconnect(timeout=DEADLINE)
        return seen

    seen = async_to_sync(scenario)()

    hanmeimei.refresh_from_db()
    assert (hanmeimei.status, hanmeimei.version, hanmeimei.marked_by) == ("missing", 2, second)
    for received in seen:
        assert {(item["id"], item["status"], item["version"]) for item in received} == {
            (hanmeimei.pk, "safe", 1),
            (hanmeimei.pk, "missing", 2),
            (wangwu.pk, "safe", 1),
        }
        latest = max(
            (item for item in received if item["id"] == hanmeimei.pk),
            key=lambda item: item["version"],
        )
        assert (latest["status"], latest["marked_by"]) == ("missing", "marshal2@alpha.example")


def test_a_host_s_phone_hears_only_of_their_own_visitors(
    lobby: Gate, alpha: Building, django_capture_on_commit_callbacks: Any
) -> None:
    own_host = make_host()
    user = member(alpha, "host-rc@alpha.example", Role.HOST, own_host.company)
    Host.objects.filter(pk=own_host.pk).update(user=user)
    inside("韩梅梅", "13800000061", lobby, host=own_host)
    inside("王五", "13800000062", lobby)
    roll_call = start_roll_call(SYSTEM)
    phone = socket(alpha, roll_call, user)

    def mark_both() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            mark_roll_call_entry(SYSTEM, entry_of(roll_call, "王五").pk, "safe")
            mark_roll_call_entry(SYSTEM, entry_of(roll_call, "韩梅梅").pk, "missing")

    async def scenario() -> list[dict[str, Any]]:
        connected, _ = await phone.connect(timeout=DEADLINE)
        assert connected
        await phone.receive_json_from(timeout=DEADLINE)
        await sync_to_async(mark_both)()
        heard = [await phone.receive_json_from(timeout=DEADLINE)]
        assert await phone.receive_nothing(timeout=0.5)
        await phone.disconnect(timeout=DEADLINE)
        return heard

    heard = async_to_sync(scenario)()
    assert [(item["id"], item["status"]) for item in heard] == [
        (entry_of(roll_call, "韩梅梅").pk, "missing")
    ]


def test_a_user_without_a_roll_call_role_cannot_listen(lobby: Gate, alpha: Building) -> None:
    roll_call = start_roll_call(SYSTEM)
    receptionist = member(alpha, "reception-rc@alpha.example", Role.RECEPTION)
    phone = socket(alpha, roll_call, receptionist)

    async def scenario() -> Any:
        connected, code = await phone.connect(timeout=DEADLINE)
        await phone.disconnect(timeout=DEADLINE)
        return connected, code

    assert async_to_sync(scenario)() == (False, 4403)


# --- Pages ----------------------------------------------------------------------------------


def test_starting_needs_the_confirmation_and_a_role_that_runs_roll_calls(
    lobby: Gate, alpha: Building
) -> None:
    inside("韩梅梅", "13800000071", lobby)
    security = client_for(alpha, member(alpha, "guard@alpha.example", Role.SECURITY))
    company = make_host().company
    host = client_for(alpha, member(alpha, "host-start@alpha.example", Role.HOST, company))

    unconfirmed = security.post("/roll-call/start/")
    by_host = host.post("/roll-call/start/", {"confirm": "yes"})
    assert (unconfirmed.status_code, by_host.status_code) == (400, 403)
    assert RollCall.objects.count() == 0

    started = security.post("/roll-call/start/", {"confirm": "yes"})
    roll_call = RollCall.objects.get()
    assert started["Location"] == f"/roll-call/{roll_call.pk}/"
    again = security.post("/roll-call/start/", {"confirm": "yes"})
    assert again.status_code == 409


def test_the_marshal_page_shows_full_names_by_zone_and_its_opening_is_audited(
    lobby: Gate, garage: Gate, alpha: Building
) -> None:
    inside("韩梅梅", "13800000081", lobby, companions=2)
    inside("王五", "13800000082", garage)
    roll_call = start_roll_call(SYSTEM)
    security = client_for(alpha, member(alpha, "guard2@alpha.example", Role.SECURITY))

    page = security.get(f"/roll-call/{roll_call.pk}/").content.decode()

    assert "韩梅梅" in page and "王五" in page
    assert (
        page.index("A座大堂") < page.index("韩梅梅") < page.index("地下车库") < page.index("王五")
    )
    assert f"/ws/roll-call/{roll_call.pk}/" in page
    assert AuditEntry.objects.filter(verb="roll_call.viewed", object_id=str(roll_call.pk)).count()


def test_a_host_sees_and_marks_only_their_own_visitors_on_the_page(
    lobby: Gate, alpha: Building
) -> None:
    own_host = make_host()
    user = member(alpha, "host-page@alpha.example", Role.HOST, own_host.company)
    Host.objects.filter(pk=own_host.pk).update(user=user)
    inside("韩梅梅", "13800000091", lobby, host=own_host)
    inside("王五", "13800000092", lobby)
    roll_call = start_roll_call(SYSTEM)
    client = client_for(alpha, user)

    page = client.get(f"/roll-call/{roll_call.pk}/").content.decode()
    own = client.post(
        f"/roll-call/{roll_call.pk}/entries/{entry_of(roll_call, '韩梅梅').pk}/",
        {"status": "safe"},
        HTTP_ACCEPT="application/json",
    )
    other = client.post(
        f"/roll-call/{roll_call.pk}/entries/{entry_of(roll_call, '王五').pk}/",
        {"status": "safe"},
        HTTP_ACCEPT="application/json",
    )

    assert "韩梅梅" in page and "王五" not in page
    assert "Close the roll call" not in page and "结束点名" not in page
    assert (own.status_code, own.json()["status"]) == (200, "safe")
    assert (other.status_code, other.json()["code"]) == (403, "not_your_visitor")
    assert entry_of(roll_call, "王五").status == "unaccounted"
    assert client.get(f"/roll-call/{roll_call.pk}/roll-call.pdf").status_code == 403
    assert client.post(f"/roll-call/{roll_call.pk}/close/").status_code == 403


def test_marking_refuses_a_forged_entry_or_status_and_changes_nothing(
    lobby: Gate, alpha: Building
) -> None:
    inside("韩梅梅", "13800000101", lobby)
    roll_call = start_roll_call(SYSTEM)
    entry = entry_of(roll_call, "韩梅梅")
    security = client_for(alpha, member(alpha, "guard3@alpha.example", Role.SECURITY))
    url = f"/roll-call/{roll_call.pk}/entries/{entry.pk}/"

    bad_status = security.post(url, {"status": "x" * 5000}, HTTP_ACCEPT="application/json")
    other_roll_call = security.post(
        f"/roll-call/{roll_call.pk + 1}/entries/{entry.pk}/",
        {"status": "safe"},
        HTTP_ACCEPT="application/json",
    )
    read_only = security.get(url)

    assert (bad_status.status_code, bad_status.json()["code"]) == (400, "invalid_status")
    assert other_roll_call.status_code == 404
    assert read_only.status_code == 405
    entry.refresh_from_db()
    assert (entry.status, entry.version) == ("unaccounted", 0)


def test_closing_from_the_page_keeps_the_summary(lobby: Gate, alpha: Building) -> None:
    inside("韩梅梅", "13800000111", lobby)
    roll_call = start_roll_call(SYSTEM)
    security = client_for(alpha, member(alpha, "guard4@alpha.example", Role.SECURITY))

    response = security.post(f"/roll-call/{roll_call.pk}/close/")

    assert response.status_code == 302
    assert AuditEntry.objects.get(verb="roll_call.closed").detail == {
        "safe": 0,
        "missing": 0,
        "unaccounted": 1,
        "entries": 1,
    }
    assert "roll_call.closed" not in security.get("/roll-call/").content.decode()


# --- The PDF --------------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    """The text a PDF from reportlab shows, read back through its fonts' ToUnicode maps (the
    embedded CJK subsets number their glyphs, so the bytes alone are not the text)."""
    objects: dict[bytes, bytes] = {}
    for match in re.finditer(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S):
        body = match.group(2)
        stream = re.search(rb"stream\r?\n(.*?)endstream", body, re.S)
        if stream and b"FlateDecode" in body:
            data = stream.group(1).strip()
            if b"ASCII85Decode" in body:
                data = base64.a85decode(data.removesuffix(b"~>"))
            body = body[: stream.start()] + zlib.decompressobj().decompress(data)
        objects[match.group(1)] = body
    fonts: dict[bytes, dict[int, str]] = {}
    for name, number in re.findall(rb"/(F[\d+]+) (\d+) 0 R", b"".join(objects.values())):
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects.get(number, b""))
        if to_unicode is None:
            continue
        cmap = objects[to_unicode.group(1)]
        fonts[name] = {
            int(code, 16): chr(int(char, 16))
            for code, char in re.findall(rb"<([0-9A-F]{2})> <([0-9A-F]{4})>", cmap)
        }
    text: list[str] = []
    current: dict[int, str] = {}
    for content in objects.values():
        for match in re.finditer(rb"/(F[\d+]+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            if match.group(1):
                current = fonts.get(match.group(1), {})
                continue
            raw = re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda escape: (
                    bytes([int(escape.group(1), 8)])
                    if escape.group(1)[:1].isdigit()
                    else escape.group(1)
                ),
                match.group(2),
            )
            # reportlab's subsets keep ASCII at its own codes; the map names the rest.
            text.append(
                "".join(
                    current[byte] if current.get(byte, "\0") != "\0" else chr(byte) for byte in raw
                )
            )
        text.append("\n")
    return "".join(text)


def test_the_pdf_lists_each_zone_s_people_with_their_status(
    lobby: Gate, garage: Gate, alpha: Building
) -> None:
    inside("韩梅梅", "13800000121", lobby, companions=1)
    inside("王五", "13800000122", garage)
    roll_call = start_roll_call(SYSTEM)
    mark_roll_call_entry(SYSTEM, entry_of(roll_call, "韩梅梅").pk, "safe")
    mark_roll_call_entry(SYSTEM, entry_of(roll_call, "王五").pk, "missing")
    security = client_for(alpha, member(alpha, "guard5@alpha.example", Role.SECURITY))

    response = security.get(f"/roll-call/{roll_call.pk}/roll-call.pdf")

    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "A座大堂 (2)" in text and "地下车库 (1)" in text
    lines = text.splitlines()
    assert any("韩梅梅" in line and "安全 Safe" in line for line in lines), text
    assert any("王五" in line and "失联 Missing" in line for line in lines), text
    assert "安全 Safe 2 · 失联 Missing 1 · 未确认 Unaccounted 0" in text
    assert AuditEntry.objects.filter(verb="roll_call.viewed", detail__view="pdf").count() == 1


# --- The gate API's list for the agents -------------------------------------------------------


def api(building: Building, key: str | None, **headers: str) -> Client:
    extra = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    extra.update(headers)
    return Client(HTTP_HOST=building_domain(building.schema_name), **extra)


def test_the_gate_api_lists_the_people_inside_with_minimal_fields_and_an_etag(
    lobby: Gate, alpha: Building
) -> None:
    pass_record = inside("韩梅梅", "13800000131", lobby, companions=2)
    _agent, key = make_agent()

    first = api(alpha, key).get("/api/gate/roll-call")
    unchanged = api(alpha, key, HTTP_IF_NONE_MATCH=first["ETag"]).get("/api/gate/roll-call")
    decide_scan(gate=lobby, token=slip_token(pass_record), direction="out")
    changed = api(alpha, key, HTTP_IF_NONE_MATCH=first["ETag"]).get("/api/gate/roll-call")

    assert first.status_code == 200
    [person] = first.json()["people"]
    visit = pass_record.visit
    assert set(person) == {"pass_id", "name", "host", "company", "companions", "zone", "since"}
    assert (person["pass_id"], person["name"], person["host"], person["company"]) == (
        pass_record.pk,
        "韩梅梅",
        visit.host.name,
        visit.host.company.name,
    )
    assert (person["companions"], person["zone"]) == (2, "A座大堂")
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert (changed.status_code, changed.json()["people"]) == (200, [])


def test_the_gate_api_list_needs_an_agent_key_of_this_building(
    lobby: Gate, alpha: Building, beta: Building
) -> None:
    inside("韩梅梅", "13800000141", lobby)
    _agent, key = make_agent()

    missing = api(alpha, None).get("/api/gate/roll-call")
    forged = api(alpha, key[:-2] + "xx").get("/api/gate/roll-call")
    garbage = api(alpha, "not a key at all" * 50).get("/api/gate/roll-call")
    weird_etag = api(alpha, key, HTTP_IF_NONE_MATCH='"' + "x" * 5000).get("/api/gate/roll-call")
    connection.set_schema_to_public()
    other_building = api(beta, key).get("/api/gate/roll-call")

    for refused in (missing, forged, garbage, other_building):
        assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
        assert "韩梅梅" not in refused.content.decode()
    assert weird_etag.status_code == 200


def test_the_console_page_offers_the_start_to_security_and_the_open_roll_call_to_hosts(
    lobby: Gate, alpha: Building
) -> None:
    security = client_for(alpha, member(alpha, "guard6@alpha.example", Role.SECURITY))
    company = make_host().company
    host = client_for(alpha, member(alpha, "host-home@alpha.example", Role.HOST, company))
    receptionist = client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))

    before = security.get("/roll-call/").content.decode()
    host_before = host.get("/roll-call/").content.decode()
    roll_call = start_roll_call(SYSTEM)
    host_during = host.get("/roll-call/").content.decode()

    assert 'name="confirm"' in before
    assert 'name="confirm"' not in host_before and "当前没有进行中的点名" in host_before
    assert f'href="/roll-call/{roll_call.pk}/"' in host_during
    assert f"/roll-call/{roll_call.pk}/roll-call.pdf" not in host_during
    assert receptionist.get("/roll-call/").status_code == 403
