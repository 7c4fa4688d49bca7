"""Where texted links point: the public port from the setting; in development only, the port
the request came in on; never a port from a request in production."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from tenants.actions import building_url, platform_url
from tenants.middleware import DevelopmentPortMiddleware
from tests.test_settings import last_line, manage


def link_made_while_serving(host: str) -> str:
    """The link a view would text while serving a request sent to ``host``."""

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(building_url("demo", "/a/code/"))

    request = RequestFactory().get("/", HTTP_HOST=host)
    return DevelopmentPortMiddleware(view)(request).content.decode()


@pytest.fixture
def public(settings: Any) -> Any:
    settings.PUBLIC_SCHEME, settings.BASE_DOMAIN, settings.PUBLIC_PORT = "http", "localhost", ""
    settings.ALLOWED_HOSTS = ["localhost", ".localhost"]
    return settings


def test_the_public_port_setting_is_in_every_link(public: Any) -> None:
    public.PUBLIC_PORT = "8443"
    public.PUBLIC_SCHEME = "https"

    assert building_url("demo", "/a/code/") == "https://demo.localhost:8443/a/code/"
    assert platform_url("/wechat/x/") == "https://localhost:8443/wechat/x/"


def test_in_development_a_link_made_during_a_request_takes_the_request_port(
    public: Any,
) -> None:
    public.DEBUG = True

    assert link_made_while_serving("demo.localhost:8123") == "http://demo.localhost:8123/a/code/"
    assert link_made_while_serving("demo.localhost") == "http://demo.localhost/a/code/"
    # Outside a request (a worker, a command) there is no request port to take.
    assert building_url("demo", "/a/code/") == "http://demo.localhost/a/code/"


def test_in_development_the_setting_still_wins_over_the_request(public: Any) -> None:
    public.DEBUG, public.PUBLIC_PORT = True, "8000"

    assert link_made_while_serving("demo.localhost:8123") == "http://demo.localhost:8000/a/code/"


def test_in_production_a_request_never_chooses_the_port(public: Any) -> None:
    public.DEBUG = False

    assert link_made_while_serving("demo.localhost:6666") == "http://demo.localhost/a/code/"
    public.PUBLIC_PORT = "8443"
    assert link_made_while_serving("demo.localhost:6666") == "http://demo.localhost:8443/a/code/"


def test_the_request_port_is_forgotten_after_the_response(public: Any) -> None:
    public.DEBUG = True
    link_made_while_serving("demo.localhost:8123")

    assert building_url("demo", "/a/code/") == "http://demo.localhost/a/code/"


def test_start_up_refuses_a_public_port_that_is_no_port() -> None:
    result = manage("check", PUBLIC_PORT="80a")

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: PUBLIC_PORT must be a port number "
        "(1 to 65535): '80a'"
    )
