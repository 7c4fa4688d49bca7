"""The H5 pages opened inside WeChat, on a building's domain (``/wx/...``)."""

from django.urls import path

from visit_platform.wechat import oauth, pages, staff

app_name = "wechat"

urlpatterns = [
    path("wx/", pages.home, name="home"),
    path("wx/start/", oauth.start, name="start"),
    path("wx/oauth/", oauth.oauth_return, name="oauth"),
    path("wx/staff/", staff.staff_page, name="staff"),
    path("wx/staff/code/", staff.send_code, name="staff_code"),
    path("wx/staff/bind/", staff.bind, name="staff_bind"),
    path("wx/staff/unbind/", staff.unbind, name="staff_unbind"),
    path("wx/tasks/<int:pk>/", staff.approval, name="approval"),
]
