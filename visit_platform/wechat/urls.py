"""The H5 pages opened inside WeChat, on a building's domain (``/wx/...``)."""

from django.urls import path

from visit_platform.wechat import oauth, pages

app_name = "wechat"

urlpatterns = [
    path("wx/", pages.home, name="home"),
    path("wx/start/", oauth.start, name="start"),
    path("wx/oauth/", oauth.oauth_return, name="oauth"),
]
