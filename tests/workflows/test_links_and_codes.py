"""Action links (hosts decide from their phone) and one-time codes (visitors prove their number)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from kernel.errors import DomainError
from tenants.actions import create_building
from tenants.models import Building
from tests.access.conftest import SYSTEM, make_host, make_visit
from tests.conftest import end_other_database_sessions
from visit_platform.notifications.models import Notification
from workflows.actions import (
    CODE_ATTEMPTS,
    CODES_PER_HOUR,
    create_action_link,
    open_action_link,
    send_one_time_code,
    use_action_link,
    verify_one_time_code,
)
from workflows.models import ActionLink, OneTimeCode

MOBILE = "13812345678"


# --- Action links ---------------------------------------------------------------------------


def test_a_link_is_spent_once_on_a_decision(in_alpha: Building) -> None:
    visit, host = make_visit(status="pending_approval"), make_host()
    issued = create_action_link(SYSTEM, visit=visit, host=host)

    link = use_action_link(SYSTEM, issued.code, "approved")

    assert (link.outcome, link.visit_id, link.host_id) == ("approved", visit.pk, host.pk)
    with pytest.raises(DomainError) as again:
        use_action_link(SYSTEM, issued.code, "rejected")
    assert (again.value.code, again.value.status) == ("link_used", 410)
    link.refresh_from_db()
    assert link.outcome == "approved"


def test_an_expired_link_is_refused(in_alpha: Building) -> None:
    issued = create_action_link(
        SYSTEM, visit=make_visit(), host=make_host(), lifetime=timedelta(seconds=-1)
    )

    with pytest.raises(DomainError) as refused:
        use_action_link(SYSTEM, issued.code, "approved")

    assert (refused.value.code, refused.value.status) == ("link_expired", 410)
    assert ActionLink.objects.get().used_at is None


@pytest.mark.parametrize(
    "code", ["", "x", "A" * 22, "A" * 5000, "../../etc/passwd", "<script>alert(1)</script>"]
)
def test_made_up_link_codes_are_unknown(in_alpha: Building, code: str) -> None:
    create_action_link(SYSTEM, visit=make_visit(), host=make_host())

    with pytest.raises(DomainError) as refused:
        open_action_link(code)

    assert (refused.value.code, refused.value.status) == ("link_unknown", 404)


def test_an_unknown_outcome_spends_nothing(in_alpha: Building) -> None:
    issued = create_action_link(SYSTEM, visit=make_visit(), host=make_host())

    with pytest.raises(DomainError) as refused:
        use_action_link(SYSTEM, issued.code, "maybe")

    assert refused.value.code == "outcome_invalid"
    assert open_action_link(issued.code).used_at is None


def test_the_database_holds_no_usable_link_code(in_alpha: Building) -> None:
    issued = create_action_link(SYSTEM, visit=make_visit(), host=make_host())

    assert issued.code not in ActionLink.objects.values_list("code_hash", flat=True)[0]


@pytest.fixture(scope="module")
def committed_link(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A link in a committed building, for two phones tapping it at the same moment."""
    with django_db_blocker.unblock():
        building = create_building(
            slug="linkrace", name="链接测试", admin_email="admin@linkrace.example"
        ).building
        try:
            with schema_context("linkrace"):
                code = create_action_link(SYSTEM, visit=make_visit(), host=make_host()).code
            yield code
        finally:
            connection.set_schema_to_public()
            building.delete(force_drop=True)
            end_other_database_sessions()


@pytest.mark.django_db
def test_two_taps_on_one_link_at_the_same_moment_decide_once(committed_link: str) -> None:
    barrier = threading.Barrier(2)
    results: list[str] = []

    def tap(outcome: str) -> None:
        try:
            with schema_context("linkrace"):
                connection.ensure_connection()
                barrier.wait(timeout=10)
                use_action_link(SYSTEM, committed_link, outcome)
                results.append(outcome)
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap, args=(o,)) for o in ("approved", "rejected")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) in (["approved", "link_used"], ["link_used", "rejected"])


# --- One-time codes -------------------------------------------------------------------------


def sent_code() -> str:
    """The code in the latest SMS, as the visitor reads it."""
    text = Notification.objects.filter(purpose="one_time_code").latest("id").text
    match = re.search(r"\b(\d{6})\b", text)
    assert match is not None, text
    return match.group(1)


def test_a_visitor_proves_their_number_with_the_code_they_were_sent(in_alpha: Building) -> None:
    send_one_time_code(SYSTEM, "+86 138 1234 5678")

    number = verify_one_time_code(MOBILE, sent_code())

    assert number == "+8613812345678"
    notification = Notification.objects.get()
    assert (notification.channel, notification.recipient) == ("sms", "+8613812345678")
    assert "有效" in notification.text  # in the building's language: Simplified Chinese


def test_a_code_works_once(in_alpha: Building) -> None:
    send_one_time_code(SYSTEM, MOBILE)
    code = sent_code()
    verify_one_time_code(MOBILE, code)

    with pytest.raises(DomainError) as again:
        verify_one_time_code(MOBILE, code)

    assert again.value.code == "code_expired"


def test_a_code_dies_after_its_wrong_guesses_even_for_the_right_one(in_alpha: Building) -> None:
    send_one_time_code(SYSTEM, MOBILE)
    code = sent_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    for _guess in range(CODE_ATTEMPTS):
        with pytest.raises(DomainError) as refused:
            verify_one_time_code(MOBILE, wrong)
        assert refused.value.code == "code_wrong"
    with pytest.raises(DomainError) as locked:
        verify_one_time_code(MOBILE, code)

    assert locked.value.code == "too_many_attempts"


def test_an_expired_code_is_refused(in_alpha: Building) -> None:
    send_one_time_code(SYSTEM, MOBILE)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(DomainError) as refused:
        verify_one_time_code(MOBILE, sent_code())

    assert refused.value.code == "code_expired"


def test_a_second_code_within_a_minute_is_refused_and_not_sent(in_alpha: Building) -> None:
    send_one_time_code(SYSTEM, MOBILE)

    with pytest.raises(DomainError) as refused:
        send_one_time_code(SYSTEM, "+8613812345678")

    assert (refused.value.code, refused.value.status) == ("code_too_soon", 429)
    assert Notification.objects.count() == 1


def test_a_number_gets_a_limited_number_of_codes_an_hour(in_alpha: Building) -> None:
    for _code in range(CODES_PER_HOUR):
        send_one_time_code(SYSTEM, MOBILE)
        OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    with pytest.raises(DomainError) as refused:
        send_one_time_code(SYSTEM, MOBILE)

    assert (refused.value.code, refused.value.status) == ("too_many_codes", 429)
    assert Notification.objects.count() == CODES_PER_HOUR


@pytest.mark.parametrize("mobile", ["", "12345", "1" * 5000, "<script>"])
def test_codes_are_not_sent_to_what_is_not_a_mobile_number(in_alpha: Building, mobile: str) -> None:
    with pytest.raises(DomainError) as refused:
        send_one_time_code(SYSTEM, mobile)

    assert refused.value.code == "mobile_invalid"
    assert OneTimeCode.objects.count() == Notification.objects.count() == 0


def test_neither_the_number_nor_the_code_is_readable_in_the_database(
    in_alpha: Building,
) -> None:
    send_one_time_code(SYSTEM, MOBILE)
    code = sent_code()

    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile_index, code_hash FROM workflows_onetimecode")
        stored = " ".join(cursor.fetchone())

    assert MOBILE not in stored
    assert code not in stored
