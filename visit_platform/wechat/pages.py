"""The H5 pages a WeChat user reaches from the Official Account's menu and messages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from visit_platform.wechat.oauth import wechat_user_required


@wechat_user_required
def home(request: HttpRequest) -> HttpResponse:
    """Where the account's menu and replies lead when there is nothing more specific."""
    response = render(request, "wechat/home.html")
    response["Cache-Control"] = "no-store"
    return response
