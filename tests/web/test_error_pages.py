"""Our own 403, 404 and 500 pages, in the person's language (Chinese unless they chose
English), with a way home; the 500 page needs neither the database nor a context processor."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.utils import translation

from tenants.actions import building_domain
from tenants.models import Building
from tests.conftest import admin_of, client_for
from visit_platform.web.errors import forbidden, server_error


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.django_db
def test_a_missing_page_answers_our_404_in_chinese_by_default(alpha: Building) -> None:
    response = client_for(alpha).get("/no-such-page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="zh-hans">' in page
    assert "页面不存在" in page and "返回首页" in page and 'href="/"' in page
    assert "/no-such-page/" in page
    assert "Not Found" not in page  # not Django's own page
    assert "web/mobile.css" in page


@pytest.mark.django_db
def test_a_missing_page_answers_in_english_for_who_chose_english(alpha: Building) -> None:
    response = english(client_for(alpha, admin_of(alpha))).get("/visits/999999999/timeline/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page and "Go to the start page" in page
    assert "页面不存在" not in page


@pytest.mark.django_db
def test_the_platform_host_answers_our_404_too(db: None) -> None:
    chinese = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/no-such-page/")
    english_page = english(Client(HTTP_HOST=settings.BASE_DOMAIN)).get("/no-such-page/")

    assert chinese.status_code == english_page.status_code == 404
    assert "页面不存在" in chinese.content.decode()
    assert "Page not found" in english_page.content.decode()


@pytest.mark.parametrize(("language", "heading"), [("zh-hans", "无权访问"), ("en", "Not allowed")])
def test_the_403_page_renders_in_both_languages(language: str, heading: str) -> None:
    request = RequestFactory().get("/somewhere/")

    with translation.override(language):
        response = forbidden(request, PermissionDenied("internal detail"))

    page = response.content.decode()
    assert response.status_code == 403
    assert heading in page
    assert "internal detail" not in page


@pytest.mark.django_db
def test_a_form_posted_without_its_csrf_token_gets_a_readable_403(alpha: Building) -> None:
    client = Client(HTTP_HOST=building_domain(alpha.schema_name), enforce_csrf_checks=True)

    chinese = client.post("/login/", {"username": "a@b.example", "password": "x"})
    english_page = english(client).post("/login/", {"username": "a@b.example", "password": "x"})

    assert chinese.status_code == english_page.status_code == 403
    assert "页面已过期" in chinese.content.decode()
    assert "This page has expired" in english_page.content.decode()
    assert "CSRF" not in chinese.content.decode()


@pytest.mark.parametrize(
    ("language", "heading"), [("zh-hans", "出错了"), ("en", "Something went wrong")]
)
def test_the_500_page_renders_without_the_database(language: str, heading: str) -> None:
    """No ``db`` fixture: any query here fails the test, as it would with the database down."""
    request = RequestFactory().get("/broken/")

    with translation.override(language):
        response = server_error(request)

    page = response.content.decode()
    assert response.status_code == 500
    assert heading in page
    assert 'href="/"' in page
    assert f'<html lang="{language}">' in page


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.web.error_urls")
def test_a_failing_view_answers_our_500_page(alpha: Building) -> None:
    client = Client(HTTP_HOST=building_domain(alpha.schema_name), raise_request_exception=False)

    response = english(client).get("/test-failure/")

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "a bug" not in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_api_address_answers_json_not_a_page(alpha: Building) -> None:
    response = english(client_for(alpha)).get("/api/no-such-endpoint/")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Page not found"}


def test_a_script_asking_for_json_gets_the_500_as_json_without_the_database() -> None:
    request = RequestFactory().get("/broken/", HTTP_ACCEPT="application/json")

    with translation.override("zh-hans"):
        response = server_error(request)

    assert response.status_code == 500
    assert json.loads(response.content) == {"code": "server_error", "message": "出错了"}
