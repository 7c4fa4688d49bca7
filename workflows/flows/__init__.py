"""The scenario flows (viewflow). Importing this package registers every flow."""

from workflows.flows.visits import InviteFlow, NoIdFlow, RequestFlow, WalkInFlow

__all__ = ["InviteFlow", "NoIdFlow", "RequestFlow", "WalkInFlow"]
