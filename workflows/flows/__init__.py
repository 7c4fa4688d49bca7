"""The scenario flows, one module each (the lead merges the imports)."""

from workflows.flows.bulk import BulkEventFlow

__all__ = ["BulkEventFlow"]
