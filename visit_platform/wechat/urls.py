"""The H5 pages opened inside WeChat, on a building's domain (``/wx/...``), and the console's
WeChat pages (the account, its menu, the QR codes for posters)."""

from django.urls import path

from visit_platform.wechat import account_views, oauth, pages, staff, visitor

app_name = "wechat"

urlpatterns = [
    path("wx/", pages.home, name="home"),
    path("wx/start/", oauth.start, name="start"),
    path("wx/oauth/", oauth.oauth_return, name="oauth"),
    path("wx/staff/", staff.staff_page, name="staff"),
    path("wx/staff/code/", staff.send_code, name="staff_code"),
    path("wx/staff/bind/", staff.bind, name="staff_bind"),
    path("wx/staff/unbind/", staff.unbind, name="staff_unbind"),
    path("wx/staff/invite/", staff.invite, name="staff_invite"),
    path("wx/tasks/<int:pk>/", staff.approval, name="approval"),
    path("settings/wechat/", account_views.account_page, name="account"),
    path("settings/wechat/check/", account_views.account_check, name="account_check"),
    path("settings/wechat/menu/", account_views.account_push_menu, name="account_menu"),
    path("settings/wechat/apply-code.png", account_views.apply_code, name="apply_code"),
    path("employees/<int:pk>/wechat-code.png", account_views.host_code, name="host_code"),
    path("events/<int:pk>/wechat-code.png", account_views.event_code, name="event_code"),
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
