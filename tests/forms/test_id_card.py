"""The desk's ID-card reader: what it reports is checked and turned into the walk-in form's
fields; anything malformed, oversized, forged or inconsistent is refused and nothing is kept."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from tenants.actions import building_domain
from tenants.models import Building
from tests.conftest import client_for, member
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.visits.models import Visitor

URL = "/reception/id-card/"
NUMBER = "11010519491231002X"


def chip_photo(kind: str = "BMP", size: tuple[int, int] = (102, 126)) -> str:
    data = io.BytesIO()
    Image.new("RGB", size, (210, 190, 170)).save(data, kind)
    return base64.b64encode(data.getvalue()).decode()


def reading(**changes: Any) -> dict[str, Any]:
    card = {
        "name": "赵敏",
        "id_number": NUMBER,
        "birth_date": "1949-12-31",
        "address": "北京市朝阳区某街道1号",
        "photo": chip_photo(),
    }
    card.update(changes)
    return {key: value for key, value in card.items() if value is not None}


def post(client: Client, body: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data, content_type="application/json")


@pytest.fixture
def desk(alpha: Building, in_alpha: Building) -> Client:
    return client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))


def test_a_card_read_fills_the_walk_in_form_and_keeps_nothing_but_a_masked_audit_row(
    desk: Client,
) -> None:
    response = post(desk, reading())

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["id_type"], body["id_number"], body["birth_date"]) == (
        "赵敏",
        "resident_id",
        NUMBER,
        "1949-12-31",
    )
    assert body["photo"].startswith("data:image/bmp;base64,")
    assert response["Cache-Control"] == "no-store"
    assert not Visitor.objects.exists()
    entry = AuditEntry.objects.get(verb="visitor.id_card_read")
    assert NUMBER not in json.dumps(entry.detail)
    assert "北京" not in json.dumps(entry.detail)


def test_the_same_read_twice_gives_the_same_answer_and_still_keeps_nothing(desk: Client) -> None:
    first = post(desk, reading())
    again = post(desk, reading())

    assert first.json() == again.json()
    assert not Visitor.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2]", "card_invalid"),
        ({}, "card_invalid"),
        (reading(owner="someone"), "card_invalid"),
        (reading(name=""), "card_incomplete"),
        (reading(name=None), "card_incomplete"),
        (reading(name=["赵敏"]), "card_invalid"),
        (reading(name="赵" * 51), "card_invalid"),
        (reading(id_number="110105194912310021"), "card_number_invalid"),
        (reading(birth_date="1950-01-01"), "card_inconsistent"),
        (reading(birth_date="19491331"), "card_invalid"),
        (reading(address="x" * 201), "card_invalid"),
        (reading(photo="not base64!"), "card_photo_invalid"),
        (reading(photo=base64.b64encode(b"GIF89a not really").decode()), "card_photo_invalid"),
        (reading(photo=chip_photo("GIF")), "card_photo_invalid"),
        (reading(photo=chip_photo("PNG", (2000, 10))), "card_photo_invalid"),
        (reading(photo=12), "card_photo_invalid"),
        (reading(photo="A" * 200_000), "card_photo_too_large"),
        ({**reading(), "address": "x" * 300_000}, "too_large"),
    ],
)
def test_a_bad_read_is_refused_with_a_clear_message_and_nothing_is_kept(
    desk: Client, body: Any, code: str
) -> None:
    response = post(desk, body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert not AuditEntry.objects.filter(verb="visitor.id_card_read").exists()


def test_only_reception_reads_cards_and_a_forged_post_without_the_token_is_refused(
    alpha: Building, in_alpha: Building
) -> None:
    security = client_for(alpha, member(alpha, "guard@alpha.example", Role.SECURITY))
    forged = Client(HTTP_HOST=building_domain("alpha"), enforce_csrf_checks=True)
    forged.force_login(
        member(alpha, "desk@alpha.example", Role.RECEPTION),
        backend="visit_platform.directory.backends.MembershipBackend",
    )

    assert post(security, reading()).status_code == 403
    assert post(client_for(alpha), reading()).status_code == 302  # to the login page
    assert post(forged, reading()).status_code == 403
    assert (
        client_for(alpha, member(alpha, "d2@alpha.example", Role.RECEPTION)).get(URL).status_code
        == 405
    )
    assert not AuditEntry.objects.filter(verb="visitor.id_card_read").exists()
