"""My visitors (issue 16): a host's own visitors, today / upcoming / past, with what a host may
do about them, and no page after inviting that the host may not open."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from tenants.models import Building, User
from tests.conftest import admin_of, client_for, member
from visit_platform.access.actions import issue_pass
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host
from visit_platform.notifications.models import Notification
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


@pytest.fixture
def zhang_wei(in_alpha: Building) -> Host:
    company = create_company(SYSTEM, name="星河科技", floors="12")
    return create_host(SYSTEM, company, name="张伟", mobile="13911110001")


@pytest.fixture
def host_user(alpha: Building, zhang_wei: Host) -> User:
    user = member(alpha, "zhang.wei@xinghe.example", Role.HOST, zhang_wei.company)
    zhang_wei.user = user
    zhang_wei.save()
    return user


def visit_for(
    host: Host,
    name: str,
    start: datetime,
    *,
    status: str = VisitStatus.APPROVED,
    invited_by: User | None = None,
    scenario: str = Scenario.INVITE,
    mobile: str = "13700001111",
) -> Visit:
    actor = Actor(user=invited_by) if invited_by else SYSTEM
    visitor = register_visitor(actor, name=name, mobile=mobile)
    return create_visit(
        actor,
        scenario=scenario,
        visitor=visitor,
        host=host,
        valid_from=start,
        valid_until=start + timedelta(hours=2),
        companions=2,
        status=status,
    )


def section(html: str, section_id: str) -> str:
    """The part of the page from a section's card to the next section's."""
    start = html.index(f'id="{section_id}"')
    end = html.find('<div class="card mv-section"', start)
    return html[start : end if end != -1 else len(html)]


def midnight(days: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return datetime.combine(day, time(10), timezone.get_current_timezone())


def test_a_host_sees_their_visitors_today_upcoming_and_past(
    alpha: Building, host_user: User, zhang_wei: Host
) -> None:
    today = visit_for(zhang_wei, "王芳", midnight(0), mobile="13700001111")
    upcoming = visit_for(zhang_wei, "李明", midnight(3), mobile="13700002222")
    past = visit_for(zhang_wei, "赵雷", midnight(-5), mobile="13700003333")

    response = client_for(alpha, host_user).get("/my-visitors/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "王芳" in section(html, "today") and "李明" not in section(html, "today")
    assert "李明" in section(html, "upcoming")
    assert "赵雷" in section(html, "past")
    # Full names of their own visitors; mobiles masked.
    assert "137 **** 1111" in html and "137 0000 1111" not in html
    entry = AuditEntry.objects.get(verb="host.visitors_viewed")
    assert sorted(entry.detail["visits"]) == sorted([today.pk, upcoming.pk, past.pk])


def test_a_host_sees_no_one_elses_visitors(
    alpha: Building, host_user: User, zhang_wei: Host
) -> None:
    colleague = create_host(SYSTEM, zhang_wei.company, name="刘洋", mobile="13911110002")
    visit_for(colleague, "陌生人", midnight(1))

    html = client_for(alpha, host_user).get("/my-visitors/").content.decode()

    assert "陌生人" not in html


def test_an_admin_sees_whom_they_invited_and_for_whom(alpha: Building, zhang_wei: Host) -> None:
    admin = admin_of(alpha)
    visit_for(zhang_wei, "王芳", midnight(1), invited_by=admin)

    html = client_for(alpha, admin).get("/my-visitors/").content.decode()

    assert "王芳" in section(html, "upcoming")
    assert "张伟" in section(html, "upcoming")


def test_past_visitors_are_paged(alpha: Building, host_user: User, zhang_wei: Host) -> None:
    for number in range(25):
        visit_for(
            zhang_wei, f"访客{number:02d}", midnight(-2 - number), mobile=f"137000011{number:02d}"
        )

    first = client_for(alpha, host_user).get("/my-visitors/").content.decode()
    second = client_for(alpha, host_user).get("/my-visitors/?page=2").content.decode()

    assert section(first, "past").count("data-visit=") == 20
    assert section(second, "past").count("data-visit=") == 5


def test_a_waiting_invitation_is_cancelled_by_its_host(
    alpha: Building, host_user: User, zhang_wei: Host
) -> None:
    visit = visit_for(zhang_wei, "王芳", midnight(2), status=VisitStatus.PENDING_APPROVAL)
    client = client_for(alpha, host_user)

    listed = client.get("/my-visitors/").content.decode()
    response = client.post(f"/my-visitors/{visit.pk}/cancel/")

    assert f"/my-visitors/{visit.pk}/cancel/" in listed
    assert response.status_code == 302 and response["Location"] == "/my-visitors/"
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED


def cancel_url(visit: Visit) -> str:
    return f"/my-visitors/{visit.pk}/cancel/"


def test_an_approved_invitation_is_cancelled_by_its_host(
    alpha: Building, host_user: User, zhang_wei: Host
) -> None:
    visit = visit_for(zhang_wei, "王芳", midnight(2))
    pass_record = issue_pass(SYSTEM, visit).pass_record
    client = client_for(alpha, host_user)

    listed = section(client.get("/my-visitors/").content.decode(), "upcoming")
    response = client.post(cancel_url(visit), follow=True)

    assert cancel_url(visit) in listed and "通行证将立即失效" in listed  # the confirm's words
    assert response.redirect_chain == [("/my-visitors/", 302)]
    html = response.content.decode()
    assert "邀请已取消" in html
    row = section(html, "upcoming")
    assert "已取消" in row and cancel_url(visit) not in row
    assert f"/invite/{visit.pk}/" not in row  # nothing left to share
    visit.refresh_from_db()
    pass_record.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED and pass_record.revoked_at is not None
    entry = AuditEntry.objects.get(verb="visit.cancelled_by_host")
    assert entry.actor_id == host_user.pk
    assert Notification.objects.filter(visit=visit, purpose="decision").count() == 1


def test_an_admin_cancels_the_invitation_they_made_for_an_employee(
    alpha: Building, zhang_wei: Host
) -> None:
    admin = admin_of(alpha)
    visit = visit_for(zhang_wei, "王芳", midnight(1), invited_by=admin)
    issue_pass(SYSTEM, visit)

    response = client_for(alpha, admin).post(cancel_url(visit))

    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED


def test_a_replayed_cancel_says_it_is_already_cancelled(
    alpha: Building, host_user: User, zhang_wei: Host
) -> None:
    visit = visit_for(zhang_wei, "王芳", midnight(2))
    issue_pass(SYSTEM, visit)
    client = client_for(alpha, host_user)
    client.post(cancel_url(visit))
    written = AuditEntry.objects.exclude(verb="host.visitors_viewed")
    counts = (written.count(), Notification.objects.count())

    response = client.post(cancel_url(visit), follow=True)

    assert "该邀请已经取消" in response.content.decode()
    assert written.count() == counts[0]  # only the page view was noted again
    assert Notification.objects.count() == counts[1]


def test_a_visitor_who_has_come_or_a_visit_that_is_over_cannot_be_cancelled(
    alpha: Building, host_user: User, zhang_wei: Host
) -> None:
    started = timezone.now() - timedelta(minutes=30)
    came = visit_for(zhang_wei, "王芳", started, mobile="13700001111")
    Pass.objects.filter(pk=issue_pass(SYSTEM, came).pass_record.pk).update(uses=1)
    inside = visit_for(
        zhang_wei, "李明", started, status=VisitStatus.CHECKED_IN, mobile="13700002222"
    )
    over = visit_for(zhang_wei, "赵雷", midnight(-3), mobile="13700003333")
    client = client_for(alpha, host_user)

    html = client.get("/my-visitors/").content.decode()
    refusals = {
        visit.pk: client.post(cancel_url(visit), follow=True).content.decode()
        for visit in (came, inside)
    }
    over_response = client.post(cancel_url(over))

    for visit in (came, inside, over):
        assert cancel_url(visit) not in html
    assert "访客已经通过闸机" in refusals[came.pk]
    assert "当前状态为在场" in refusals[inside.pk]
    assert over_response.status_code == 404  # not an invitation one can still act on
    assert set(Visit.objects.values_list("status", flat=True)) == {
        VisitStatus.APPROVED,
        VisitStatus.CHECKED_IN,
    }
    assert not Pass.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.parametrize("status", [VisitStatus.PENDING_APPROVAL, VisitStatus.APPROVED])
def test_someone_elses_visit_cannot_be_cancelled(
    alpha: Building, host_user: User, zhang_wei: Host, status: str
) -> None:
    colleague = create_host(SYSTEM, zhang_wei.company, name="刘洋", mobile="13911110002")
    visit = visit_for(colleague, "王芳", midnight(2), status=status)
    if status == VisitStatus.APPROVED:
        issue_pass(SYSTEM, visit)
    client = client_for(alpha, host_user)

    assert client.post(f"/my-visitors/{visit.pk}/cancel/").status_code == 404
    assert client.post(f"/my-visitors/{visit.pk}abc/cancel/").status_code == 404
    assert client.get(f"/my-visitors/{visit.pk}/cancel/").status_code == 405
    assert client.post("/my-visitors/99999999999999999999/cancel/").status_code == 404
    visit.refresh_from_db()
    assert visit.status == status
    assert not Pass.objects.filter(revoked_at__isnull=False).exists()


def test_reception_has_no_my_visitors(alpha: Building) -> None:
    reception = member(alpha, "desk@alpha.example", Role.RECEPTION)

    assert client_for(alpha, reception).get("/my-visitors/").status_code == 403


def test_after_inviting_the_host_reaches_only_pages_they_may_open(
    alpha: Building, host_user: User, zhang_wei: Host
) -> None:
    visit = visit_for(zhang_wei, "王芳", midnight(1), invited_by=host_user)
    client = client_for(alpha, host_user)

    shared = client.get(f"/invite/{visit.pk}/")

    links = set(re.findall(r'href="(/[^"]*)"', shared.content.decode()))
    assert "/my-visitors/" in links
    assert f"/visits/{visit.pk}/timeline/" not in links
    for link in {link for link in links if not link.startswith(("/static/", "/logout/"))}:
        assert client.get(link).status_code == 200, link


def test_an_admin_who_invited_also_gets_the_timeline_link(alpha: Building, zhang_wei: Host) -> None:
    admin = admin_of(alpha)
    visit = visit_for(zhang_wei, "王芳", midnight(1), invited_by=admin)

    html = client_for(alpha, admin).get(f"/invite/{visit.pk}/").content.decode()

    assert f"/visits/{visit.pk}/timeline/" in html
