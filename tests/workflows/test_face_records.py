"""The face-record census (ADR 0036): every building's face records are counted into the
public schema, and the operator is e-mailed once when the total reaches the threshold, with
a notice on the operator's admin pages. Numbers only: no building's people leave it."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Building, FaceRecordCensus, FaceRecordCount, User
from tests.conftest import client_for, member
from tests.forms.conftest import make_host
from tests.workflows.test_flows import consent_to_face, photo_upload, register_walk_in
from visit_platform.audit.actions import Actor
from visit_platform.directory.choices import Role
from visit_platform.visits.models import Visit, Visitor, index_of_name
from workflows.actions.terminals import record_face_match, register_desk_terminal
from workflows.tasks import count_face_records_task

OPERATOR = "operator@platform.example"


@pytest.fixture
def low_threshold(settings: Any) -> None:
    settings.FACE_RECORDS_ALERT_THRESHOLD = 5
    settings.FACE_RECORDS_ALERT_EMAILS = [OPERATOR]


@pytest.fixture
def records_in_two_buildings(alpha: Building, beta: Building) -> None:
    """Alpha: 张伟, who consented at the desk, was compared by the terminal and photographed
    (one person, a photo and a report), and 李四 with a desk photo on file: 2 people.
    Beta: 3 visitors with photos and one without: 3 people."""
    with schema_context(alpha.schema_name):
        make_host("13900139000")
        desk = client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))
        verify_url = register_walk_in(desk)["Location"]
        consent_to_face(desk, verify_url)
        terminal, _key = register_desk_terminal(Actor.system("tests"), name="大堂访客机")
        record_face_match(
            terminal,
            visit_id=Visit.objects.get(scenario="walk_in").pk,
            score=93,
            vendor="ZKTeco",
            model="FaceDepot-7B",
            taken_at=timezone.now(),
            nonce=uuid.uuid4().hex,
        )
        checked = desk.post(
            verify_url, {"host_consent": "yes", "identity_check": "face", "photo": photo_upload()}
        )
        assert checked.status_code == 302
        Visitor.objects.create(name="李四", photo="visitors/2026/12/li.jpg")
    with schema_context(beta.schema_name):
        for name in ("王五", "赵六", "孙七"):
            Visitor.objects.create(name=name, photo=f"visitors/2026/12/{name}.jpg")
        Visitor.objects.create(name="周八")  # no face data


def census(capture: Callable[..., Any]) -> FaceRecordCensus:
    """The daily task, run as beat runs it; e-mails go out after commit."""
    with capture(execute=True):
        count_face_records_task.apply().get()
    return FaceRecordCensus.objects.order_by("-counted_at", "-pk").first()  # type: ignore[return-value]


def counts_of(taken: FaceRecordCensus) -> dict[str, tuple[int, int, int, int]]:
    return {
        count.schema_name: (count.people, count.photos, count.form_photos, count.face_matches)
        for count in taken.counts.all()
    }


def test_the_census_counts_every_buildings_face_records_exactly(
    records_in_two_buildings: None, low_threshold: None, django_capture_on_commit_callbacks: Any
) -> None:
    taken = census(django_capture_on_commit_callbacks)

    assert counts_of(taken) == {"alpha": (2, 2, 0, 1), "beta": (3, 3, 0, 0)}
    assert (taken.total, taken.threshold) == (5, 5)
    assert [count.building.schema_name for count in taken.counts.order_by("schema_name")] == [  # type: ignore[union-attr]
        "alpha",
        "beta",
    ]


def test_the_operator_is_alerted_once_per_crossing_not_every_day(
    beta: Building,
    records_in_two_buildings: None,
    low_threshold: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = census(django_capture_on_commit_callbacks)
    second = census(django_capture_on_commit_callbacks)  # the next day, still over
    with schema_context(beta.schema_name):
        Visitor.objects.filter(name_index=index_of_name("王五")).update(
            photo=""
        )  # a photo deleted (retention)
    under = census(django_capture_on_commit_callbacks)
    with schema_context(beta.schema_name):
        Visitor.objects.create(name="吴九", photo="visitors/2026/12/wu.jpg")
    again = census(django_capture_on_commit_callbacks)

    assert [c.total for c in (first, second, under, again)] == [5, 5, 4, 5]
    assert [c.alerted_at is not None for c in (first, second, under, again)] == [
        True,
        False,
        False,
        True,
    ]
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.to == [OPERATOR]
    assert "5" in message.subject
    for name in ("张伟", "李四", "王五", "赵六", "孙七", "13600136000"):
        assert name not in message.subject + message.body  # numbers, never people


def test_under_the_threshold_nobody_is_alerted(
    records_in_two_buildings: None, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.FACE_RECORDS_ALERT_THRESHOLD = 6
    settings.FACE_RECORDS_ALERT_EMAILS = [OPERATOR]

    taken = census(django_capture_on_commit_callbacks)

    assert (taken.total, taken.alerted_at, len(mail.outbox)) == (5, None, 0)


def test_without_configured_addresses_the_platforms_operators_are_alerted(
    records_in_two_buildings: None, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.FACE_RECORDS_ALERT_THRESHOLD = 5
    settings.FACE_RECORDS_ALERT_EMAILS = []
    User.objects.create_superuser(email="root@platform.example", password="x" * 20)

    census(django_capture_on_commit_callbacks)

    assert [message.to for message in mail.outbox] == [["root@platform.example"]]


def test_a_buildings_count_holds_numbers_and_is_not_moved_by_anothers_people(
    alpha: Building,
    beta: Building,
    records_in_two_buildings: None,
    low_threshold: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = counts_of(census(django_capture_on_commit_callbacks))
    with schema_context(beta.schema_name):
        for index in range(4):
            Visitor.objects.create(name=f"访客{index}", photo=f"visitors/2026/12/{index}.jpg")

    after = counts_of(census(django_capture_on_commit_callbacks))

    assert after["alpha"] == before["alpha"] == (2, 2, 0, 1)
    assert after["beta"] == (7, 7, 0, 0)
    stored = {field.name for field in FaceRecordCount._meta.get_fields()}
    assert stored == {
        "id",
        "census",
        "building",
        "schema_name",
        "photos",
        "form_photos",
        "face_matches",
        "people",
    }


def test_the_command_counts_and_prints_the_numbers(
    records_in_two_buildings: None, low_threshold: None, django_capture_on_commit_callbacks: Any
) -> None:
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("count_face_records", stdout=out)

    assert out.getvalue().splitlines() == [
        "alpha: 2 people (2 photos, 0 form photos, 1 face matches)",
        "beta: 3 people (3 photos, 0 form photos, 0 face matches)",
        "total: 5 (alert at 5)",
        "The threshold was reached: the operator has been alerted.",
    ]
    assert len(mail.outbox) == 1


def test_the_operators_admin_pages_show_the_notice_while_over_the_threshold(
    records_in_two_buildings: None, low_threshold: None, django_capture_on_commit_callbacks: Any
) -> None:
    operator = User.objects.create_superuser(email="root@platform.example", password="x" * 20)
    admin = Client(HTTP_HOST="localhost")
    admin.force_login(operator, backend="visit_platform.directory.backends.MembershipBackend")
    quiet = admin.get("/admin/").content.decode()

    taken = census(django_capture_on_commit_callbacks)
    index = admin.get("/admin/").content.decode()
    detail = admin.get(f"/admin/tenants/facerecordcensus/{taken.pk}/change/").content.decode()

    assert 'data-test="face-records-notice"' not in quiet
    assert 'data-test="face-records-notice"' in index
    assert 'data-test="face-records-notice"' in detail
    for name in ("张伟", "李四", "王五"):
        assert name not in index + detail
