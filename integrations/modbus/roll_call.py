"""The agent's offline roll call: the last list of people inside that it synced from the
platform, adjusted by the passages it has seen since (entries add, exits remove), rendered
as a read-only HTML page for marshals on the building network when the platform is down.

No Django here: the page's words are Chinese and English side by side (ADR 0020).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

UNASSIGNED_ZONE = "未分区 No zone"


@dataclass(frozen=True)
class PersonInside:
    pass_id: int
    name: str
    host: str
    company: str
    companions: int
    zone: str
    since: str
    # Came in after the last sync: the agent knows the pass, not the person.
    unknown: bool = False

    @property
    def people(self) -> int:
        return 1 + self.companions


@dataclass(frozen=True)
class OfflineRollCall:
    people: list[PersonInside]
    synced_at: float | None
    passages_since: int


def _person(item: dict[str, Any]) -> PersonInside | None:
    try:
        return PersonInside(
            pass_id=int(item["pass_id"]),
            name=str(item.get("name", "")),
            host=str(item.get("host", "")),
            company=str(item.get("company", "")),
            companions=max(int(item.get("companions", 0)), 0),
            zone=str(item.get("zone", "")),
            since=str(item.get("since", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def adjusted_list(
    synced: dict[str, Any] | None,
    synced_at: float | None,
    sightings: list[tuple[int, str, float]],
) -> OfflineRollCall:
    """The synced list with every passage seen since applied in order: an exit removes the
    pass's holder, an entry of a pass not on the list adds it (name unknown), an entry of a
    pass that had left brings the person back."""
    known: dict[int, PersonInside] = {}
    for item in (synced or {}).get("people", []):
        person = _person(item) if isinstance(item, dict) else None
        if person is not None:
            known[person.pass_id] = person
    inside = dict(known)
    for pass_id, direction, seen_at in sightings:
        if direction == "out":
            inside.pop(pass_id, None)
        elif direction == "in" and pass_id not in inside:
            when = datetime.fromtimestamp(seen_at).astimezone().isoformat()
            inside[pass_id] = known.get(pass_id) or PersonInside(
                pass_id, "", "", "", 0, "", when, unknown=True
            )
    people = sorted(inside.values(), key=lambda person: (person.zone, person.name, person.pass_id))
    return OfflineRollCall(people, synced_at, len(sightings))


def _local_time(text: str) -> str:
    """An ISO time from the platform in the agent's local time, to the minute."""
    try:
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text[:16]


def render_page(roll_call: OfflineRollCall, building: str = "") -> str:
    """The page: a heading saying how old the list is, then each zone's people."""
    escape = html.escape
    if roll_call.synced_at is None:
        as_of = "从未同步 Never synced with the platform"
    else:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(roll_call.synced_at))
        as_of = f"截至 As of {stamp}，此后 +{roll_call.passages_since} 次通行 passages since"
    total = sum(person.people for person in roll_call.people)
    zones: dict[str, list[PersonInside]] = {}
    for person in roll_call.people:
        zones.setdefault(person.zone or UNASSIGNED_ZONE, []).append(person)
    sections = []
    for zone, people in zones.items():
        rows = "".join(
            "<tr><td>{name}</td><td>{host}</td><td>{company}</td><td>{companions}</td>"
            "<td>{since}</td><td>{pass_id}</td></tr>".format(
                name=escape(person.name)
                if not person.unknown
                else "未知（同步后进入）Unknown (entered after the sync)",
                host=escape(person.host) or "—",
                company=escape(person.company) or "—",
                companions=person.companions,
                since=escape(_local_time(person.since)),
                pass_id=person.pass_id,
            )
            for person in people
        )
        count = sum(person.people for person in people)
        sections.append(
            f"<h2>{escape(zone)} ({count})</h2><table><thead><tr><th>姓名 Name</th>"
            "<th>被访人 Host</th><th>公司 Company</th><th>随行 +</th><th>进入 Since</th>"
            f"<th>通行证 Pass</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    body = "".join(sections) or "<p>名单为空 Nobody on the list</p>"
    title = "疏散点名（离线）Evacuation roll call (offline)"
    return (
        '<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{title}</title><style>"
        'body{font:15px/1.5 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;'
        "margin:12px;color:#17212b}table{border-collapse:collapse;width:100%;margin-bottom:16px}"
        "th,td{border-bottom:1px solid #e3e8ee;padding:6px 4px;text-align:left;font-size:14px}"
        "h1{font-size:20px}h2{font-size:16px;margin:16px 0 4px}.note{color:#4a5868}"
        "</style></head><body>"
        f"<h1>{title}</h1>"
        f"<p><strong>{escape(building)}</strong></p>"
        f'<p class="note" id="as-of">{as_of}</p>'
        f'<p class="note">在内 Inside: <strong id="total">{total}</strong> 人 people '
        "（含随行 companions included）。只读名单：平台恢复后请在平台上点名。"
        "Read-only: mark people on the platform once it is back.</p>"
        f"{body}</body></html>"
    )
