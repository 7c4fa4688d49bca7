"""The scenario flows (viewflow). Importing this package registers them."""

from workflows.flows.watchlist import WatchlistFlow

__all__ = ["WatchlistFlow"]
