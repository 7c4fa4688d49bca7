"""A building dropped and made again under the same name (a re-provisioned site, a test run's
buildings) has new signing keys under the same key ids: a process that knew the old building
must not sign or verify the new one's passes with the old keys."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tenants.models import Building
from tests.access.conftest import make_gate, make_host, make_pass, make_visit, slip_token
from tests.conftest import committed_building
from visit_platform.access.actions import decide_scan

SLUG = "recreated"

pytestmark = pytest.mark.django_db


def issue_a_slip(building: Building) -> str:
    """In ``building``: a pass's slip token, signed with the building's key."""
    connection.set_tenant(building)
    try:
        return slip_token(make_pass(make_visit(host=make_host("13900000070"))))
    finally:
        connection.set_schema_to_public()


def scan_a_new_pass(building: Building) -> tuple[bool, str]:
    """In ``building`` (set as the connection's tenant, as the gate's requests are): issue a
    pass and scan its slip token at a new gate."""
    token = issue_a_slip(building)
    connection.set_tenant(building)
    try:
        decision = decide_scan(gate=make_gate(), token=token, direction="in")
        return decision.granted, decision.event.reason
    finally:
        connection.set_schema_to_public()


@pytest.fixture(scope="module")
def scans(django_db_setup: None, django_db_blocker: Any) -> list[tuple[bool, str]]:
    """The building is made four times under one name (committed, outside any test's
    transaction: its schema is dropped in between). The first only signs a slip, so the
    process knows its signing key alone; the second scans a pass of its own (signing and
    checking); the third and fourth each scan one too. Every one must sign with its own
    key and check with its own key."""
    results = []
    with django_db_blocker.unblock():
        with committed_building(SLUG, "一号") as first:
            issue_a_slip(first)
        for name in ("二号", "三号", "四号"):
            with committed_building(SLUG, name) as again:
                results.append(scan_a_new_pass(again))
    return results


@pytest.mark.slow
def test_a_building_made_again_under_the_same_name_signs_and_checks_with_its_own_keys(
    scans: list[tuple[bool, str]],
) -> None:
    assert scans == [(True, "granted")] * 3
