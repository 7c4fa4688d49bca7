"""Visitors' names and mobiles, and the name and mobile typed for a visit, are encrypted in the
database and found through blind indexes; desk photos are encrypted on disk (ADR 0033)."""

from __future__ import annotations

import importlib
import io
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from kernel.encrypted_storage import photo_storage
from kernel.privacy import EncryptedLookupError, decrypt
from tenants.models import Building
from tests.access.conftest import (
    SYSTEM,
    VALID_RESIDENT_ID,
    make_gate,
    make_host,
    make_pass,
    make_visit,
    make_visitor,
    slip_token,
)
from tests.conftest import admin_of, client_for, member
from tests.workflows.test_flows import consent_to_face, photo_upload, register_walk_in
from visit_platform.access.actions import decide_scan
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.visits.actions import create_visit
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import (
    Visit,
    Visitor,
    WatchlistEntry,
    index_of_mobile,
    index_of_name,
)
from visit_platform.visits.queries import (
    is_watchlisted,
    visit_is_watchlisted,
    visit_search,
    visitors_matching,
    watchlisted_visitors,
)
from workflows.actions import watchlist as watchlist_actions

pytestmark = pytest.mark.django_db

NAME = "韩梅梅"
MOBILE = "+8613800000001"
TYPED_NAME = "韩小梅"
TYPED_MOBILE = "+8613700000002"
JPEG_MAGIC = b"\xff\xd8\xff"


def raw_rows(sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return list(cursor.fetchall())


def found(text: str) -> list[int]:
    condition = visit_search(text)
    assert condition is not None
    return sorted(Visit.objects.filter(condition).values_list("pk", flat=True))


@pytest.fixture
def visit(in_alpha: Building) -> Visit:
    """韩梅梅 (resident ID, born 1949-12-31) and, to be told apart, 欧阳锋 with no document."""
    make_visit(visitor=make_visitor(name="欧阳锋", mobile="13900000009", id_number=""))
    return make_visit(visitor=make_visitor(name=NAME, mobile=MOBILE))


def conflicting_visit(visitor: Visitor) -> Visit:
    """A visit for a known visitor typed with another name and mobile (ADR 0012)."""
    start = timezone.now() - timedelta(minutes=30)
    return create_visit(
        SYSTEM,
        scenario=Scenario.INVITE,
        visitor=visitor,
        host=make_host(),
        valid_from=start,
        valid_until=start + timedelta(hours=4),
        status=VisitStatus.APPROVED,
        given_name=TYPED_NAME,
        given_mobile=TYPED_MOBILE,
    )


# --- Columns ------------------------------------------------------------------------------------


def test_no_name_or_mobile_is_in_the_visitor_table_in_clear(visit: Visit) -> None:
    rows = raw_rows("SELECT name, mobile, id_number FROM visits_visitor ORDER BY id")

    stored = repr(rows)
    for plain in (NAME, "欧阳锋", "13800000001", "13900000009", VALID_RESIDENT_ID):
        assert plain not in stored
    names_and_mobiles = [value for row in rows for value in row[:2]]
    assert len(names_and_mobiles) == 4
    assert all(value.startswith("v1:") for value in names_and_mobiles)
    assert [decrypt(value) for value in names_and_mobiles] == [
        "欧阳锋",
        "+8613900000009",
        NAME,
        MOBILE,
    ]


def test_the_name_and_mobile_typed_for_a_visit_are_not_in_the_visit_table_in_clear(
    visit: Visit,
) -> None:
    typed = conflicting_visit(visit.visitor)

    [(contact_name, contact_mobile)] = raw_rows(
        "SELECT contact_name, contact_mobile FROM visits_visit WHERE id = %s", (typed.pk,)
    )

    assert TYPED_NAME not in contact_name and "13700000002" not in contact_mobile
    assert (decrypt(contact_name), decrypt(contact_mobile)) == (TYPED_NAME, TYPED_MOBILE)
    typed.refresh_from_db()
    assert (typed.visitor_name, typed.visitor_mobile) == (TYPED_NAME, TYPED_MOBILE)
    assert typed.contact_name_index == index_of_name(TYPED_NAME)
    assert typed.contact_mobile_index == index_of_mobile(TYPED_MOBILE)


def test_comparing_an_encrypted_column_with_a_value_is_refused(in_alpha: Building) -> None:
    with pytest.raises(EncryptedLookupError):
        Visitor.objects.filter(mobile=MOBILE)
    with pytest.raises(EncryptedLookupError):
        Visitor.objects.filter(name__icontains="梅")
    with pytest.raises(EncryptedLookupError):
        Visit.objects.filter(visitor__name=NAME)

    assert list(Visitor.objects.filter(mobile="")) == []


def test_the_audit_log_names_visitors_and_visits_by_number_and_screens_mask_them(
    visit: Visit,
) -> None:
    typed = conflicting_visit(visit.visitor)

    labels = set(AuditEntry.objects.values_list("object_repr", flat=True))

    assert {f"visitor {visit.visitor_id}", f"visit {typed.pk} → 李雷"} <= labels
    assert not [label for label in labels if "韩" in label]  # whole or masked
    assert str(visit.visitor) == "韩**" and str(typed).startswith("韩** → ")


# --- Finding people -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["13800000001", "+86 138 0000 0001", "138-0000-0001"])
def test_reception_finds_the_visitor_by_mobile(visit: Visit, typed: str) -> None:
    assert found(typed) == [visit.pk]


@pytest.mark.parametrize("typed", [NAME, " 韩 梅梅 "])
def test_reception_finds_the_visitor_by_full_name_spaces_aside(visit: Visit, typed: str) -> None:
    assert found(typed) == [visit.pk]


def test_part_of_a_name_finds_nobody(visit: Visit) -> None:
    assert found("梅梅") == []
    assert found("韩") == []


def test_reception_finds_the_visitor_by_document_number(visit: Visit) -> None:
    assert found(VALID_RESIDENT_ID.lower()) == [visit.pk]


def test_reception_finds_a_visit_by_the_name_and_mobile_typed_for_it(visit: Visit) -> None:
    typed = conflicting_visit(visit.visitor)

    assert found(TYPED_NAME) == [typed.pk]
    assert found("13700000002") == [typed.pk]
    # The visitor's own mobile finds the visit made under it, not the one made under another.
    assert found("13800000001") == [visit.pk]


def test_a_changed_name_or_mobile_is_found_under_its_new_value_only(visit: Visit) -> None:
    visitor = visit.visitor
    visitor.name, visitor.mobile = "韩美美", "+8613800000003"
    visitor.save(update_fields=["name", "mobile"])

    assert found("韩美美") == [visit.pk] and found("13800000003") == [visit.pk]
    assert found(NAME) == [] and found("13800000001") == []


# --- The watchlist ------------------------------------------------------------------------------


@pytest.fixture
def admins(in_alpha: Building) -> tuple[Actor, Actor]:
    return (
        Actor(member(in_alpha, "guard@alpha.example", Role.SECURITY)),
        Actor(admin_of(in_alpha)),
    )


def enforce(admins: tuple[Actor, Actor], **identity: Any) -> WatchlistEntry:
    proposer, approver = admins
    entry = watchlist_actions.propose_entry(proposer, reason="骚扰业主", **identity)
    return watchlist_actions.review(approver, entry, approve=True, reason="核实")


def test_the_watchlist_matches_an_encrypted_name_with_its_date_of_birth(
    visit: Visit, admins: tuple[Actor, Actor]
) -> None:
    pass_record = make_pass(visit)

    entry = enforce(admins, name="韩 梅梅", birth_date=date(1949, 12, 31))

    assert entry.name_index == visit.visitor.name_index
    assert is_watchlisted(visit.visitor)
    assert list(visitors_matching(entry)) == [visit.visitor]
    assert list(watchlisted_visitors()) == [visit.visitor]
    decision = decide_scan(gate=make_gate(), token=slip_token(pass_record))
    assert (decision.granted, decision.reason) == (False, "watchlisted")


def test_a_name_with_another_date_of_birth_is_not_matched(
    visit: Visit, admins: tuple[Actor, Actor]
) -> None:
    pass_record = make_pass(visit)

    entry = enforce(admins, name=NAME, birth_date=date(1950, 1, 1))

    assert not is_watchlisted(visit.visitor)
    assert list(visitors_matching(entry)) == []
    decision = decide_scan(gate=make_gate(), token=slip_token(pass_record))
    assert (decision.granted, decision.reason) == (True, "granted")


def test_the_watchlist_matches_an_encrypted_mobile(
    visit: Visit, admins: tuple[Actor, Actor]
) -> None:
    pass_record = make_pass(visit)

    entry = enforce(admins, mobile="138 0000 0001")

    assert entry.mobile_index == visit.visitor.mobile_index == index_of_mobile(MOBILE)
    assert list(visitors_matching(entry)) == [visit.visitor]
    decision = decide_scan(gate=make_gate(), token=slip_token(pass_record))
    assert (decision.granted, decision.reason) == (False, "watchlisted")


def test_the_watchlist_matches_the_mobile_typed_for_a_visit(
    visit: Visit, admins: tuple[Actor, Actor]
) -> None:
    typed = conflicting_visit(visit.visitor)

    enforce(admins, mobile=TYPED_MOBILE)

    assert visit_is_watchlisted(typed)
    assert not is_watchlisted(visit.visitor)


# --- The data migration ---------------------------------------------------------------------------


def migration() -> Any:
    """The data migration that encrypted names and mobiles."""
    return importlib.import_module("visit_platform.visits.migrations.0014_encrypted_names")


def jpeg() -> bytes:
    return photo_upload().getvalue()


def test_the_migration_encrypts_rows_and_photos_written_in_clear_and_can_undo_it(
    visit: Visit, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    typed = conflicting_visit(visit.visitor)
    (tmp_path / "visitors").mkdir()
    (tmp_path / "visitors" / "old.jpg").write_bytes(jpeg())
    # Rows and a photo as they were before this migration: plain, with no name index.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE visits_visitor SET name = %s, mobile = %s, name_index = '', photo = %s "
            "WHERE id = %s",
            [NAME, MOBILE, "visitors/old.jpg", visit.visitor_id],
        )
        cursor.execute(
            "UPDATE visits_visit SET contact_name = %s, contact_mobile = %s, "
            "contact_name_index = '' WHERE id = %s",
            [TYPED_NAME, TYPED_MOBILE, typed.pk],
        )
    editor = SimpleNamespace(connection=connection)
    select_visitor = "SELECT name, mobile, name_index FROM visits_visitor WHERE id = %s"
    select_visit = "SELECT contact_name, contact_mobile FROM visits_visit WHERE id = %s"

    migration().encrypt_names_and_mobiles(apps, editor)
    migration().encrypt_names_and_mobiles(apps, editor)  # a rerun changes nothing

    [(name, mobile, name_index)] = raw_rows(select_visitor, (visit.visitor_id,))
    assert (decrypt(name), decrypt(mobile), name_index) == (NAME, MOBILE, index_of_name(NAME))
    [(contact_name, contact_mobile)] = raw_rows(select_visit, (typed.pk,))
    assert (decrypt(contact_name), decrypt(contact_mobile)) == (TYPED_NAME, TYPED_MOBILE)
    # The visitor's own name finds both their visits, as it did before (ADR 0012).
    assert found(NAME) == [visit.pk, typed.pk] and found(TYPED_NAME) == [typed.pk]
    on_disk = (tmp_path / "visitors" / "old.jpg").read_bytes()
    assert not on_disk.startswith(JPEG_MAGIC)
    with Visitor.objects.get(pk=visit.visitor_id).photo.open("rb") as photo:
        assert photo.read() == jpeg()

    migration().decrypt_names_and_mobiles(apps, editor)

    assert raw_rows(select_visitor, (visit.visitor_id,))[0][:2] == (NAME, MOBILE)
    assert raw_rows(select_visit, (typed.pk,)) == [(TYPED_NAME, TYPED_MOBILE)]
    assert (tmp_path / "visitors" / "old.jpg").read_bytes() == jpeg()


# --- Desk photos ----------------------------------------------------------------------------------


@pytest.fixture
def desk(alpha: Building, in_alpha: Building) -> Client:
    make_host("13900139000")
    return client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))


def admit_at_the_desk(desk: Client, **answers: Any) -> Visit:
    """A walk-in checked by eye at the desk and given a printed slip; a photo is taken only
    after the visitor agreed to the face consent text (ADR 0036)."""
    verify_url = register_walk_in(desk)["Location"]
    if "photo" in answers:
        consent_to_face(desk, verify_url)
    check = {"host_consent": "yes", "identity_check": "eye", "checked_by_eye": "on", **answers}
    checked = desk.post(verify_url, check)
    assert checked.status_code == 302, checked.content.decode()[:2000]
    desk.post(checked["Location"], {"how": "slip"})
    return Visit.objects.select_related("visitor").get(scenario="walk_in")


def slip_pdf(desk: Client, visit: Visit) -> bytes:
    response = desk.get(f"/passes/{visit.passes.get().pk}/slip.pdf", follow=True)
    assert response.status_code == 200
    return bytes(response.content)


def test_the_desk_photo_is_encrypted_on_disk_and_the_slip_still_prints_it(
    desk: Client, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path

    visit = admit_at_the_desk(desk, photo=photo_upload())

    on_disk = (tmp_path / visit.visitor.photo.name).read_bytes()
    assert on_disk.startswith(b"v1:") and not on_disk.startswith(JPEG_MAGIC)
    assert JPEG_MAGIC not in on_disk
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(on_disk))
    with visit.visitor.photo.open("rb") as photo:
        assert photo.read() == jpeg()
    assert b"/Subtype /Image" in slip_pdf(desk, visit)


def test_a_slip_without_a_photo_or_with_a_damaged_one_prints_the_empty_box(
    desk: Client, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    visit = admit_at_the_desk(desk, photo=photo_upload())
    path = tmp_path / visit.visitor.photo.name
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")  # one byte changed: the tag fails

    assert b"/Subtype /Image" not in slip_pdf(desk, visit)


def test_the_photo_storage_refuses_to_open_a_file_for_writing(
    settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    storage = photo_storage()
    name = storage.save("visitors/a.jpg", io.BytesIO(jpeg()))

    with pytest.raises(ValueError, match="saving them"):
        storage.open(name, "wb")
    assert storage.read_stored(name) != jpeg()
    assert storage.open(name).read() == jpeg()
