"""The house's JSON APIs, built on django-ninja (ADR 0004), all alike for their clients.

Bodies are strict JSON (no NaN or Infinity, which no answer can be and jsonb cannot store)
and limited in size before anything reads them; every refusal is ``{"code", "message"}``
(with ``details`` where they help) and the right 4xx, down to an unknown address (404) or a
method an endpoint does not take (405). The gate API and the forms API are made here.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
)
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security.base import AuthBase

from kernel.errors import DomainError

logger = logging.getLogger(__name__)


class MalformedJSON(Exception):
    """The body does not parse as JSON, told apart from JSON that does not fit the schema."""


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("numbers must be finite")
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class BodyTooComplex(Exception):
    """The body parses, but holds more values or nests deeper than any call of the API."""

    def __init__(self, code: str, limit: int) -> None:
        super().__init__(code)
        self.code = code
        self.limit = limit


class StrictJSONParser(Parser):
    """Strict JSON, and no more values or nesting than the API's calls can have, counted
    before the schema (or anything else) walks the data."""

    def __init__(self, max_values: int, max_depth: int) -> None:
        self.max_values = max_values
        self.max_depth = max_depth

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = json.loads(request.body, parse_float=_finite, parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise MalformedJSON(str(error)) from error
        self._check_size(data)
        return data

    def _check_size(self, data: Any) -> None:
        """Counts values and levels, stopping at the first limit passed: the cost is bounded
        by the limits, not by what was sent."""
        pending: list[tuple[Any, int]] = [(data, 1)]
        seen = 1
        while pending:
            value, depth = pending.pop()
            if isinstance(value, dict):
                children: Any = value.values()
            elif isinstance(value, list):
                children = value
            else:
                continue
            if not children:
                continue
            if depth >= self.max_depth:
                raise BodyTooComplex("too_deep", self.max_depth)
            seen += len(children)
            if seen > self.max_values:
                raise BodyTooComplex("too_many_values", self.max_values)
            pending.extend((child, depth + 1) for child in children)


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return api.create_response(request, body, status=status)


def json_api(
    *,
    title: str,
    description: str,
    namespace: str,
    max_body_bytes: int,
    max_values: int,
    max_depth: int = 6,
    auth: AuthBase | None = None,
    bearer_realm: str = "",
    unauthorized_message: str | Promise = "",
) -> NinjaAPI:
    """A NinjaAPI with the house's parser, size limits and error answers. A body is refused
    (413) above ``max_body_bytes``, before it is parsed, and above ``max_values`` JSON values
    (every object, array, string, number...) or ``max_depth`` levels, before it is checked.
    With ``bearer_realm``, a call without a valid key is answered 401 with
    ``unauthorized_message`` and a ``WWW-Authenticate: Bearer`` challenge for that realm
    (the devices' APIs: gate agents, desk terminals)."""
    api = NinjaAPI(
        title=title,
        version="1",
        description=description,
        urls_namespace=namespace,
        auth=auth,
        parser=StrictJSONParser(max_values, max_depth),
        # The schema is at openapi.json; no Swagger page, which would load scripts from a CDN.
        docs_url=None,
    )

    def error(
        request: HttpRequest, status: int, code: str, message: str, details: Any = None
    ) -> HttpResponse:
        return error_response(api, request, status, code, message, details)

    if bearer_realm:

        @api.exception_handler(AuthenticationError)
        def unauthorized(request: HttpRequest, _error: AuthenticationError) -> HttpResponse:
            response = error(request, 401, "unauthorized", str(unauthorized_message))
            response["WWW-Authenticate"] = f'Bearer realm="{bearer_realm}"'
            return response

    def too_large(request: HttpRequest) -> HttpResponse:
        message = _("The request body is larger than %(limit)d KB.") % {
            "limit": max_body_bytes // 1024
        }
        return error(request, 413, "too_large", message)

    def refuse_large_bodies(
        run: Callable[..., HttpResponseBase],
    ) -> Callable[..., HttpResponseBase]:
        """Wraps each operation before authentication and parsing, so a huge body costs
        nothing; the header may be missing or lie, so the body itself has the last word."""

        @functools.wraps(run)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            try:
                oversized = declared > max_body_bytes or len(request.body) > max_body_bytes
            except RequestDataTooBig:
                oversized = True
            if oversized:
                return too_large(request)
            return run(request, *args, **kwargs)

        return checked

    api.add_decorator(refuse_large_bodies, mode="view")

    @api.exception_handler(ValidationError)
    def invalid_request(request: HttpRequest, failure: ValidationError) -> HttpResponse:
        details = [
            {"loc": _body_location(item["loc"]), "message": item["msg"], "type": item["type"]}
            for item in failure.errors
        ]
        message = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or 'body'}: {item['message']}"
            for item in details[:5]
        )
        return error(request, 422, "invalid_request", message, details)

    @api.exception_handler(MalformedJSON)
    def malformed_json(request: HttpRequest, failure: Exception) -> HttpResponse:
        message = _("The request body is not valid JSON: %(error)s") % {"error": failure}
        return error(request, 400, "malformed_json", message)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, failure: HttpError) -> HttpResponse:
        # ninja wraps what the parser raises in a 400 HttpError.
        if isinstance(failure.__cause__, MalformedJSON):
            return malformed_json(request, failure.__cause__)
        if isinstance(failure.__cause__, BodyTooComplex):
            return too_complex(request, failure.__cause__)
        return error(request, failure.status_code, "bad_request", str(failure))

    def too_complex(request: HttpRequest, failure: BodyTooComplex) -> HttpResponse:
        if failure.code == "too_deep":
            message = _("The request body nests more than %(limit)d levels deep.")
        else:
            message = _("The request body holds more than %(limit)d values.")
        return error(request, 413, failure.code, message % {"limit": failure.limit})

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, failure: DomainError) -> HttpResponse:
        return api.create_response(request, failure.as_dict(), status=failure.status)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, failure: Http404) -> HttpResponse:
        return error(request, 404, "not_found", _("Not found."))

    @api.exception_handler(RequestDataTooBig)
    def request_too_large(request: HttpRequest, failure: RequestDataTooBig) -> HttpResponse:
        return too_large(request)

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, failure: Exception) -> HttpResponse:
        # Clients parse JSON, even from a failure; error reporters still hear of it.
        logger.error("%s failed on %s", title, request.path, exc_info=failure)
        got_request_exception.send(sender=None, request=request)
        message = _("The server failed; the request may be retried.")
        return error(request, 500, "server_error", message)

    return api


def _body_location(location: tuple[Any, ...] | list[Any]) -> list[Any]:
    """("body", "payload", "passages", 3, "gate_id") -> ["passages", 3, "gate_id"]: the path
    inside the JSON the client sent, without ninja's source and parameter names."""
    parts = list(location)
    if parts[:2] == ["body", "payload"]:
        return parts[2:]
    return parts


def urlpatterns(api: NinjaAPI) -> list[URLPattern | URLResolver]:
    """The API's URLs, answering in JSON where ninja would answer in HTML or plain text: an
    address the API does not have (404) and a method an endpoint does not take (405)."""
    patterns, app_name, namespace = api.urls

    def no_such_address(request: HttpRequest, path: str = "") -> HttpResponse:
        message = _("This API has no such address.")
        return error_response(api, request, 404, "not_found", message)

    for pattern in patterns:
        if not isinstance(pattern, URLPattern):
            continue
        if pattern.name == "api-root":
            # Without a docs page ninja's root only says "not found", in HTML.
            pattern.callback = csrf_exempt(no_such_address)
        else:
            pattern.callback = _json_method_not_allowed(api, pattern.callback)
    return [
        path("", include((patterns, app_name), namespace=namespace)),
        re_path(r"^(?P<path>.*)$", csrf_exempt(no_such_address)),
    ]


def _json_method_not_allowed(
    api: NinjaAPI, view: Callable[..., HttpResponseBase]
) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        message = _("%(method)s is not allowed here; use %(allowed)s.") % {
            "method": request.method,
            "allowed": response["Allow"],
        }
        refused = error_response(api, request, 405, "method_not_allowed", message)
        refused["Allow"] = response["Allow"]
        return refused

    return checked
