"""Puts the user's roles in the current building on the request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from visit_platform.directory.backends import active_memberships


class MembershipMiddleware:
    """``request.memberships``: the user's active memberships in this building (lazy)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.memberships = SimpleLazyObject(  # type: ignore[attr-defined]
            lambda: active_memberships(request.user)
        )
        return self.get_response(request)
