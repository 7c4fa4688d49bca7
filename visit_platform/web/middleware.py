"""Language of the console: the person's choice, else their building's default language.

Django's LocaleMiddleware would follow the browser's Accept-Language; in a Chinese building
the console speaks Chinese unless the person switches, whatever their browser says.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import check_for_language


class BuildingLocaleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        response.headers.setdefault("Vary", "Cookie")
        return response

    def _language(self, request: HttpRequest) -> str:
        supported = {code for code, _name in settings.LANGUAGES}
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if chosen in supported and check_for_language(chosen):
            return chosen
        building_default = getattr(getattr(request, "tenant", None), "default_language", "")
        if building_default in supported:
            return str(building_default)
        return str(settings.LANGUAGE_CODE)
