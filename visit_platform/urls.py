"""URLs served on a building's domain (the staff console and the visitor's pass pages)."""

from django.urls import include, path

from forms.api import api as forms_api
from visit_platform.access import api as gate_api
from visit_platform.access import views as access_views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/gate/", include(gate_api.urlpatterns())),
    path("api/forms/", forms_api.urls),
    path("", include("visit_platform.web.urls")),
    path("", include("visit_platform.directory.urls")),
    path("", include("visit_platform.audit.urls")),
    path("", include("visit_platform.visits.urls")),
    path("", include("forms.urls")),
    path("", include("visit_platform.access.urls")),
    path("", include("visit_platform.notifications.urls")),
    path("p/<str:code>/", access_views.pass_page, name="pass_page"),
    path("p/<str:code>/token.json", access_views.pass_token_json, name="pass_token"),
    path("passes/<int:pk>/slip.pdf", access_views.pass_slip, name="pass_slip"),
]
