"""URLs served on the platform's own domain: the operators' admin site, and the WeChat
Official Accounts' callbacks (WeChat calls one URL per account, before a building is known)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from visit_platform.wechat import callback_views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("wechat/<str:appid>/", callback_views.callback, name="wechat_callback"),
    path(
        "wechat/<str:appid>/go/<str:page>/",
        callback_views.building_picker,
        name="wechat_building_picker",
    ),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

handler400 = "visit_platform.web.errors.bad_request"
handler403 = "visit_platform.web.errors.forbidden"
handler404 = "visit_platform.web.errors.not_found"
handler500 = "visit_platform.web.errors.server_error"
