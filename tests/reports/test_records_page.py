"""The records page (/records/) and its saved filters: what each role sees, the audit of every
view, readable refusals of bad filters and page links, and saved filters that survive
malformed, oversized, forged and replayed input without changing anything."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.conftest import admin_of, client_for, member
from tests.reports.conftest import NOVEMBER, World
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.reports.actions import MOST_SAVED_FILTERS
from visit_platform.reports.models import SavedFilter

pytestmark = pytest.mark.django_db


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page(client: Client, query: str) -> tuple[int, str]:
    response = client.get(f"/records/?{query}")
    return response.status_code, response.content.decode()


def test_the_page_lists_the_visits_with_who_invited_approved_and_registered(
    world: World, alpha: Building
) -> None:
    w = world
    w.company_admin.display_name = "陈经理"
    w.company_admin.save()

    status, html = page(english(client_for(alpha, w.admin)), NOVEMBER)

    assert status == 200
    for heading in ("Invited by", "Approved by", "Registered by"):
        assert f"<th>{heading}</th>" in html
    assert html.count("<tr><td") == 3
    assert "韩**" in html and "李*" in html and "韩梅梅" not in html
    assert "陈经理" in html and "desk@alpha.example" in html
    assert "138 **** 0001" in html and "13800000001" not in html


def test_the_events_tab_lists_the_gate_events(world: World, alpha: Building) -> None:
    status, html = page(english(client_for(alpha, world.admin)), f"{NOVEMBER}&tab=events")

    assert status == 200
    assert html.count("<tr><td") == 5
    assert "西门" in html and "The visit is not approved" in html


def test_every_view_is_audited_with_its_filter(world: World, alpha: Building) -> None:
    w = world

    client_for(alpha, w.guard).get(
        f"/records/?{NOVEMBER}&tab=events&company={w.star.pk}&person=13800000001"
    )

    with schema_context("alpha"):
        entry = AuditEntry.objects.filter(verb="records.viewed").get()
    assert entry.actor_label == "guard@alpha.example"
    assert entry.detail == {
        "tab": "events",
        "rows": 2,
        "full_names": True,
        "start": "2026-11-01",
        "end": "2026-11-10",
        "company_ids": [w.star.pk],
        "person_searched": True,
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-11-31", "The start date is not a date (YYYY-MM-DD)."),
        ("start=2026-11-10&end=2026-11-01", "The start date is after the end date."),
        ("company=abc", "A choice in the filter is not valid."),
        ("result=maybe", "A choice in the filter is not valid."),
        (
            "cursor=forged",
            "This page link is not valid (any more). Start again from the first page.",
        ),
        (f"{NOVEMBER}&person=韩梅梅", "That is not a mobile or document number."),
    ],
)
def test_a_bad_filter_or_page_link_gets_a_message_status_400_and_no_rows(
    world: World, alpha: Building, query: str, message: str
) -> None:
    status, html = page(english(client_for(alpha, world.guard)), query)

    assert status == 400
    assert f'data-test="records-error">{message}</div>' in html
    assert "<tr><td" not in html and "韩梅梅" not in html
    with schema_context("alpha"):
        assert not AuditEntry.objects.filter(verb="records.viewed").exists()


def test_a_company_admin_sees_their_company_only_even_naming_another(
    world: World, alpha: Building
) -> None:
    w = world
    client = english(client_for(alpha, w.company_admin))

    _, own = page(client, NOVEMBER)
    _, forged = page(client, f"{NOVEMBER}&company={w.hill.pk}")
    _, events = page(client, f"{NOVEMBER}&company={w.hill.pk}&tab=events")

    assert own.count("<tr><td") == 2 and ">远山律所</div>" not in own
    assert "No records match this filter." in forged and "<tr><td" not in forged
    assert "<tr><td" not in events
    # Their form offers their own company, hosts and people only.
    assert "远山律所" not in own and "王强" not in own
    assert 'name="person"' not in own


def test_a_company_admin_looking_a_person_up_is_refused(world: World, alpha: Building) -> None:
    status, html = page(
        english(client_for(alpha, world.company_admin)), f"{NOVEMBER}&person=13800000001"
    )

    assert status == 403
    assert "Your role does not allow looking people up by mobile or document number." in html
    assert "<tr><td" not in html


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.HOST])
def test_reception_and_hosts_have_no_records_page(world: World, alpha: Building, role: str) -> None:
    user = member(alpha, f"{role}@alpha.example", role, world.star if role == Role.HOST else None)

    response = client_for(alpha, user).get(f"/records/?{NOVEMBER}")

    assert response.status_code == 403
    assert "韩" not in response.content.decode()


def test_another_building_sees_none_of_these_records(
    world: World, alpha: Building, beta: Building
) -> None:
    status, html = page(client_for(beta, admin_of(beta)), NOVEMBER)

    assert status == 200
    assert "<tr><td" not in html and "星河科技" not in html
    # And alpha's page does not let beta's admin in at all.
    assert client_for(alpha, admin_of(beta)).get("/records/").status_code == 403


def test_the_navigation_links_the_records_for_the_roles_that_may_see_them(
    world: World, alpha: Building
) -> None:
    for user, shown in ((world.admin, True), (world.guard, True), (world.desk, False)):
        html = client_for(alpha, user).get("/").content.decode()
        assert ('href="/records/"' in html) is shown, user


# --- Saved filters ---------------------------------------------------------------------------


def save(client: Client, name: str, query: str, tab: str = "visits") -> str:
    response = client.post(
        "/records/saved/", {"name": name, "query": query, "tab": tab}, follow=True
    )
    return response.content.decode()


def saved_names(world: World) -> list[str]:
    with schema_context("alpha"):
        return list(SavedFilter.objects.filter(user=world.admin).values_list("name", flat=True))


def test_a_filter_is_saved_listed_opened_and_deleted(world: World, alpha: Building) -> None:
    w = world
    client = english(client_for(alpha, w.admin))
    query = f"{NOVEMBER}&company={w.star.pk}&scenario=walk_in"

    html = save(client, "  星河 walk-ins ", query, "events")

    assert "Filter “星河 walk-ins” saved." in html
    with schema_context("alpha"):
        saved = SavedFilter.objects.get(user=w.admin)
        entry = AuditEntry.objects.get(verb="records.filter_saved")
    assert (saved.name, saved.tab, saved.query) == (
        "星河 walk-ins",
        "events",
        f"start=2026-11-01&end=2026-11-10&company={w.star.pk}&scenario=walk_in",
    )
    assert entry.detail["name"] == "星河 walk-ins"
    assert entry.detail["company_ids"] == [w.star.pk]
    listed = client.get("/records/").content.decode()
    assert f'href="/records/saved/{saved.pk}/" data-test="saved-filter">星河 walk-ins</a>' in listed

    opened = client.get(f"/records/saved/{saved.pk}/")
    assert opened.status_code == 302
    assert opened["Location"] == f"/records/?{saved.query}&tab=events"
    status, shown = page(client, opened["Location"].split("?", 1)[1])
    assert status == 200 and shown.count("<tr><td") == 1  # the walk-in's one event

    deleted = client.post("/records/saved/delete/", {"filter": saved.pk}, follow=True)
    assert "Saved filter deleted." in deleted.content.decode()
    assert saved_names(w) == []
    with schema_context("alpha"):
        assert AuditEntry.objects.filter(verb="records.filter_deleted").count() == 1


@pytest.mark.parametrize(
    ("name", "query", "message"),
    [
        ("", NOVEMBER, "Give the filter a name."),
        ("   ", NOVEMBER, "Give the filter a name."),
        ("x" * 61, NOVEMBER, "A filter&#x27;s name is at most 60 characters"),
        ("bad\x07name", NOVEMBER, "The request contains control characters"),
        ("zero\u200bwidth", NOVEMBER, "A filter&#x27;s name is at most 60 characters"),
        ("forged", "company=abc", "A choice in the filter is not valid."),
        ("forged", "start=2026-11-10&end=2026-11-01", "The start date is after the end date."),
        ("oversized", "company=1&" * 300, "This filter is too long to keep."),
        (
            "person",
            f"{NOVEMBER}&person=13800000001",
            "A filter that looks a person up is not saved",
        ),
    ],
)
def test_malformed_forged_or_oversized_saves_are_refused_and_change_nothing(
    world: World, alpha: Building, name: str, query: str, message: str
) -> None:
    html = save(english(client_for(alpha, world.admin)), name, query)

    assert message in html
    assert saved_names(world) == []
    with schema_context("alpha"):
        assert not AuditEntry.objects.filter(verb="records.filter_saved").exists()


def test_a_replayed_save_or_a_duplicate_name_is_refused(world: World, alpha: Building) -> None:
    client = english(client_for(alpha, world.admin))
    save(client, "November", NOVEMBER)

    replayed = save(client, "November", NOVEMBER)
    other_case = save(client, "NOVEMBER", "start=2026-11-02&end=2026-11-03")

    assert "You already have a filter called “November”." in replayed
    assert "You already have a filter called “NOVEMBER”." in other_case
    assert saved_names(world) == ["November"]


def test_a_user_keeps_at_most_twenty_filters(world: World, alpha: Building) -> None:
    client = english(client_for(alpha, world.admin))
    for n in range(MOST_SAVED_FILTERS):
        save(client, f"filter {n:02}", NOVEMBER)

    html = save(client, "one too many", NOVEMBER)

    assert "You can keep at most 20 filters: delete one first." in html
    assert len(saved_names(world)) == MOST_SAVED_FILTERS
    assert "one too many" not in saved_names(world)


def test_names_are_per_user_and_nobody_opens_or_deletes_anothers_filter(
    world: World, alpha: Building
) -> None:
    w = world
    save(english(client_for(alpha, w.admin)), "November", NOVEMBER)
    guard = english(client_for(alpha, w.guard))
    with schema_context("alpha"):
        theirs = SavedFilter.objects.get(user=w.admin)

    assert "Filter “November” saved." in save(guard, "November", NOVEMBER)
    assert guard.get(f"/records/saved/{theirs.pk}/").status_code == 404
    refused = guard.post("/records/saved/delete/", {"filter": theirs.pk}, follow=True)
    assert "You have no such saved filter." in refused.content.decode()
    assert saved_names(w) == ["November"]


@pytest.mark.parametrize("filter_id", ["", "abc", "-1", "9" * 30, "999999"])
def test_deleting_a_malformed_or_unknown_filter_is_refused(
    world: World, alpha: Building, filter_id: str
) -> None:
    save(english(client_for(alpha, world.admin)), "November", NOVEMBER)

    response = english(client_for(alpha, world.admin)).post(
        "/records/saved/delete/", {"filter": filter_id}, follow=True
    )

    assert "You have no such saved filter." in response.content.decode()
    assert saved_names(world) == ["November"]


def test_a_replayed_delete_is_refused(world: World, alpha: Building) -> None:
    client = english(client_for(alpha, world.admin))
    save(client, "November", NOVEMBER)
    with schema_context("alpha"):
        saved = SavedFilter.objects.get()
    client.post("/records/saved/delete/", {"filter": saved.pk})

    replayed = client.post("/records/saved/delete/", {"filter": saved.pk}, follow=True)

    assert "You have no such saved filter." in replayed.content.decode()
    with schema_context("alpha"):
        assert AuditEntry.objects.filter(verb="records.filter_deleted").count() == 1


def test_a_forged_saved_filter_shows_a_company_admin_nothing_of_another_company(
    world: World, alpha: Building
) -> None:
    w = world
    with schema_context("alpha"):
        forged = SavedFilter.objects.create(
            user=w.company_admin,
            name="someone else's",
            query=f"{NOVEMBER}&company={w.hill.pk}",
        )
        planted = SavedFilter.objects.create(
            user=w.company_admin, name="a person", query=f"{NOVEMBER}&person=13800000001"
        )
    client = english(client_for(alpha, w.company_admin))

    opened = client.get(f"/records/saved/{forged.pk}/", follow=True).content.decode()
    person = client.get(f"/records/saved/{planted.pk}/", follow=True)

    assert "No records match this filter." in opened and ">远山律所</div>" not in opened
    assert person.status_code == 403 and "<tr><td" not in person.content.decode()


def test_saving_without_the_csrf_token_is_refused(world: World, alpha: Building) -> None:
    client = client_for(alpha, world.admin)
    client.handler.enforce_csrf_checks = True

    response = client.post("/records/saved/", {"name": "forged", "query": NOVEMBER})

    assert response.status_code == 403
    assert saved_names(world) == []


def test_saving_and_deleting_need_a_post(world: World, alpha: Building) -> None:
    client = client_for(alpha, world.admin)

    assert client.get(f"/records/saved/?name=x&{urlencode({'query': NOVEMBER})}").status_code == 405
    assert client.get("/records/saved/delete/?filter=1").status_code == 405
    assert saved_names(world) == []


def test_no_junk_sent_to_the_records_pages_is_a_server_error(world: World, alpha: Building) -> None:
    """The probe of issue 15 (every field name the views read, junk values, every method),
    on the records' URLs only, for the roles that see them and one that does not."""
    from tests.test_no_server_errors import _urls, _walk

    urls = [url for url in _urls("visit_platform.urls") if url.startswith("/records/")]
    failures = []
    for user in (world.admin, world.company_admin, world.guard, world.desk):
        client = client_for(alpha, user)
        client.raise_request_exception = False
        failures += _walk(client, urls)

    assert len(urls) >= 4
    assert failures == []
