"""A host approves or refuses a visit from their phone, through the link texted to them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kernel.errors import DomainError
from tenants.actions import building_domain
from tenants.models import Building
from tests.access.conftest import SYSTEM, make_host, make_visit
from visit_platform.access.models import Pass
from visit_platform.audit.models import AuditEntry
from visit_platform.notifications.models import Notification
from visit_platform.visits.actions import decide_visit
from visit_platform.visits.models import Visit
from workflows.actions import send_decision_link
from workflows.models import ActionLink


@pytest.fixture
def waiting(in_alpha: Building) -> Visit:
    return make_visit(host=make_host(), status="pending_approval")


def phone() -> Client:
    return Client(HTTP_HOST=building_domain("alpha"))


def texted_link(visit: Visit) -> str:
    """The path of the link in the SMS the host received."""
    text = Notification.objects.get(visit=visit, purpose="approval_request").text
    match = re.search(r"https?://[^/\s]+(/a/[\w-]+/)", text)
    assert match is not None, text
    return match.group(1)


# --- The action -------------------------------------------------------------------------------


def test_a_visit_is_decided_once_and_a_second_approver_is_told(waiting: Visit) -> None:
    decide_visit(SYSTEM, waiting, approve=True)

    with pytest.raises(DomainError) as second:
        decide_visit(SYSTEM, waiting, approve=False, reason="太晚了")

    assert (second.value.code, second.value.status) == ("already_decided", 409)
    waiting.refresh_from_db()
    assert waiting.status == "approved"
    assert AuditEntry.objects.filter(verb__in=["visit.approved", "visit.rejected"]).count() == 1


def test_a_refusal_needs_a_reason(waiting: Visit) -> None:
    with pytest.raises(DomainError) as refused:
        decide_visit(SYSTEM, waiting, approve=False, reason="  ")

    assert refused.value.code == "reason_required"
    waiting.refresh_from_db()
    assert waiting.status == "pending_approval"


# --- The link and the page --------------------------------------------------------------------


def test_the_host_gets_a_text_with_a_link_showing_the_visit_masked(waiting: Visit) -> None:
    send_decision_link(SYSTEM, waiting)

    page = phone().get(texted_link(waiting))

    assert page.status_code == 200
    body = page.content.decode()
    assert "韩*" in body
    assert "韩梅梅" not in body
    notification = Notification.objects.get(purpose="approval_request")
    assert notification.recipient == waiting.host.mobile


def test_approving_from_the_phone_issues_the_pass_and_texts_it_to_the_visitor(
    waiting: Visit,
) -> None:
    send_decision_link(SYSTEM, waiting)

    # The host's phone speaks English; the visitor is texted in the building's language.
    done = phone().post(
        texted_link(waiting), {"decision": "approve"}, HTTP_COOKIE="django_language=en"
    )

    assert done.status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == "approved"
    assert Pass.objects.filter(visit=waiting).count() == 1
    pass_text = Notification.objects.get(purpose="pass_link").text
    assert re.search(r"/p/[\w-]+/", pass_text)
    assert "通行证" in pass_text
    assert ActionLink.objects.get().outcome == "approved"


def test_refusing_from_the_phone_records_the_reason_and_issues_nothing(waiting: Visit) -> None:
    send_decision_link(SYSTEM, waiting)

    phone().post(texted_link(waiting), {"decision": "reject", "reason": "今天不在公司"})

    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_reason) == ("rejected", "今天不在公司")
    assert not Pass.objects.filter(visit=waiting).exists()
    told = Notification.objects.get(purpose="decision")
    assert told.recipient == waiting.visitor.mobile
    assert "今天不在公司" in told.text


def test_a_refusal_without_a_reason_is_shown_and_spends_nothing(waiting: Visit) -> None:
    send_decision_link(SYSTEM, waiting)

    page = phone().post(texted_link(waiting), {"decision": "reject", "reason": ""})

    assert page.status_code == 400
    assert ActionLink.objects.get().used_at is None
    waiting.refresh_from_db()
    assert waiting.status == "pending_approval"


def test_a_link_used_twice_is_refused_and_changes_nothing(waiting: Visit) -> None:
    send_decision_link(SYSTEM, waiting)
    link = texted_link(waiting)
    phone().post(link, {"decision": "approve"})

    again = phone().post(link, {"decision": "reject", "reason": "改主意了"})

    assert again.status_code == 410
    waiting.refresh_from_db()
    assert waiting.status == "approved"
    assert Pass.objects.filter(visit=waiting).count() == 1


def test_an_expired_link_is_refused(waiting: Visit) -> None:
    send_decision_link(SYSTEM, waiting)
    ActionLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    page = phone().post(texted_link(waiting), {"decision": "approve"})

    assert page.status_code == 410
    waiting.refresh_from_db()
    assert waiting.status == "pending_approval"


@pytest.mark.parametrize("code", ["forged-code-0000000000", "x" * 5000, "%3Cscript%3E"])
def test_a_forged_link_is_not_found(waiting: Visit, code: str) -> None:
    send_decision_link(SYSTEM, waiting)

    page = phone().post(f"/a/{code}/", {"decision": "approve"})

    assert page.status_code == 404
    waiting.refresh_from_db()
    assert waiting.status == "pending_approval"


def test_a_visit_decided_elsewhere_first_leaves_the_link_unspent(waiting: Visit) -> None:
    send_decision_link(SYSTEM, waiting)
    decide_visit(SYSTEM, waiting, approve=False, reason="前台已处理")

    page = phone().post(texted_link(waiting), {"decision": "approve"})

    assert page.status_code == 400
    assert ActionLink.objects.get().used_at is None


def test_a_host_of_another_building_cannot_use_alphas_link(waiting: Visit, beta: Building) -> None:
    send_decision_link(SYSTEM, waiting)

    page = Client(HTTP_HOST=building_domain("beta")).post(
        texted_link(waiting), {"decision": "approve"}
    )

    assert page.status_code == 404
