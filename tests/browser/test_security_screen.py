"""The security screen in a real browser, its socket client driven by protocol messages.

The page's WebSocket is replaced by a stand-in the test holds (``window.__sockets``): the
test plays the server (snapshot, deltas, closing the connection) and reads what the client
sends, so these tests need no occupancy consumer. Acknowledging goes to the real endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.conftest import LiveBuilding, run_committed, screenshot, wait_for
from visit_platform.access.actions import raise_alert
from visit_platform.access.actions.alerts import alert_payload
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

FAKE_SOCKET = """
window.__sockets = [];
class FakeSocket {
  static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
  constructor(url) {
    this.url = url; this.readyState = 0; this.sent = [];
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    window.__sockets.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.serverClose(1000); }
  open() { this.readyState = 1; if (this.onopen) this.onopen({}); }
  receive(message) { if (this.onmessage) this.onmessage({ data: JSON.stringify(message) }); }
  serverClose(code) { this.readyState = 3; if (this.onclose) this.onclose({ code }); }
}
window.WebSocket = FakeSocket;
"""


def iso(moment: datetime) -> str:
    return moment.isoformat()


def person(visit_id: int, name: str, **fields: Any) -> dict[str, Any]:
    now = timezone.now()
    return {
        "visit_id": visit_id,
        "pass_id": visit_id + 1000,
        "name": name,
        "host": "张伟",
        "company": "星河科技有限公司",
        "companions": 0,
        "since": iso(now - timedelta(minutes=40)),
        "gate": "A1 闸机",
        "gate_id": 1,
        "zone": "大堂",
        "valid_until": iso(now + timedelta(hours=2)),
        "overstay": False,
    } | fields


def snapshot(seq: int = 10, **fields: Any) -> dict[str, Any]:
    now = timezone.now()
    local = timezone.localtime(now)
    return {
        "type": "snapshot",
        "seq": seq,
        "building": "浏览器测试大厦",
        "now": iso(now),
        "day_start": iso(local.replace(hour=0, minute=0, second=0, microsecond=0)),
        "names": "full",
        "grace_minutes": 15,
        "inside": [
            person(1, "韩梅梅", companions=2),
            person(
                2,
                "王强",
                valid_until=iso(now - timedelta(hours=1)),
                zone="8F",
                gate="8F 门禁",
                gate_id=2,
            ),
        ],
        "arrived_today": [1, 2, 3],
        "left_today": [3],
        "expected": [
            {
                "visit_id": 4,
                "name": "赵敏",
                "host": "张伟",
                "company": "星河科技有限公司",
                "companions": 0,
                "valid_from": iso(now + timedelta(hours=1)),
                "valid_until": iso(now + timedelta(hours=3)),
            }
        ],
        "anonymous": {"entries": 5, "exits": 3},
        "alerts": [],
        "gates": [
            {
                "id": 1,
                "name": "A1 闸机",
                "zone": "大堂",
                "direction": "in",
                "online": True,
                "controller": "大堂控制器",
            },
            {
                "id": 2,
                "name": "8F 门禁",
                "zone": "8F",
                "direction": "both",
                "online": True,
                "controller": "8F 控制器",
            },
            {
                "id": 3,
                "name": "B1 车库",
                "zone": "B1",
                "direction": "both",
                "online": None,
                "controller": None,
            },
        ],
        "zones": ["大堂", "8F", "B1"],
    } | fields


def entry(
    seq: int, visit_id: int | None, name: str = "", direction: str = "in", **fields: Any
) -> dict[str, Any]:
    return {
        "type": "access_event",
        "seq": seq,
        "event_id": f"event-{seq}",
        "gate": "A1 闸机",
        "gate_id": 1,
        "zone": "大堂",
        "direction": direction,
        "granted": True,
        "reason": "granted" if visit_id else "passage",
        "occurred_at": iso(timezone.now()),
        "visit_id": visit_id,
        "first_entry": direction == "in",
        "person": person(visit_id, name) if visit_id and direction == "in" else None,
    } | fields


def sign_in(page: Any, live: LiveBuilding, email: str = "security@demo.example.com") -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


class Screen:
    """The open screen and the stand-in socket it talks to."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def socket(self, method: str, *args: Any) -> Any:
        return self.page.evaluate(
            "([method, args]) => window.__sockets.at(-1)[method](...args)", [method, list(args)]
        )

    def open(self, message: dict[str, Any] | None = None) -> None:
        wait_for(self.page, "window.__sockets && window.__sockets.length > 0")
        self.socket("open")
        if message is not None:
            self.receive(message)

    def receive(self, message: dict[str, Any]) -> None:
        self.socket("receive", message)

    def sent(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.__sockets.at(-1).sent"))

    def text(self, element_id: str) -> str:
        return str(self.page.locator(f"#{element_id}").inner_text())

    def wait_text(self, element_id: str, text: str) -> None:
        wait_for(
            self.page,
            "([id, text]) => document.getElementById(id).textContent.trim() === text",
            arg=[element_id, text],
            timeout=5000,
        )


def open_screen(
    browser: Any,
    live: LiveBuilding,
    language: str = "en",
    fake_clock: bool = False,
    **context: Any,
) -> Iterator[Screen]:
    options = {"viewport": {"width": 1360, "height": 820}} | context
    browser_context = browser.new_context(**options)
    browser_context.add_init_script(FAKE_SOCKET)
    browser_context.add_cookies([{"name": "django_language", "value": language, "url": live.url}])
    page = browser_context.new_page()
    sign_in(page, live)
    if fake_clock:  # the page's timers then run only when the test moves the clock
        page.clock.install(time=timezone.now())
    page.goto(f"{live.url}/security/")
    yield Screen(page)
    browser_context.close()


@pytest.fixture
def screen(browser: Any, live_building: LiveBuilding) -> Iterator[Screen]:
    yield from open_screen(browser, live_building)


@pytest.fixture
def committed(live_building: LiveBuilding, django_db_blocker: Any) -> Any:
    return lambda function: run_committed(live_building, django_db_blocker, function)


def test_the_snapshot_fills_the_numbers_the_list_and_the_gates(screen: Screen) -> None:
    page = screen.page
    assert screen.text("connection-state") == "Connecting…"
    screen.open(snapshot())

    screen.wait_text("connection-state", "Live")
    assert screen.text("count-inside") == "4"  # two visitors, one with two companions
    assert screen.text("count-arrived") == "3"
    assert screen.text("count-left") == "1"
    assert screen.text("count-expected") == "1"
    assert screen.text("count-overstay") == "1"  # 王强: window ended an hour ago, grace 15 min
    assert screen.text("count-anonymous-in") == "5"
    assert screen.text("count-anonymous-out") == "3"
    rows = page.locator("#people-rows tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-visit") == "2"  # overstays first
    assert "overstay" in (rows.nth(0).get_attribute("class") or "")
    assert "+2" in rows.nth(1).inner_text()
    assert page.locator("#gates li[data-health=online]").count() == 2
    assert page.locator("#gates li[data-health=unknown]").count() == 1
    zones = page.locator("#zones li").all_inner_texts()
    assert zones[0].split() == ["大堂", "3"]
    assert "Updated" in screen.text("last-update")


def test_deltas_are_applied_once_and_old_ones_are_ignored(screen: Screen) -> None:
    page = screen.page
    screen.open(snapshot(seq=10))

    screen.receive(entry(11, 5, "李娜"))
    screen.receive(entry(11, 5, "李娜"))  # the same delta again: idempotent
    screen.receive(entry(9, 6, "旧事件"))  # older than the snapshot: already counted in it
    screen.wait_text("count-inside", "5")
    screen.receive(entry(12, None))  # a turnstile passage without a scan
    screen.receive(entry(13, 1, direction="out"))
    screen.wait_text("count-inside", "2")

    assert screen.text("count-arrived") == "4"
    assert screen.text("count-left") == "2"
    assert screen.text("count-anonymous-in") == "6"
    assert page.locator("#people-rows tr[data-visit='6']").count() == 0
    assert page.evaluate("window.securityScreen.state.seq") == 13
    assert screen.sent() == []


def test_events_published_together_arrive_as_one_batch_applied_in_order(screen: Screen) -> None:
    screen.open(snapshot(seq=10))

    screen.receive(
        {"type": "batch", "messages": [entry(11, 5, "李娜"), entry(12, 5, "李娜", direction="out")]}
    )
    screen.wait_text("count-left", "2")

    assert screen.page.locator("#people-rows tr[data-visit='5']").count() == 0
    assert screen.page.evaluate("window.securityScreen.state.seq") == 12
    assert screen.sent() == []


def test_a_gap_not_filled_within_two_seconds_asks_for_a_resync(screen: Screen) -> None:
    screen.open(snapshot(seq=10))

    screen.receive(entry(13, 5, "李娜"))  # 11 and 12 are missing
    assert screen.page.evaluate("window.securityScreen.pendingCount") == 1
    wait_for(
        screen.page, "window.__sockets.at(-1).sent.some(m => m.type === 'resync')", timeout=5000
    )
    screen.receive(snapshot(seq=20, inside=[person(5, "李娜")]))

    screen.wait_text("count-inside", "1")
    assert screen.sent() == [{"type": "resync"}]
    assert screen.page.evaluate("window.securityScreen.pendingCount") == 0


def test_a_gap_filled_in_time_needs_no_resync(screen: Screen) -> None:
    screen.open(snapshot(seq=10))

    screen.receive(entry(12, 6, "周杰"))
    screen.receive(entry(11, 5, "李娜"))
    screen.wait_text("count-inside", "6")
    screen.page.wait_for_timeout(2500)  # past the gap's deadline

    assert screen.sent() == []


def test_a_lost_connection_shows_reconnecting_and_comes_back_with_a_new_snapshot(
    screen: Screen,
) -> None:
    page = screen.page
    screen.open(snapshot(seq=10))
    screen.wait_text("connection-state", "Live")

    screen.socket("serverClose", 1006)
    screen.wait_text("connection-state", "Reconnecting…")
    first_delay = page.evaluate("window.securityScreen.state.nextReconnectMs")
    wait_for(page, "window.__sockets.length === 2", timeout=5000)
    screen.open(snapshot(seq=3, inside=[]))  # the server restarted: its seq began again

    screen.wait_text("connection-state", "Live")
    assert screen.text("count-inside") == "0"
    assert 750 <= first_delay <= 1000
    assert page.evaluate("window.__sockets[1].url").endswith("/ws/occupancy/")
    assert page.evaluate("window.__sockets[1].url").startswith("ws://")
    delays = page.evaluate("[0, 1, 2, 3, 4, 5, 6, 10].map(window.securityScreen.backoff)")
    assert delays[0] <= 1000 and delays[1] <= 2000 and delays[4] <= 16000
    assert all(22500 <= delay <= 30000 for delay in delays[5:])


def test_a_new_urgent_alert_appears_in_red_and_is_announced(screen: Screen) -> None:
    page = screen.page
    screen.open(snapshot(seq=10))
    alert = {
        "type": "alert",
        "seq": 11,
        "id": 77,
        "event_id": "e-77",
        "kind": "door_forced",
        "urgent": True,
        "gate": "A1 闸机",
        "gate_id": 1,
        "zone": "大堂",
        "controller": "大堂控制器",
        "agent": None,
        "visit_id": None,
        "visitor": None,
        "details": {},
        "occurred_at": iso(timezone.now()),
        "acknowledged_at": None,
    }

    screen.receive(alert)
    item = page.locator("#alerts li[data-alert='77']")
    item.wait_for(timeout=2000)

    assert "urgent" in (item.get_attribute("class") or "")
    assert "Door forced open" in item.inner_text()
    assert page.evaluate("window.securityScreen.state.beeps") == 1
    screen.receive(alert | {"seq": 12, "id": 78, "kind": "agent_offline", "urgent": False})
    page.locator("#alerts li[data-alert='78']").wait_for(timeout=2000)
    assert "urgent" not in (
        page.locator("#alerts li[data-alert='78']").get_attribute("class") or ""
    )
    assert page.evaluate("window.securityScreen.state.beeps") == 1  # only urgent ones sound
    screen.receive(
        {
            "type": "alert_acknowledged",
            "seq": 13,
            "id": 77,
            "by": "x",
            "note": "ok",
            "acknowledged_at": iso(timezone.now()),
        }
    )
    item.wait_for(state="detached", timeout=2000)
    assert screen.text("alerts-count") == "1"


def test_the_sound_switch_is_remembered(screen: Screen) -> None:
    page = screen.page
    button = page.locator("#sound-toggle")
    assert button.inner_text() == "Turn sound on"

    button.click()
    assert page.evaluate("localStorage.getItem('securityScreen.sound')") == "on"
    assert button.get_attribute("aria-pressed") == "true"
    page.reload()

    assert page.locator("#sound-toggle").get_attribute("aria-pressed") == "true"


def test_a_long_day_of_messages_leaves_every_collection_bounded(screen: Screen) -> None:
    """Thousands of passages by the same people, hundreds of alerts: the maps stay keyed,
    the DOM has one row per key, nothing waits in the gap buffer."""
    page = screen.page
    screen.open(snapshot(seq=0, inside=[], arrived_today=[], left_today=[], expected=[]))

    page.evaluate(
        """() => {
        const now = new Date().toISOString();
        let seq = 0;
        for (let round = 0; round < 40; round++) {
          for (let visit = 1; visit <= 50; visit++) {
            for (const direction of ["in", "out"]) {
              seq += 1;
              window.securityScreen.apply({type: "access_event", seq, event_id: `e-${seq}`,
                gate: "A1", gate_id: 1, zone: "大堂", direction, granted: true,
                reason: "granted", occurred_at: now, visit_id: visit, first_entry: round === 0,
                person: direction === "in" ? {visit_id: visit, name: `v${visit}`, host: "h",
                  company: "c", companions: 0, since: now, gate: "A1", gate_id: 1, zone: "大堂",
                  valid_until: now, overstay: false} : null});
            }
          }
        }
        for (let id = 1; id <= 300; id++) {
          seq += 1;
          window.securityScreen.apply({type: "alert", seq, id, kind: "alarm", urgent: false,
            occurred_at: new Date(Date.now() + id * 1000).toISOString(), acknowledged_at: null});
        }
        for (let visit = 1; visit <= 10; visit++) {
          seq += 1;
          window.securityScreen.apply({type: "access_event", seq, event_id: `last-${visit}`,
            gate: "A1", gate_id: 1, zone: "大堂", direction: "in", granted: true,
            reason: "granted", occurred_at: now, visit_id: visit, first_entry: false,
            person: {visit_id: visit, name: `v${visit}`, host: "h", company: "c", companions: 0,
              since: now, gate: "A1", gate_id: 1, zone: "大堂", valid_until: now,
              overstay: false}});
        }
      }"""
    )
    screen.wait_text("count-inside", "10")

    state = page.evaluate(
        """() => { const s = window.securityScreen;
        return {inside: s.state.inside.size, arrived: s.state.arrived.size,
          left: s.state.left.size, alerts: s.state.alerts.size, pending: s.pendingCount,
          seq: s.state.seq}; }"""
    )
    assert state == {
        "inside": 10,
        "arrived": 50,
        "left": 40,
        "alerts": 200,
        "pending": 0,
        "seq": 40 * 100 + 300 + 10,
    }
    assert page.locator("#people-rows tr").count() == 10
    assert page.locator("#alerts li").count() == 200
    assert page.locator("#alerts li").first.get_attribute("data-alert") == "300"  # newest kept


def test_overstays_come_due_and_the_screen_resyncs_every_ten_minutes_and_at_midnight(
    browser: Any, live_building: LiveBuilding
) -> None:
    now = timezone.now()
    for screen in open_screen(browser, live_building, fake_clock=True):
        # The building's next midnight is 25 minutes away.
        screen.open(
            snapshot(
                inside=[person(1, "韩梅梅", valid_until=iso(now + timedelta(minutes=5)))],
                day_start=iso(now - timedelta(hours=23, minutes=35)),
            )
        )
        screen.page.clock.run_for(1000)
        assert screen.text("count-overstay") == "0"

        screen.page.clock.run_for("21:00")  # past the window and the 15 minutes' grace
        assert screen.text("count-overstay") == "1"
        assert "overstay" in (screen.page.locator("#people-rows tr").get_attribute("class") or "")
        assert screen.sent() == [{"type": "resync"}] * 2  # at 10 and 20 minutes

        screen.page.clock.run_for("05:00")  # midnight
        assert screen.sent() == [{"type": "resync"}] * 3


def test_an_alert_is_acknowledged_with_a_note_from_the_screen(
    screen: Screen, committed: Any
) -> None:
    page = screen.page
    alert = committed(
        lambda: raise_alert(AlertKind.ALARM, key=f"screen-test-{timezone.now().timestamp()}")[0]
    )
    payload = committed(lambda: alert_payload(Alert.objects.get(pk=alert.pk)))
    screen.open(snapshot(seq=10, alerts=[payload]))
    item = page.locator(f"#alerts li[data-alert='{alert.pk}']")
    item.wait_for(timeout=2000)

    item.locator("textarea").fill("报警已复位，现场无异常")
    item.locator("button[type=submit]").click()

    item.wait_for(state="detached", timeout=5000)
    saved = committed(lambda: Alert.objects.get(pk=alert.pk))
    assert saved.acknowledgement_note == "报警已复位，现场无异常"
    assert saved.acknowledged_by is not None
    assert saved.acknowledged_by.email == "security@demo.example.com"


def test_an_alert_someone_else_acknowledged_first_says_so(screen: Screen, committed: Any) -> None:
    page = screen.page
    alert = committed(
        lambda: raise_alert(AlertKind.ALARM, key=f"screen-race-{timezone.now().timestamp()}")[0]
    )
    payload = committed(lambda: alert_payload(Alert.objects.get(pk=alert.pk)))
    screen.open(snapshot(seq=10, alerts=[payload]))
    item = page.locator(f"#alerts li[data-alert='{alert.pk}']")
    item.wait_for(timeout=2000)

    def acknowledge_elsewhere() -> None:
        from visit_platform.access.actions import acknowledge_alert
        from visit_platform.audit.actions import Actor

        acknowledge_alert(Actor.system("tests"), Alert.objects.get(pk=alert.pk), "first")

    committed(acknowledge_elsewhere)
    item.locator("textarea").fill("second")
    item.locator("button[type=submit]").click()

    item.wait_for(state="detached", timeout=5000)
    assert committed(lambda: Alert.objects.get(pk=alert.pk)).acknowledgement_note == "first"


# --- Screenshots ----------------------------------------------------------------------------

NAMES = [
    "韩梅梅",
    "王强",
    "李娜",
    "周杰",
    "陈静",
    "刘洋",
    "杨帆",
    "赵磊",
    "黄蕾",
    "吴昊",
    "徐婷",
    "孙鹏",
]
COMPANIES = [("张伟", "星河科技有限公司"), ("李晓燕", "远景律师事务所"), ("陈刚", "华信咨询")]
GATES = [(1, "A1 闸机", "大堂"), (2, "8F 门禁", "8F"), (3, "12F 门禁", "12F")]


def busy_snapshot() -> dict[str, Any]:
    """A working afternoon: a dozen visitors inside, one overstaying, gates and alerts."""
    now = timezone.now()
    inside = []
    for index, name in enumerate(NAMES):
        host, company = COMPANIES[index % 3]
        gate_id, gate, zone = GATES[index % 3]
        inside.append(
            person(
                100 + index,
                name,
                host=host,
                company=company,
                companions=[0, 2, 0, 1][index % 4],
                since=iso(now - timedelta(minutes=9 + 17 * index)),
                gate=gate,
                gate_id=gate_id,
                zone=zone,
                valid_until=iso(now + timedelta(minutes=50 - 40 * (index == 7) * 3)),
            )
        )
    gates = [
        {
            "id": gate_id,
            "name": gate,
            "zone": zone,
            "direction": "both",
            "online": True,
            "controller": "控制器 1",
        }
        for gate_id, gate, zone in GATES
    ] + [
        {
            "id": 4,
            "name": "B1 车库",
            "zone": "B1",
            "direction": "both",
            "online": False,
            "controller": "控制器 2",
        }
    ]
    return snapshot(
        seq=40,
        inside=inside,
        arrived_today=list(range(100, 131)),
        left_today=list(range(112, 131)),
        expected=[
            {
                "visit_id": 200 + i,
                "name": "访客",
                "host": "张伟",
                "company": "星河科技有限公司",
                "companions": 0,
                "valid_from": iso(now + timedelta(hours=1)),
                "valid_until": iso(now + timedelta(hours=3)),
            }
            for i in range(6)
        ],
        anonymous={"entries": 14, "exits": 11},
        gates=gates,
        zones=["大堂", "8F", "12F", "B1"],
        alerts=[
            {
                "type": "alert",
                "id": 501,
                "event_id": "e-501",
                "kind": "controller_offline",
                "urgent": False,
                "gate": None,
                "gate_id": None,
                "zone": None,
                "controller": "控制器 2",
                "agent": "大堂网关",
                "visit_id": None,
                "visitor": None,
                "details": {},
                "occurred_at": iso(now - timedelta(minutes=12)),
                "acknowledged_at": None,
            },
        ],
    )


URGENT_ALERT = {
    "type": "alert",
    "seq": 41,
    "id": 502,
    "event_id": "e-502",
    "kind": "watchlist_hit",
    "urgent": True,
    "gate": "A1 闸机",
    "gate_id": 1,
    "zone": "大堂",
    "controller": None,
    "agent": None,
    "visit_id": 300,
    "visitor": "钱推销",
    "details": {},
    "acknowledged_at": None,
}


def test_screenshots_of_the_desk_the_phone_and_an_alert(
    browser: Any, live_building: LiveBuilding
) -> None:
    for screen in open_screen(
        browser, live_building, language="zh-hans", viewport={"width": 1920, "height": 1080}
    ):
        screen.open(busy_snapshot())
        screen.wait_text("count-inside", "21")
        screenshot(screen.page, "security-screen-desktop", full_page=False)

    for screen in open_screen(
        browser,
        live_building,
        language="zh-hans",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    ):
        screen.open(busy_snapshot())
        screen.wait_text("count-inside", "21")
        width = screen.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing sticks out sideways on a phone
        screenshot(screen.page, "security-screen-phone")

    for screen in open_screen(browser, live_building, language="zh-hans"):
        screen.open(busy_snapshot())
        screen.receive(URGENT_ALERT | {"occurred_at": iso(timezone.now())})
        screen.page.locator("#alerts li.urgent").wait_for(timeout=2000)
        screen.page.locator("#alerts li.urgent textarea").fill("已通知保安前往大堂")
        screenshot(screen.page, "security-screen-alert", full_page=False)
