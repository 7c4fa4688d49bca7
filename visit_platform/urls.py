"""URLs served on a building's domain (the staff console and the visitor's pass pages)."""

from django.urls import include, path

from forms.api import api as forms_api
from kernel import json_api
from visit_platform.access import views as access_views
from visit_platform.access.api import api as gate_api
from visit_platform.visits import urls as visits_urls
from workflows import urls as workflows_urls
from workflows.terminal_api import api as desk_api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/gate/", include(json_api.urlpatterns(gate_api))),
    path("api/forms/", include(json_api.urlpatterns(forms_api))),
    path("api/desk/", include(json_api.urlpatterns(desk_api))),
    path("", include("visit_platform.web.urls")),
    path("", include("visit_platform.directory.urls")),
    path("", include("visit_platform.audit.urls")),
    path("", include((visits_urls.urlpatterns + workflows_urls.visits_pages, "visits"))),
    path("", include("forms.urls")),
    path("", include("visit_platform.access.urls")),
    path("", include("visit_platform.notifications.urls")),
    path("", include("workflows.urls")),
    path("", include("visit_platform.reports.urls")),
    path("", include("visit_platform.wechat.urls")),
    path("p/<str:code>/", access_views.pass_page, name="pass_page"),
    path("p/<str:code>/token.json", access_views.pass_token_json, name="pass_token"),
    path("passes/<int:pk>/slip.pdf", access_views.pass_slip, name="pass_slip"),
]

handler400 = "visit_platform.web.errors.bad_request"
handler403 = "visit_platform.web.errors.forbidden"
handler404 = "visit_platform.web.errors.not_found"
handler500 = "visit_platform.web.errors.server_error"
