"""URLs of the forms pages: the visitor's form, reception, a visit's answers, the designer."""

from django.urls import path

from forms import views

app_name = "forms"

urlpatterns = [
    path("visit/<str:scenario>/", views.visitor_form, name="visitor_form"),
    path("visit/<str:scenario>/sent/", views.visitor_form_sent, name="visitor_form_sent"),
    path("reception/id-card/", views.reception_id_card, name="reception_id_card"),
    path("reception/<str:scenario>/", views.reception_form, name="reception_form"),
    path("invite/", views.invite_form, name="invite_form"),
    path("invite/hosts/", views.host_search, name="host_search"),
    path("invite/<int:pk>/", views.invitation_sent, name="invitation_sent"),
    path("visits/<int:pk>/answers/", views.visit_answers_page, name="visit_answers"),
    path("visits/<int:pk>/answers/<slug:key>/file", views.answer_file, name="answer_file"),
    path("forms/", views.form_list, name="form_list"),
    path("forms/<int:pk>/", views.designer, name="designer"),
    path("forms/<int:pk>/draft/", views.save_draft, name="save_draft"),
    path("forms/<int:pk>/preview/", views.preview, name="preview"),
    path("forms/<int:pk>/publish/", views.publish, name="publish"),
    path("forms/<int:pk>/versions/<int:number>/", views.version_page, name="version"),
    path("forms/<int:pk>/versions/<int:number>/restore/", views.restore, name="restore"),
]
