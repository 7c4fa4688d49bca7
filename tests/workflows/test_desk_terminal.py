"""The desk check's identity step (5.2.3/5.2.4): the visitor terminal reports its face
comparison through the desk API; reception chooses the face route (with the visitor's
separate consent) or the check by eye; a refusal needs neither; the photo is asked for
only where the policy says and none is on file; the server compares faces for desks
without a terminal."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from tenants.models import Building
from tests.conftest import client_for, member
from tests.forms.conftest import make_host
from tests.integrations.face_samples import SAME_PERSON, SOMEONE_ELSE, crop
from tests.workflows.test_flows import consent_to_face, photo_upload, register_walk_in
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.visits.models import Visit
from workflows.actions.terminals import record_face_match, register_desk_terminal
from workflows.models import DeskTerminal, FaceMatchReport, VisitProcess

SYSTEM = Actor.system("tests")
API = "/api/desk/face-matches"


@pytest.fixture
def desk(alpha: Building, in_alpha: Building) -> Client:
    make_host("13900139000")
    return client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))


@pytest.fixture
def terminal(in_alpha: Building) -> tuple[DeskTerminal, str]:
    return register_desk_terminal(SYSTEM, name="大堂访客机")


@pytest.fixture
def at_desk(desk: Client) -> tuple[Visit, str]:
    """A walk-in registered at the desk, waiting at the desk check: (visit, its URL)."""
    verify_url = register_walk_in(desk)["Location"]
    return Visit.objects.get(scenario="walk_in"), verify_url


@pytest.fixture
def consented(desk: Client, at_desk: tuple[Visit, str]) -> tuple[Visit, str]:
    """The walk-in at the desk check, who has agreed to the face consent text."""
    consent_to_face(desk, at_desk[1])
    return at_desk


def report(visit: Visit, **fields: Any) -> dict[str, Any]:
    return {
        "visit_id": visit.pk,
        "score": 92,
        "vendor": "ZKTeco",
        "model": "FaceDepot-7B",
        "taken_at": timezone.now().isoformat(),
        "nonce": uuid.uuid4().hex,
        **fields,
    }


def send(alpha: Building, key: str | None, body: Any) -> HttpResponse:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    client = client_for(alpha)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    response: HttpResponse = client.post(API, data=data, content_type="application/json", **headers)
    return response


def assert_error(response: HttpResponse, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["code"] == code
    assert response.json()["message"]


def score_of(visit: Visit) -> int | None:
    return VisitProcess.objects.get(visit=visit).face_match_score


# --- The terminal's API ---------------------------------------------------------------------


def test_a_terminal_reports_a_score_for_a_visit_at_the_desk_and_it_is_audited(
    alpha: Building, consented: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, _ = consented

    response = send(alpha, terminal[1], report(visit, score=92))

    assert (response.status_code, response.json()) == (201, {"visit_id": visit.pk, "score": 92})
    assert score_of(visit) == 92
    stored = FaceMatchReport.objects.get()
    assert (stored.terminal, stored.vendor, stored.model) == (terminal[0], "ZKTeco", "FaceDepot-7B")
    entry = AuditEntry.objects.get(verb="face_match.reported")
    assert (entry.object_id, entry.detail["score"], entry.actor_label) == (
        str(visit.pk),
        92,
        "terminal:大堂访客机",
    )


@pytest.mark.parametrize(
    "key",
    [None, "", "abcdefgh", "abcdefgh.not-the-secret", "x" * 300],
    ids=["none", "empty", "no-secret", "forged", "huge"],
)
def test_a_report_without_a_valid_key_is_refused_and_nothing_is_recorded(
    alpha: Building, at_desk: tuple[Visit, str], terminal: tuple[DeskTerminal, str], key: Any
) -> None:
    visit, _ = at_desk

    response = send(alpha, key, report(visit))

    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"] == 'Bearer realm="desk"'
    assert score_of(visit) is None


def test_a_key_with_a_forged_secret_is_refused(
    alpha: Building, at_desk: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, _ = at_desk
    prefix = terminal[1].split(".")[0]

    assert_error(send(alpha, f"{prefix}.forged-secret", report(visit)), 401, "unauthorized")
    assert not FaceMatchReport.objects.exists()


def test_a_deactivated_terminal_or_another_buildings_terminal_is_refused(
    alpha: Building, beta: Building, at_desk: tuple[Visit, str], in_alpha: Building
) -> None:
    visit, _ = at_desk
    retired, retired_key = register_desk_terminal(SYSTEM, name="old")
    retired.is_active = False
    retired.save()
    from django_tenants.utils import schema_context

    with schema_context(beta.schema_name):
        _, beta_key = register_desk_terminal(SYSTEM, name="beta desk")

    assert_error(send(alpha, retired_key, report(visit)), 401, "unauthorized")
    assert_error(send(alpha, beta_key, report(visit)), 401, "unauthorized")
    assert not FaceMatchReport.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"score": 101}, 422, "invalid_request"),
        ({"score": -1}, 422, "invalid_request"),
        ({"score": "92"}, 422, "invalid_request"),
        ({"score": 9.5}, 422, "invalid_request"),
        ({"visit_id": "1"}, 422, "invalid_request"),
        ({"nonce": "short"}, 422, "invalid_request"),
        ({"nonce": "a b c d e f g h i j k"}, 422, "invalid_request"),
        ({"vendor": "ZK\x00Teco"}, 422, "invalid_request"),
        ({"taken_at": "2026-12-06T10:00:00"}, 422, "invalid_request"),  # no time zone
    ],
)
def test_a_malformed_report_is_refused_and_nothing_is_recorded(
    alpha: Building,
    at_desk: tuple[Visit, str],
    terminal: tuple[DeskTerminal, str],
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    visit, _ = at_desk

    assert_error(send(alpha, terminal[1], report(visit, **change)), status, code)
    assert score_of(visit) is None


def test_a_body_that_is_not_json_or_too_large_is_refused(
    alpha: Building, at_desk: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, _ = at_desk
    huge = report(visit, vendor="x" * 8000)

    assert_error(send(alpha, terminal[1], "{not json"), 400, "malformed_json")
    assert_error(send(alpha, terminal[1], huge), 413, "too_large")
    assert_error(send(alpha, terminal[1], [report(visit)] * 10), 413, "too_many_values")
    assert score_of(visit) is None


def test_a_replayed_report_is_refused(
    alpha: Building, consented: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, _ = consented
    first = report(visit, score=40)
    send(alpha, terminal[1], first)

    replayed = send(alpha, terminal[1], {**first, "score": 99})

    assert_error(replayed, 409, "replayed")
    assert score_of(visit) == 40


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_report_made_outside_the_five_minute_window_is_refused(
    alpha: Building, at_desk: tuple[Visit, str], terminal: tuple[DeskTerminal, str], minutes: int
) -> None:
    visit, _ = at_desk
    taken_at = (timezone.now() + timedelta(minutes=minutes)).isoformat()

    assert_error(send(alpha, terminal[1], report(visit, taken_at=taken_at)), 400, "stale_report")
    assert score_of(visit) is None


def test_a_score_for_a_visit_not_waiting_at_the_desk_is_refused(
    alpha: Building, desk: Client, at_desk: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, verify_url = at_desk
    desk.post(verify_url, {"host_consent": "no"})  # refused: the desk check is over

    assert_error(send(alpha, terminal[1], report(visit)), 409, "not_at_desk")
    assert_error(
        send(alpha, terminal[1], report(visit, visit_id=visit.pk + 1000)), 409, "not_at_desk"
    )
    assert not FaceMatchReport.objects.exists()


def test_a_score_for_a_visitor_without_id_is_refused(
    alpha: Building, desk: Client, terminal: tuple[DeskTerminal, str]
) -> None:
    register_walk_in(desk, "no_id")
    visit = Visit.objects.get(scenario="no_id")

    assert_error(send(alpha, terminal[1], report(visit)), 409, "not_at_desk")


# --- The desk check's page ------------------------------------------------------------------


def test_the_desk_check_polls_the_terminals_latest_score(
    alpha: Building, desk: Client, consented: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, verify_url = consented
    poll_url = f"{verify_url}face-match.json"
    before = desk.get(poll_url).json()

    send(alpha, terminal[1], report(visit, score=71))
    after = desk.get(poll_url).json()

    assert before == {"score": None, "threshold": 80}
    assert after == {
        "score": 71,
        "threshold": 80,
        "passes": False,
        "source": "大堂访客机",
        "vendor": "ZKTeco",
        "model": "FaceDepot-7B",
    }
    page = desk.get(verify_url).content.decode()
    shown = re.search(r'data-test="face-score">([^<]*)<', page)
    assert shown and "71" in shown.group(1) and "大堂访客机" in shown.group(1)
    assert 'name="face_match_score"' not in page  # reception never types a score


def test_only_reception_sees_the_desk_checks_score(
    alpha: Building, at_desk: tuple[Visit, str]
) -> None:
    _, verify_url = at_desk
    guard = client_for(alpha, member(alpha, "guard@alpha.example", Role.SECURITY))

    assert guard.get(f"{verify_url}face-match.json").status_code == 404
    assert client_for(alpha).get(f"{verify_url}face-match.json").status_code == 302


def test_a_refusal_needs_no_photo_score_or_tick(desk: Client, at_desk: tuple[Visit, str]) -> None:
    visit, verify_url = at_desk

    refused = desk.post(
        verify_url, {"host_consent": "no", "consent_note": "不认识", "photo": photo_upload()}
    )

    assert refused.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.decision_reason) == ("rejected", "不认识")
    assert not visit.visitor.photo  # a photo sent with a refusal is not kept


def test_admitting_a_walk_in_needs_a_route_to_their_identity(
    desk: Client, at_desk: tuple[Visit, str]
) -> None:
    _, verify_url = at_desk

    response = desk.post(verify_url, {"host_consent": "yes"})

    assert response.status_code == 400
    assert 'data-code="identity_check_required"' in response.content.decode()


def test_the_face_route_needs_the_visitors_separate_consent(
    alpha: Building, desk: Client, at_desk: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, verify_url = at_desk
    assert_error(send(alpha, terminal[1], report(visit, score=95)), 409, "face_consent_missing")

    response = desk.post(verify_url, {"host_consent": "yes", "identity_check": "face"})

    assert 'data-code="face_consent_required"' in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def test_the_face_route_waits_for_the_terminals_score(
    desk: Client, consented: tuple[Visit, str]
) -> None:
    _, verify_url = consented

    response = desk.post(
        verify_url,
        {
            "host_consent": "yes",
            "identity_check": "face",
            "photo": photo_upload(),
            "face_match_score": "99",  # a typed score counts for nothing
        },
    )

    assert 'data-code="face_match_required"' in response.content.decode()


def test_a_low_score_passes_only_with_receptions_own_check(
    alpha: Building, desk: Client, consented: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, verify_url = consented
    send(alpha, terminal[1], report(visit, score=70))
    answers = {"host_consent": "yes", "identity_check": "face"}

    low = desk.post(verify_url, {**answers, "photo": photo_upload()})
    ticked = desk.post(verify_url, {**answers, "checked_by_eye": "on", "photo": photo_upload()})

    assert 'data-code="face_match_low"' in low.content.decode()
    assert ticked.status_code == 302
    process = VisitProcess.objects.get(visit=visit)
    assert (process.identity_check, process.face_consent, process.face_match_score) == (
        "face",
        True,
        70,
    )


def test_the_check_by_eye_is_recorded_distinctly_and_keeps_no_face_score(
    alpha: Building, desk: Client, consented: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, verify_url = consented
    send(alpha, terminal[1], report(visit, score=95))  # sent, then reception checks by eye
    answers = {"host_consent": "yes", "identity_check": "eye"}

    untick = desk.post(verify_url, {**answers, "photo": photo_upload()})
    done = desk.post(verify_url, {**answers, "checked_by_eye": "on", "photo": photo_upload()})

    assert 'data-code="eye_check_required"' in untick.content.decode()
    assert done.status_code == 302
    visit.refresh_from_db()
    process = visit.process
    assert (visit.status, process.identity_check) == ("approved", "eye")
    assert process.face_match_score is None
    assert not FaceMatchReport.objects.exists()  # not the face route: the score is dropped
    step = AuditEntry.objects.filter(verb="task.done", detail__step="verify").get()
    assert (step.detail["identity_check"], step.detail["face_match_score"]) == ("eye", None)


def test_the_photo_is_marked_required_only_where_the_policy_asks_and_none_is_on_file(
    desk: Client,
) -> None:
    walk_in_url = register_walk_in(desk)["Location"]
    no_id_url = register_walk_in(desk, "no_id")["Location"]  # its form took the photo

    walk_in = desk.get(walk_in_url).content.decode()
    no_id = desk.get(no_id_url).content.decode()

    assert re.search(r'id="photo-label">[^<]*<span class="required">', walk_in)
    assert re.search(r'id="photo-label">[^<]*</span>', no_id)
    assert 'name="identity_check"' not in no_id  # the no-ID path is itself the non-face way


def test_the_server_compares_the_documents_photo_with_the_visitors_photo(
    desk: Client, consented: tuple[Visit, str]
) -> None:
    _, verify_url = consented
    (first, first_box), (second, second_box) = SAME_PERSON
    answers = {"host_consent": "yes", "identity_check": "face"}

    checked = desk.post(
        verify_url,
        {
            **answers,
            "id_photo": upload(crop(first, first_box), "document.jpg"),
            "photo": upload(crop(second, second_box), "live.jpg"),
        },
    )

    assert checked.status_code == 302, checked.content.decode()[:2000]
    report_row = FaceMatchReport.objects.get()
    assert (report_row.terminal, report_row.vendor) == (None, "server")
    assert report_row.score >= 80
    assert AuditEntry.objects.filter(verb="face_match.compared").count() == 1


def test_the_server_refuses_a_different_persons_face_unless_reception_checks(
    desk: Client, consented: tuple[Visit, str]
) -> None:
    visit, verify_url = consented
    (first, first_box), _ = SAME_PERSON
    other, other_box = SOMEONE_ELSE

    response = desk.post(
        verify_url,
        {
            "host_consent": "yes",
            "identity_check": "face",
            "id_photo": upload(crop(first, first_box), "document.jpg"),
            "photo": upload(crop(other, other_box), "live.jpg"),
        },
    )

    assert 'data-code="face_match_low"' in response.content.decode()
    assert not FaceMatchReport.objects.exists()  # nothing kept from a refused check
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def upload(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


# --- The action and the command -------------------------------------------------------------


def test_the_latest_report_is_the_visits_score(
    consented: tuple[Visit, str], terminal: tuple[DeskTerminal, str]
) -> None:
    visit, _ = consented
    for score in (55, 88):
        record_face_match(
            terminal[0],
            visit_id=visit.pk,
            score=score,
            vendor="ZKTeco",
            model="FaceDepot-7B",
            taken_at=timezone.now(),
            nonce=uuid.uuid4().hex,
        )

    assert score_of(visit) == 88
    assert FaceMatchReport.objects.count() == 2
    assert AuditEntry.objects.filter(verb="face_match.reported").count() == 2


def test_the_command_registers_a_terminal_whose_key_is_shown_once_and_stored_hashed(
    alpha: Building, consented: tuple[Visit, str]
) -> None:
    visit, _ = consented
    out = io.StringIO()

    call_command("register_desk_terminal", building=alpha.schema_name, name="二楼前台", stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    stored = DeskTerminal.objects.get(name="二楼前台")
    assert key.split(".")[0] == stored.key_prefix
    assert key.split(".")[1] not in stored.key_hash
    assert send(alpha, key, report(visit)).status_code == 201
