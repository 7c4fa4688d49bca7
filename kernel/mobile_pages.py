"""What the pages for people outside the console share: visitors' own pages, and employees'
and visitors' pages inside WeChat. They show personal data to someone signed in by a code,
on a phone, often in WeChat's in-app browser.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kernel.phones import display_mobile
from kernel.privacy import mask_mobile

# What a person may type into a field of these pages: a mobile is under 32 characters, a code
# 6 digits. Anything longer is read as no value at all.
MAX_INPUT_LENGTH = 64
# Stands for a value too long to be one of ours: never a valid mobile, code or reason.
TOO_LONG = "\x00"


def private(response: HttpResponse) -> HttpResponse:
    """Personal data and a sign-in: never cached, never sent on as a referrer, not indexed."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def posted(request: HttpRequest, name: str, limit: int = MAX_INPUT_LENGTH) -> str:
    """A posted field, stripped; ``TOO_LONG`` when it is longer than ``limit``."""
    value = request.POST.get(name, "")
    return value.strip() if len(value) <= limit else TOO_LONG


def local_path(value: str, default: str) -> str:
    """``value`` when it is a path of this site (where to go next), otherwise ``default``:
    a ``next`` parameter never leads to another site."""
    if value.startswith("/") and not value.startswith(("//", "/\\")) and len(value) < 1000:
        return value
    return default


def code_page(
    request: HttpRequest,
    template: str,
    *,
    step: str = "mobile",
    mobile: str = "",
    problem: str = "",
    notice: str = "",
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    """A page that proves a mobile with a texted code, at its ``step`` ("mobile": type the
    number; "code": type the code sent to it), private."""
    values = {
        "step": step,
        "mobile": mobile,
        "mobile_masked": mask_mobile(display_mobile(mobile)) if mobile else "",
        "problem": problem,
        "notice": notice,
        **context,
    }
    return private(render(request, template, values, status=status))
