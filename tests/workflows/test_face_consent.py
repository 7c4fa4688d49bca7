"""The visitor's separate consent to face data at the desk check (PIPL, the 2025
face-recognition rules, ADR 0036): the versioned text is shown before any photo or
comparison; without the consent no photo is stored and no face-match report accepted; the
way in by eye completes with no face data at all."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from tenants.models import Building
from tests.conftest import admin_of, client_for, member
from tests.forms.conftest import make_host
from tests.workflows.test_flows import admitted, consent_to_face, photo_upload, register_walk_in
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.visits.models import Visit, Visitor
from workflows.actions.face_consent import change_face_consent_text, face_consent_text_in_force
from workflows.actions.terminals import register_desk_terminal
from workflows.constants import DEFAULT_FACE_CONSENT_EN, DEFAULT_FACE_CONSENT_ZH
from workflows.models import FaceConsentText, FaceMatchReport, VisitProcess

API = "/api/desk/face-matches"


@pytest.fixture
def desk(alpha: Building, in_alpha: Building) -> Client:
    make_host("13900139000")
    return client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))


@pytest.fixture
def verify_url(desk: Client) -> str:
    """A walk-in registered at the desk, waiting at the desk check."""
    return str(register_walk_in(desk)["Location"])


def visit_at_desk() -> Visit:
    return Visit.objects.select_related("visitor").get(scenario="walk_in")


def terminal_sends(alpha: Building, visit: Visit, score: int = 92) -> Any:
    _terminal, key = register_desk_terminal(Actor.system("tests"), name="大堂访客机")
    body = {
        "visit_id": visit.pk,
        "score": score,
        "vendor": "ZKTeco",
        "model": "FaceDepot-7B",
        "taken_at": timezone.now().isoformat(),
        "nonce": uuid.uuid4().hex,
    }
    return client_for(alpha).post(
        API, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def consent_json(client: Client, verify_url: str, version: str) -> Any:
    return client.post(
        f"{verify_url}face-consent/", {"version": version}, HTTP_ACCEPT="application/json"
    )


# --- The text, shown first -------------------------------------------------------------------


def test_the_desk_check_shows_the_platforms_text_as_version_1_before_any_photo(
    desk: Client, verify_url: str
) -> None:
    page = desk.get(verify_url).content.decode()

    shown = re.search(
        r'data-test="face-consent-text" data-version="(\d+)">([^<]*)</blockquote>', page
    )
    assert shown is not None
    assert (shown.group(1), shown.group(2)) == ("1", DEFAULT_FACE_CONSENT_ZH)
    # Before the consent, the photo and the comparison are not offered; the eye route is.
    assert re.search(r'<div class="field" data-needs-face-consent hidden>', page)
    assert re.search(r'name="identity_check" value="eye" checked', page)
    assert 'data-test="no-face-way"' in page
    stored = FaceConsentText.objects.get()
    assert (stored.version, stored.text_en) == (1, DEFAULT_FACE_CONSENT_EN)


def test_the_text_reads_in_the_pages_language() -> None:
    text = FaceConsentText(version=1, text_zh="中文文本", text_en="English text")

    with translation.override("en"):
        english = text.text
    with translation.override("zh-hans"):
        chinese = text.text

    assert (english, chinese) == ("English text", "中文文本")


def test_the_consent_records_the_version_the_time_and_who_at_the_desk(
    alpha: Building, desk: Client, verify_url: str
) -> None:
    before = timezone.now()

    consent_to_face(desk, verify_url)

    process = VisitProcess.objects.get(visit=visit_at_desk())
    assert process.face_consent_text is not None
    assert process.face_consent_text.version == 1
    assert process.face_consent_at is not None and before <= process.face_consent_at
    assert process.face_consent_by is not None
    assert (process.face_consent_by.email, process.face_consent) == ("desk@alpha.example", True)
    entry = AuditEntry.objects.get(verb="face_consent.given")
    assert (entry.object_id, entry.detail, entry.actor_label) == (
        str(process.visit_id),
        {"version": 1},
        "desk@alpha.example",
    )
    page = desk.get(verify_url).content.decode()
    assert "data-face-consent-ask" not in page
    assert re.search(r'<div class="field" data-needs-face-consent >', page)


def test_consenting_twice_records_the_first_consent_only(desk: Client, verify_url: str) -> None:
    consent_to_face(desk, verify_url)
    first = VisitProcess.objects.get(visit=visit_at_desk()).face_consent_at

    again = consent_json(desk, verify_url, "1")

    assert again.status_code == 200
    assert again.json()["version"] == 1
    assert VisitProcess.objects.get(visit=visit_at_desk()).face_consent_at == first
    assert AuditEntry.objects.filter(verb="face_consent.given").count() == 1


@pytest.mark.parametrize(
    "version", ["", "abc", "-1", "0", "1.0", "１", "9" * 40], ids=lambda v: repr(v)[:12]
)
def test_a_malformed_version_is_refused_and_nothing_is_recorded(
    desk: Client, verify_url: str, version: str
) -> None:
    response = consent_json(desk, verify_url, version)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_version"
    assert response.json()["message"]
    assert VisitProcess.objects.get(visit=visit_at_desk()).face_consent_text is None


def test_a_consent_to_a_version_not_in_force_is_refused(
    alpha: Building, desk: Client, verify_url: str
) -> None:
    face_consent_text_in_force()  # version 1, shown on the open page

    change_face_consent_text(Actor.system("tests"), text_zh="新文本", text_en="New text")
    stale = consent_json(desk, verify_url, "1")
    forged = consent_json(desk, verify_url, "7")

    assert (stale.status_code, stale.json()["code"]) == (409, "consent_text_changed")
    assert (forged.status_code, forged.json()["code"]) == (409, "consent_text_changed")
    assert VisitProcess.objects.get(visit=visit_at_desk()).face_consent_text is None


def test_only_reception_on_the_task_may_record_the_consent(
    alpha: Building, verify_url: str
) -> None:
    guard = client_for(alpha, member(alpha, "guard@alpha.example", Role.SECURITY))

    assert guard.post(f"{verify_url}face-consent/", {"version": "1"}).status_code == 404
    assert client_for(alpha).post(f"{verify_url}face-consent/", {"version": "1"}).status_code == 302
    assert desk_get_not_allowed(verify_url, alpha) == 405
    assert VisitProcess.objects.get(visit=visit_at_desk()).face_consent_text is None


def desk_get_not_allowed(verify_url: str, alpha: Building) -> int:
    desk = client_for(alpha, member(alpha, "desk2@alpha.example", Role.RECEPTION))
    return int(desk.get(f"{verify_url}face-consent/").status_code)


def test_no_consent_once_the_desk_check_is_over(desk: Client, verify_url: str) -> None:
    desk.post(verify_url, {"host_consent": "no", "consent_note": "不认识"})

    response = consent_json(desk, verify_url, "1")

    assert response.status_code in (404, 409)
    assert VisitProcess.objects.get(visit=visit_at_desk()).face_consent_text is None


# --- Without consent: no photo, no report ------------------------------------------------------


def test_without_consent_a_photo_is_refused_and_not_stored(desk: Client, verify_url: str) -> None:
    response = desk.post(
        verify_url,
        {
            "host_consent": "yes",
            "identity_check": "eye",
            "checked_by_eye": "on",
            "photo": photo_upload(),
        },
    )

    assert response.status_code == 400
    assert 'data-code="face_consent_required"' in response.content.decode()
    visit = visit_at_desk()
    assert (visit.status, bool(visit.visitor.photo)) == ("pending_approval", False)


def test_without_consent_the_terminals_report_is_refused_and_nothing_is_stored(
    alpha: Building, verify_url: str
) -> None:
    visit = visit_at_desk()

    response = terminal_sends(alpha, visit)

    assert response.status_code == 409
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["code"] == "face_consent_missing"
    assert response.json()["message"]
    assert not FaceMatchReport.objects.exists()
    assert VisitProcess.objects.get(visit=visit).face_match_score is None
    assert not AuditEntry.objects.filter(verb="face_match.reported").exists()


def test_with_consent_the_photo_is_stored_and_the_report_accepted(
    alpha: Building, desk: Client, verify_url: str
) -> None:
    visit = visit_at_desk()
    consent_to_face(desk, verify_url)

    reported = terminal_sends(alpha, visit, score=93)
    checked = desk.post(
        verify_url, {"host_consent": "yes", "identity_check": "face", "photo": photo_upload()}
    )

    assert reported.status_code == 201
    assert checked.status_code == 302
    visit.refresh_from_db()
    visit.visitor.refresh_from_db()
    assert (visit.status, bool(visit.visitor.photo)) == ("approved", True)
    assert FaceMatchReport.objects.filter(process__visit=visit).count() == 1


# --- The way in without a face ---------------------------------------------------------------


def test_a_visit_completes_end_to_end_with_consent_refused_and_no_face_data(
    alpha: Building, desk: Client, verify_url: str
) -> None:
    visit = visit_at_desk()
    refused_report = terminal_sends(alpha, visit)  # the terminal tries anyway

    checked = desk.post(
        verify_url, {"host_consent": "yes", "identity_check": "eye", "checked_by_eye": "on"}
    )
    printed = desk.post(checked["Location"], {"how": "slip"})

    assert refused_report.status_code == 409
    assert (checked.status_code, printed.status_code) == (302, 302)
    visit.refresh_from_db()
    process = visit.process
    assert visit.status == "approved"
    assert (process.identity_check, process.face_consent, process.face_consent_text) == (
        "eye",
        False,
        None,
    )
    assert process.face_match_score is None
    assert not Visitor.objects.exclude(photo="").exists()
    assert not FaceMatchReport.objects.exists()
    assert admitted(visit)


# --- Changing the text --------------------------------------------------------------------


def test_changing_the_text_makes_a_new_version_and_old_consents_keep_theirs(
    alpha: Building, desk: Client, verify_url: str
) -> None:
    consent_to_face(desk, verify_url)
    admin = client_for(alpha, admin_of(alpha))

    saved = admin.post("/face-consent/", {"text_zh": "新的同意文本", "text_en": "New words"})
    unchanged = admin.post("/face-consent/", {"text_zh": "新的同意文本", "text_en": "New words"})
    second_url = str(register_walk_in(desk, "no_id")["Location"])  # another walk-in
    second_page = desk.get(second_url).content.decode()
    consent_to_face(desk, second_url)

    assert (saved.status_code, unchanged.status_code) == (302, 302)
    assert list(FaceConsentText.objects.order_by("version").values_list("version", "text_en")) == [
        (1, DEFAULT_FACE_CONSENT_EN),
        (2, "New words"),
    ]
    assert 'data-version="2">新的同意文本</blockquote>' in second_page
    versions = dict(
        VisitProcess.objects.values_list("visit__scenario", "face_consent_text__version")
    )
    assert versions == {"walk_in": 1, "no_id": 2}
    entry = AuditEntry.objects.get(verb="face_consent_text.changed")
    assert entry.detail == {"version": 2}


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"text_zh": "", "text_en": "words"}, "consent_text_length"),
        ({"text_zh": "文字", "text_en": "   "}, "consent_text_length"),
        ({"text_zh": "文" * 4001, "text_en": "words"}, "consent_text_length"),
    ],
    ids=["no-chinese", "blank-english", "oversized"],
)
def test_a_bad_text_is_refused_and_no_version_is_made(
    alpha: Building, in_alpha: Building, answers: dict[str, str], code: str
) -> None:
    admin = client_for(alpha, admin_of(alpha))

    response = admin.post("/face-consent/", answers)

    assert response.status_code == 400
    assert f'data-code="{code}"' in response.content.decode()
    assert list(FaceConsentText.objects.values_list("version", flat=True)) == [1]


def test_reception_cannot_change_the_text(alpha: Building, desk: Client) -> None:
    response = desk.post("/face-consent/", {"text_zh": "改", "text_en": "changed"})

    assert response.status_code == 403
    assert not FaceConsentText.objects.filter(text_en="changed").exists()
