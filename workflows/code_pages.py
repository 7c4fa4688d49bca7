"""The two steps every page that proves a mobile takes (the visitor's sign-in, linking a
visitor's WeChat, binding an employee's): text a code to the number typed, then read the number
and a code shaped as one. Each page shows its own template (``show``, taking the step's
values) and does its own thing with a proved number.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from kernel.mobile_pages import posted
from kernel.phones import normalise_mobile
from visit_platform.audit.actions import Actor
from workflows.actions import send_one_time_code

CODE_PATTERN = re.compile(r"\d{6}")

Show = Callable[..., HttpResponse]


def text_a_code(request: HttpRequest, actor: Actor, show: Show) -> HttpResponse:
    """Step one: a code is texted to the number typed, and the page asks for it. A code sent
    a moment ago still works, so a second request within the minute asks for that one."""
    try:
        number = normalise_mobile(posted(request, "mobile"))
    except DomainError as error:
        return show(problem=error.message, status=error.status)
    try:
        send_one_time_code(actor, number)
    except DomainError as error:
        if error.code == "code_too_soon":
            return show(step="code", mobile=number, notice=error.message, status=error.status)
        return show(mobile=number, problem=error.message, status=error.status)
    return show(step="code", mobile=number)


def typed_code(request: HttpRequest, show: Show) -> tuple[str, str] | HttpResponse:
    """Step two's input: the number (E.164) and a code of six digits, or the page saying what
    is wrong with them. Checking the code is the caller's: outside a transaction, so that a
    wrong guess stays counted (``verify_one_time_code``)."""
    try:
        number = normalise_mobile(posted(request, "mobile"))
    except DomainError as error:
        return show(problem=error.message, status=error.status)
    code = posted(request, "code")
    if not CODE_PATTERN.fullmatch(code):
        return show(
            step="code", mobile=number, problem=_("Enter the 6 digits of the code."), status=400
        )
    return number, code
