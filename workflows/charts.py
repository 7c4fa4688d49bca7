"""Flow diagrams for the console, drawn by viewflow, with the branches the building's policy
makes active marked (for a visit: the steps it went through)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from viewflow.workflow import chart
from viewflow.workflow.status import STATUS

from workflows.choices import WatchlistHitAction

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
    grid = chart.calc_layout_data(flow_class)
    active = _reachable(flow_class, policy)
    for node in grid.nodes:
        if node.name in active:
            grid[node].status = STATUS.DONE
    return str(chart.grid_to_svg(grid))


def process_chart_svg(flow_class: Any, process_pk: int) -> str:
    """The flow with the steps one visit went through marked."""
    grid = chart.calc_layout_data(flow_class)
    chart.calc_cell_status(flow_class, grid, process_pk)
    return str(chart.grid_to_svg(grid))
