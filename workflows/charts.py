"""Flow diagrams for the console, laid out by viewflow and drawn by us, with the branches the
building's policy makes active marked (for a visit: the steps it went through).

Viewflow draws every step as a 150 x 100 box with 12-unit Arial text, in a picture some
2000 units wide that the page shrinks to half: its labels end up 6 px high, Chinese in
whatever font the browser finds, "yes" and "no" in English. We keep its layout (rows,
columns, edge routes) but size each shape to its own text, write the gateways' questions
and the branches' answers in the person's language, and draw at 1 unit = 1 CSS pixel, so
the page shows the text at ``FONT_SIZE`` (it scrolls sideways rather than shrinking it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.encoding import force_str
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from viewflow.workflow import chart
from viewflow.workflow.status import STATUS

from workflows.choices import WatchlistHitAction

FONT_SIZE = 14
EDGE_FONT_SIZE = 13
LINE_HEIGHT = 18
# The longest line of a step's text before it wraps, in pixels.
MAX_LINE = 112
TASK_PADDING = (14, 12)  # horizontal, vertical
MIN_TASK = (96, 48)
GATEWAY_POINT = 14  # how far a gateway's left and right points stick out past its text
BOUNDARY_HEIGHT = 26
GAP = 32  # between rows and between columns: room for the edges and their labels

# For the gateways whose choice the policy alone makes: which branch it takes ("yes" is
# Then, "no" Else). A gateway not listed (or answering None) may take either.
_POLICY_GATEWAYS: dict[str, Callable[[dict[str, Any]], bool | None]] = {
    "on_watchlist_hit": lambda p: p["watchlist_hit"] == WatchlistHitAction.SECURITY_REVIEW,
    "route": lambda p: None if p["auto_approve_returning"] else bool(p["requires_approval"]),
    "deadline_passed": lambda p: bool(p["escalate_to"]),
}


# The approval's first timer is the reminder (see workflows/flows/visits.py).
REMINDER = "approve__timeout"


def _reminds(policy: dict[str, Any]) -> bool:
    return 0 < int(policy["reminder_hours"]) < int(policy["approval_hours"])


def _reachable(flow_class: Any, policy: dict[str, Any]) -> set[str]:
    start = flow_class.instance.start
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        choose = _POLICY_GATEWAYS.get(node.name)
        choice = choose(policy) if choose is not None else None
        for edge in node._outgoing():
            branch = edge.edge_class in ("cond_true", "cond_false")
            if choice is not None and branch and (edge.edge_class == "cond_true") != choice:
                continue
            todo.append(edge.dst)
        for boundary in getattr(node, "_boundary_events", []):
            if boundary.name == REMINDER and not _reminds(policy):
                continue
            todo.append(boundary)
    return seen


def policy_chart_svg(flow_class: Any, policy: dict[str, Any]) -> str:
    """The flow with the nodes this policy can reach marked as active."""
    grid = layout(flow_class)
    active = _reachable(flow_class, policy)
    for node in grid.nodes:
        if node.name in active:
            grid[node].status = STATUS.DONE
    return draw(grid)


def process_chart_svg(flow_class: Any, process_pk: int) -> str:
    """The flow with the steps one visit went through marked."""
    grid = layout(flow_class)
    chart.calc_cell_status(flow_class, grid, process_pk)
    return draw(grid)


# --- Text -----------------------------------------------------------------------------------


def text_width(text: str, size: int = FONT_SIZE) -> float:
    """An estimate of the text's width: a Chinese character is a square, a Latin letter a
    little over half one (generous, so that text fits whichever font the browser picks)."""
    return sum(size if unicodedata.east_asian_width(char) in "WF" else size * 0.56 for char in text)


def wrap(text: str, width: float = MAX_LINE, size: int = FONT_SIZE) -> list[str]:
    """Lines of at most ``width`` pixels: Latin text breaks between words, Chinese between
    any two characters (but not before its punctuation)."""
    tokens: list[str] = []
    for char in text:
        wide = unicodedata.east_asian_width(char) in "WF"
        if wide and unicodedata.category(char).startswith("P") and tokens:
            tokens[-1] += char
        elif wide or not tokens or tokens[-1].endswith(" ") or _is_wide(tokens):
            tokens.append(char)
        else:
            tokens[-1] += char
    lines: list[str] = []
    line = ""
    for token in tokens:
        candidate = line + token
        if line and text_width(candidate.rstrip(), size) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def _is_wide(tokens: list[str]) -> bool:
    last = tokens[-1][-1:]
    return bool(last) and unicodedata.east_asian_width(last) in "WF"


# --- Layout ---------------------------------------------------------------------------------


@dataclass
class Look:
    """How one node is drawn: its kind of shape, its lines of text, its size."""

    kind: str  # "task", "gateway", "event", "boundary"
    lines: list[str]
    width: int
    height: int
    room_below: int = 0  # kept clear of text at the bottom (for the step's timers)


def _title(node: Any) -> str:
    return force_str(node.task_title or " ".join(node.name.split("_")).capitalize())


def _kind(node: Any) -> str:
    if getattr(node, "_attached_to", None) is not None:
        return "boundary"
    element = getattr(node, "bpmn_element", "") or ""
    if element == "exclusiveGateway" or element.endswith("Gateway"):
        return "gateway"
    if element.endswith("Event"):
        return "event"
    return "task"


def _look(node: Any) -> Look:
    kind = _kind(node)
    title = _title(node)
    if kind == "boundary":
        lines = [title]
        return Look(kind, lines, int(text_width(title, 12)) + 30, BOUNDARY_HEIGHT)
    lines = wrap(title)
    text = max(int(text_width(line)) for line in lines)
    height = len(lines) * LINE_HEIGHT + 2 * TASK_PADDING[1]
    if kind == "gateway":
        return Look(kind, lines, text + 2 * GATEWAY_POINT + 16, height)
    if kind == "event":
        return Look(kind, lines, text + 2 * TASK_PADDING[0] + 8, max(height - 8, 36))
    return Look(
        kind,
        lines,
        max(text + 2 * TASK_PADDING[0], MIN_TASK[0]),
        max(height, MIN_TASK[1]),
    )


def layout(flow_class: Any) -> Any:
    """Viewflow's grid and edge routes, over shapes sized to their text."""
    nodes, _cycles = chart.topsort(flow_class)
    incoming = {
        node: sorted((edge.src for edge in node._incoming()), key=nodes.index) for node in nodes
    }
    outgoing = {
        node: sorted((edge.dst for edge in node._outgoing()), key=nodes.index) for node in nodes
    }
    grid = chart.layout(nodes, incoming, outgoing)
    looks = {cell.node: _look(cell.node) for cell in grid.cells}
    # A step with timers is wide enough to carry them on its lower edge.
    for cell in grid.cells:
        host = getattr(cell.node, "_attached_to", None)
        if host is not None and host in looks:
            timers = [looks[event] for event in host._boundary_events if event in looks]
            needed = sum(look.width + 5 for look in timers) + 24
            looks[host].width = max(looks[host].width, needed)
            if not looks[host].room_below:
                looks[host].room_below = BOUNDARY_HEIGHT // 2
                looks[host].height += BOUNDARY_HEIGHT // 2
    _place(grid, looks)
    chart.snap_boundary_events(grid)
    grid.edges = [
        edge for edge in grid.edges if edge.edge_class not in ("boundary", "compensation")
    ]
    chart.calc_edges(grid)
    for edge in grid.edges:
        if edge.edge_class == "cond_true":
            edge.label = gettext("Yes")
        elif edge.edge_class == "cond_false":
            edge.label = gettext("No")
        elif edge.label:
            edge.label = force_str(edge.label)
    for cell in grid.cells:
        look = looks[cell.node]
        cell.title = _title(cell.node)
        cell.shape.svg = look.kind
        cell.shape.text = [
            (
                line,
                (n - (len(look.lines) - 1) / 2) * LINE_HEIGHT + (look.height - look.room_below) / 2,
            )
            for n, line in enumerate(look.lines)
        ]
    return grid


def _place(grid: Any, looks: dict[Any, Look]) -> None:
    """Rows and columns as wide as their largest shape, shapes centred in their cell (as
    viewflow's ``init_shapes`` does, with our sizes)."""
    cells = list(grid.cells)
    if not cells:
        grid.width = grid.height = 0
        return
    rows = [0] * (max(cell.row for cell in cells) + 1)
    cols = [0] * (max(cell.col for cell in cells) + 1)
    for cell in cells:
        look = looks[cell.node]
        cell.shape.width, cell.shape.height = look.width, look.height
        if getattr(cell.node, "_attached_to", None) is not None:
            continue
        timers = BOUNDARY_HEIGHT if getattr(cell.node, "_boundary_events", None) else 0
        rows[cell.row] = max(rows[cell.row], look.height + timers)
        cols[cell.col] = max(cols[cell.col], look.width)
    # Rows and columns that hold only timers (drawn on their step's edge) take no room.
    row_gaps = [GAP if size else 0 for size in rows]
    col_gaps = [GAP if size else 0 for size in cols]
    for cell in cells:
        cell.x = sum(cols[: cell.col]) + sum(col_gaps[: cell.col]) + GAP // 2
        cell.y = sum(rows[: cell.row]) + sum(row_gaps[: cell.row]) + GAP // 2
        cell.width, cell.height = cols[cell.col], rows[cell.row]
        cell.shape.x = cell.x + (cell.width - cell.shape.width) // 2
        cell.shape.y = cell.y + (cell.height - cell.shape.height) // 2
    grid.width = sum(cols) + sum(col_gaps)
    grid.height = sum(rows) + sum(row_gaps) + BOUNDARY_HEIGHT


def _outline(kind: str, width: int, height: int, is_end: bool) -> str:
    middle = height // 2
    if kind == "gateway":
        point = GATEWAY_POINT
        return format_html(
            '<path class="shape" d="M0,{} L{},0 L{},0 L{},{} L{},{} L{},{} z"/>',
            middle,
            point,
            width - point,
            width,
            middle,
            width - point,
            height,
            point,
            height,
        )
    if kind == "boundary":
        return format_html(
            '<rect class="shape" width="{}" height="{}" rx="{}"/>'
            '<circle class="clock" cx="14" cy="{}" r="6"/>'
            '<path class="clock" d="M14,{} v4 h3"/>',
            width,
            height,
            middle,
            middle,
            middle - 4,
        )
    radius = middle if kind == "event" else 8
    stroke = mark_safe(' stroke-width="3"') if is_end else ""
    return format_html(
        '<rect class="shape" width="{}" height="{}" rx="{}"{}/>', width, height, radius, stroke
    )


def draw(grid: Any) -> str:
    shapes = []
    for cell in grid.cells:
        kind = cell.shape.svg
        width, height = cell.shape.width, cell.shape.height
        centre = (width + 16) // 2 if kind == "boundary" else width // 2
        shapes.append(
            {
                "name": cell.node.name,
                "x": cell.shape.x,
                "y": cell.shape.y,
                "status": (cell.status or "").lower(),
                "title": cell.title,
                "outline": _outline(
                    kind, width, height, getattr(cell.node, "bpmn_element", "") == "endEvent"
                ),
                "text_class": "timer" if kind == "boundary" else "label",
                "lines": [(centre, round(y), line) for line, y in cell.shape.text],
            }
        )
    return render_to_string(
        "workflows/flow_chart.svg",
        {
            "grid": grid,
            "shapes": shapes,
            "edges": grid.edges,
            "font_size": FONT_SIZE,
            "edge_font_size": EDGE_FONT_SIZE,
        },
    )
