"""The watchlist console pages: who sees them, masking and audited unmasking, proposing and
reviewing over HTTP, and bad, forged, replayed and foreign input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.access.conftest import SYSTEM, make_pass, make_visit
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company
from visit_platform.directory.choices import Role
from visit_platform.visits.choices import WatchlistStatus
from visit_platform.visits.models import WatchlistEntry

MOBILE = "13800000001"
PROPOSAL = {
    "name": "韩梅梅",
    "birth_date": "1990-05-04",
    "mobile": "138 0000 0001",
    "id_type": "",
    "id_number": "",
    "expires_on": "",
    "reason": "多次骚扰前台",
}


@pytest.fixture
def guard(in_alpha: Building) -> Client:
    return client_for(in_alpha, member(in_alpha, "guard@alpha.example", Role.SECURITY))


@pytest.fixture
def admin(in_alpha: Building) -> Client:
    return client_for(in_alpha, admin_of(in_alpha))


def propose(client: Client, **changes: str) -> Any:
    return client.post("/watchlist/new/", {**PROPOSAL, **changes})


def proposed_entry(guard: Client) -> WatchlistEntry:
    response = propose(guard)
    assert response.status_code == 302
    return WatchlistEntry.objects.get()


def review(client: Client, entry: WatchlistEntry, decision: str, **fields: str) -> Any:
    body = {"decision": decision, "stage": entry.status, "reason": "", **fields}
    return client.post(f"/watchlist/{entry.pk}/review/", body)


# --- Who sees the watchlist -------------------------------------------------------------------


def outsiders(building: Building) -> dict[str, User]:
    with schema_context(building.schema_name):
        company = create_company(SYSTEM, name="晨光咨询", floors="9")
    return {
        "company admin": member(building, "boss@alpha.example", Role.COMPANY_ADMIN, company),
        "host": member(building, "host@alpha.example", Role.HOST, company),
        "reception": member(building, "desk@alpha.example", Role.RECEPTION),
    }


def test_company_admins_hosts_and_reception_get_403_on_every_watchlist_page(
    in_alpha: Building, guard: Client
) -> None:
    entry = proposed_entry(guard)
    pages = [
        ("get", "/watchlist/", {}),
        ("get", "/watchlist/new/", {}),
        ("post", "/watchlist/new/", PROPOSAL),
        ("get", f"/watchlist/{entry.pk}/", {}),
        ("get", f"/watchlist/{entry.pk}/?reveal=1", {}),
        ("post", f"/watchlist/{entry.pk}/review/", {"decision": "approve", "stage": "proposed"}),
        ("post", f"/watchlist/{entry.pk}/removal/", {"reason": "误报"}),
    ]
    for role, user in outsiders(in_alpha).items():
        client = client_for(in_alpha, user)
        for method, path, data in pages:
            response = getattr(client, method)(path, data)
            assert response.status_code == 403, (role, method, path)
            assert "韩梅梅" not in response.content.decode()
        assert "/watchlist/" not in client.get("/").content.decode(), role
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.PROPOSED
    assert WatchlistEntry.objects.count() == 1
    assert not AuditEntry.objects.filter(verb="watchlist.revealed").exists()


def test_security_sees_the_watchlist_in_the_navigation_and_may_propose_but_not_review(
    guard: Client,
) -> None:
    entry = proposed_entry(guard)

    home = guard.get("/").content.decode()
    detail = guard.get(f"/watchlist/{entry.pk}/").content.decode()
    decided = review(guard, entry, "approve")

    assert 'href="/watchlist/"' in home
    assert 'value="approve"' not in detail
    assert decided.status_code == 403
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.PROPOSED


def test_anonymous_visitors_are_sent_to_sign_in(in_alpha: Building) -> None:
    response = client_for(in_alpha).get("/watchlist/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- Masking ----------------------------------------------------------------------------------


def test_the_list_masks_identifiers_and_its_views_are_audited(guard: Client, admin: Client) -> None:
    proposed_entry(guard)

    page = admin.get("/watchlist/").content.decode()

    assert "韩*梅" not in page  # mask_name keeps the first character of each word
    assert "韩**" in page
    assert "138****0001" in page or "138 **** 0001" in page
    assert "1990-**-**" in page
    assert "韩梅梅" not in page and "0000 0001" not in page.replace("**** 0001", "")
    assert "1990-05-04" not in page
    assert AuditEntry.objects.filter(verb="watchlist.viewed", actor_label="admin@alpha.example")


def test_showing_an_entry_unmasked_is_audited(guard: Client, admin: Client) -> None:
    entry = proposed_entry(guard)

    masked = admin.get(f"/watchlist/{entry.pk}/").content.decode()
    unmasked = admin.get(f"/watchlist/{entry.pk}/?reveal=1").content.decode()

    assert "韩梅梅" not in masked
    assert "韩梅梅" in unmasked and "1990-05-04" in unmasked
    revealed = AuditEntry.objects.get(verb="watchlist.revealed")
    assert (revealed.actor_label, revealed.object_id) == ("admin@alpha.example", str(entry.pk))


# --- Proposing and reviewing over HTTP --------------------------------------------------------


def test_security_proposes_a_property_admin_approves_and_the_pass_is_refused(
    guard: Client, admin: Client
) -> None:
    pass_record = make_pass(make_visit())
    entry = proposed_entry(guard)
    assert (entry.status, entry.mobile, entry.proposed_by.email) == (
        "proposed",
        "+86" + MOBILE,
        "guard@alpha.example",
    )

    response = review(admin, entry, "approve", reason="核实")

    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.ENFORCED
    pass_record.refresh_from_db()
    assert pass_record.revoked_at is not None
    listing = admin.get("/watchlist/?status=enforced").content.decode()
    assert f'data-entry="{entry.pk}"' in listing
    assert 'data-status="enforced"' in listing


def test_the_proposer_is_not_offered_approval_and_is_refused_it(admin: Client) -> None:
    propose(admin)
    entry = WatchlistEntry.objects.get()

    page = admin.get(f"/watchlist/{entry.pk}/").content.decode()
    response = review(admin, entry, "approve")

    assert 'value="approve"' not in page and 'value="reject"' in page
    assert response.status_code == 403
    assert "another property admin" in response.content.decode().lower() or "另一位" in (
        response.content.decode()
    )
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.PROPOSED


def test_a_replayed_or_stale_decision_is_refused_with_a_clear_message(
    guard: Client, admin: Client, in_alpha: Building
) -> None:
    second = client_for(in_alpha, member(in_alpha, "second@alpha.example", Role.PROPERTY_ADMIN))
    entry = proposed_entry(guard)
    seen = WatchlistEntry.objects.get(pk=entry.pk)

    first = review(admin, seen, "approve")
    replayed = review(admin, seen, "approve")
    rejected_late = review(second, seen, "reject", reason="不同意")

    assert first.status_code == 302
    assert replayed.status_code == rejected_late.status_code == 409
    assert 'role="alert"' in rejected_late.content.decode()
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.ENFORCED
    assert AuditEntry.objects.filter(verb="watchlist.approved").count() == 1


def test_removal_is_proposed_over_http_and_needs_another_approval(
    guard: Client, admin: Client
) -> None:
    entry = proposed_entry(guard)
    review(admin, entry, "approve")
    entry.refresh_from_db()

    proposed = guard.post(f"/watchlist/{entry.pk}/removal/", {"reason": "误报"})
    entry.refresh_from_db()
    removed = review(admin, entry, "approve", reason="同意")

    assert proposed.status_code == removed.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.REMOVED
    assert 'data-status="removed"' in admin.get("/watchlist/").content.decode()


# --- Bad, forged, foreign input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"mobile": "", "birth_date": ""},
        {"mobile": "not a number"},
        {"mobile": "1" * 33},
        {"name": "张" * 101},
        {"reason": ""},
        {"reason": "x" * 2001},
        {"birth_date": "1990-02-30"},
        {"birth_date": "2999-01-01"},
        {"expires_on": "2000-01-01"},
        {"expires_on": "tomorrow"},
        {"id_type": "spaceship", "id_number": "E1234567"},
        {"id_type": "resident_id", "id_number": "110105194912310021"},
        {"id_number": "x" * 41, "id_type": "passport"},
    ],
)
def test_a_bad_proposal_shows_a_readable_error_and_writes_nothing(
    guard: Client, changes: dict[str, str]
) -> None:
    response = propose(guard, **changes)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="error"' in page or 'role="alert"' in page
    assert not WatchlistEntry.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe", "stage": "proposed"},
        {"decision": "approve", "stage": "x" * 50},
        {"decision": "reject", "stage": "proposed", "reason": ""},
        {"decision": "reject", "stage": "proposed", "reason": "x" * 501},
        {},
    ],
)
def test_a_malformed_review_is_refused_and_changes_nothing(
    guard: Client, admin: Client, body: dict[str, str]
) -> None:
    entry = proposed_entry(guard)

    response = admin.post(f"/watchlist/{entry.pk}/review/", body)

    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.PROPOSED


def test_an_oversized_removal_reason_is_refused(guard: Client, admin: Client) -> None:
    entry = proposed_entry(guard)
    review(admin, entry, "approve")

    response = guard.post(f"/watchlist/{entry.pk}/removal/", {"reason": "x" * 501})

    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.status == WatchlistStatus.ENFORCED


def test_forged_ids_answer_404(guard: Client, admin: Client) -> None:
    entry = proposed_entry(guard)
    forged = entry.pk + 1000

    assert admin.get(f"/watchlist/{forged}/").status_code == 404
    assert review(admin, WatchlistEntry(pk=forged, status="proposed"), "approve").status_code == 404
    assert guard.post(f"/watchlist/{forged}/removal/", {"reason": "x"}).status_code == 404
    assert admin.get("/watchlist/-1/").status_code == 404
    assert admin.get("/watchlist/abc/").status_code == 404


def test_another_buildings_entry_is_neither_listed_nor_reachable(
    admin: Client, beta: Building, in_alpha: Building
) -> None:
    with schema_context("beta"):
        foreign = WatchlistEntry.objects.create(
            name="赵六", mobile="+8613900000099", reason="beta 的条目"
        )
    assert not WatchlistEntry.objects.filter(pk=foreign.pk).exists()

    listing = admin.get("/watchlist/").content.decode()
    detail = admin.get(f"/watchlist/{foreign.pk}/")
    decided = admin.post(
        f"/watchlist/{foreign.pk}/review/", {"decision": "approve", "stage": "proposed"}
    )

    assert "赵" not in listing
    assert detail.status_code == decided.status_code == 404
    with schema_context("beta"):
        foreign.refresh_from_db()
        assert foreign.status == WatchlistStatus.PROPOSED


def test_beta_admins_see_nothing_of_alphas_watchlist(
    guard: Client, beta: Building, in_alpha: Building
) -> None:
    entry = proposed_entry(guard)
    beta_admin_in_alpha = client_for(in_alpha, admin_of(beta))

    assert beta_admin_in_alpha.get("/watchlist/").status_code == 403
    assert beta_admin_in_alpha.get(f"/watchlist/{entry.pk}/").status_code == 403
