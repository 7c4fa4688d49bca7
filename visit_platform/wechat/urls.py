"""The H5 pages opened inside WeChat, on a building's domain (``/wx/...``)."""

from django.urls import path

from visit_platform.wechat import oauth, pages, visitor

app_name = "wechat"

urlpatterns = [
    path("wx/", pages.home, name="home"),
    path("wx/start/", oauth.start, name="start"),
    path("wx/oauth/", oauth.oauth_return, name="oauth"),
    path("wx/me/", visitor.my_visits, name="me"),
    path("wx/me/unlink/", visitor.unlink, name="unlink"),
    path("wx/link/", visitor.link_start, name="link"),
    path("wx/link/code/", visitor.link_send_code, name="link_send_code"),
    path("wx/link/check/", visitor.link_check_code, name="link_check_code"),
    path("wx/invitations/<str:token>/", visitor.invitation, name="invitation"),
    path("wx/invitations/<str:token>/open/", visitor.invitation_open, name="invitation_open"),
    path("wx/invitations/<str:token>/sms/", visitor.invitation_sms, name="invitation_sms"),
    path("wx/events/<str:token>/", visitor.event, name="event"),
    path("wx/events/<str:token>/pass/", visitor.event_pass, name="event_pass"),
]
