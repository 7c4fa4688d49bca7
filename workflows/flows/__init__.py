"""The scenario flows (viewflow), one module each. Importing this package registers them."""

from workflows.flows.bulk import BulkEventFlow
from workflows.flows.visits import InviteFlow, NoIdFlow, RequestFlow, WalkInFlow
from workflows.flows.watchlist import WatchlistFlow

__all__ = [
    "BulkEventFlow",
    "InviteFlow",
    "NoIdFlow",
    "RequestFlow",
    "WalkInFlow",
    "WatchlistFlow",
]
