"""The statistics dashboard over HTTP: who may open it, what it counts for them, the data the
charts are drawn from (the same numbers as the tables), and bad filters answered with 400 and a
readable reason. The page shows counts only, so it writes no audit row."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tenants.models import Building
from tests.conftest import admin_of, client_for, member
from tests.reports.statistics_data import RANGE, DataSet
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.django_db


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def chart_data(response: Any) -> dict[str, dict[str, Any]]:
    found = re.search(
        r'<script id="statistics-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found is not None
    return {chart["key"]: chart for chart in json.loads(found.group(1))}


def table_rows(response: Any, key: str) -> list[list[str]]:
    table = re.search(
        rf'<table class="data" data-table="{key}">.*?<tbody>(.*?)</tbody>',
        response.content.decode(),
        re.S,
    )
    assert table is not None
    return [
        re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    ]


def test_a_property_admin_sees_every_chart_drawn_from_the_tables_numbers(
    data: DataSet, in_alpha: Building
) -> None:
    audit_rows = AuditEntry.objects.count()

    response = english(client_for(in_alpha, data.approver)).get(f"/statistics/?{RANGE}")

    assert response.status_code == 200
    charts = chart_data(response)
    assert len(charts) == 12
    assert charts["by_scenario"]["title"] == "Visits by scenario"
    assert charts["by_scenario"]["categories"][:3] == [
        "Invitation",
        "Visit request",
        "Walk-in with ID",
    ]
    assert charts["by_scenario"]["series"] == [
        {"name": "Number of visits", "data": [4, 3, 2, 0, 0]},
        {"name": "Arrived", "data": [3, 0, 2, 0, 0]},
    ]
    assert charts["dwell_time"]["series"][1] == {
        "name": "90th percentile (minutes)",
        "data": [60.0, 120.0, 30.0, 220.5],
    }
    for key, chart in charts.items():
        if chart["categories"]:
            columns = [chart["categories"], *(s["data"] for s in chart["series"])]
            expected = [[str(cell) for cell in row] for row in zip(*columns, strict=True)]
            assert table_rows(response, key) == expected, key
    assert 'data-test="total-visits">9<' in response.content.decode()
    assert AuditEntry.objects.count() == audit_rows


def test_the_page_is_in_chinese_by_default(data: DataSet, in_alpha: Building) -> None:
    response = client_for(in_alpha, data.approver).get(f"/statistics/?{RANGE}")

    charts = chart_data(response)
    assert charts["by_scenario"]["title"] == "按场景的来访"
    assert charts["by_scenario"]["categories"][0] == "邀请"
    assert charts["denial_reasons"]["categories"] == ["通行证已过期", "该二维码不是有效的通行码"]


def test_a_company_admin_counts_their_own_company_and_is_offered_only_it(
    data: DataSet, in_alpha: Building
) -> None:
    admin_a = member(in_alpha, "admin@a.example", Role.COMPANY_ADMIN, data.a)
    browser = english(client_for(in_alpha, admin_a))

    response = browser.get(f"/statistics/?{RANGE}")
    forged = browser.get(f"/statistics/?{RANGE}&company={data.b.pk}")

    assert chart_data(response)["by_company"]["categories"] == ["甲公司"]
    assert "乙公司" not in response.content.decode()
    assert 'data-test="total-visits">5<' in response.content.decode()
    assert forged.status_code == 200
    assert 'data-test="total-visits">0<' in forged.content.decode()
    assert chart_data(forged)["by_company"]["categories"] == []


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.SECURITY, 200), (Role.RECEPTION, 403), (Role.HOST, 403)],
)
def test_who_may_open_the_dashboard(in_alpha: Building, role: str, status: int) -> None:
    company = None
    if role == Role.HOST:
        from visit_platform.directory.models import Company

        company = Company.objects.create(name="甲公司")
    user = member(in_alpha, f"{role}@alpha.example", role, company)

    response = client_for(in_alpha, user).get("/statistics/")
    home = client_for(in_alpha, user).get("/")

    assert response.status_code == status
    assert ('href="/statistics/"' in home.content.decode()) is (status == 200)


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(in_alpha: Building) -> None:
    response = client_for(in_alpha).get("/statistics/")

    assert response.status_code == 302
    assert "/login/" in response["Location"] or "login" in response["Location"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-13-01", "The start date is not a date (YYYY-MM-DD)."),
        ("start=2026-11-09&end=2026-11-08", "The start date is after the end date."),
        ("start=2000-01-01&end=2026-11-08", "A range can cover at most 3660 days."),
        ("scenario=party", "A choice in the filter is not valid."),
        ("company=1%27%20OR%201=1", "A choice in the filter is not valid."),
        ("gate=" + "9" * 40, "A choice in the filter is not valid."),
        ("&".join(f"host={n}" for n in range(60)), "Too many choices at once."),
        (
            "person=13800000001",
            "Statistics count everyone: look a person up in the records instead.",
        ),
    ],
)
def test_a_bad_filter_is_refused_with_its_reason(
    in_alpha: Building, query: str, message: str
) -> None:
    audit_rows = AuditEntry.objects.count()

    response = english(client_for(in_alpha, admin_of(in_alpha))).get(f"/statistics/?{query}")

    assert response.status_code == 400
    assert f'data-test="filter-error">{message}<' in response.content.decode().replace(
        "&#x27;", "'"
    )
    assert "statistics-data" not in response.content.decode()
    assert AuditEntry.objects.count() == audit_rows


def test_the_page_needs_no_inline_script(data: DataSet, in_alpha: Building) -> None:
    response = client_for(in_alpha, data.approver).get(f"/statistics/?{RANGE}")

    page = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    inline = [attrs for attrs, body in scripts if body.strip() and "application/json" not in attrs]
    assert inline == []
    assert "/static/reports/vendor/echarts/dist/echarts.min.js" in page
    assert "cdn" not in page.lower()
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]


def test_one_company_chosen_offers_its_employees(data: DataSet, in_alpha: Building) -> None:
    response = english(client_for(in_alpha, data.approver)).get(
        f"/statistics/?{RANGE}&company={data.a.pk}&host={data.host_a.pk}"
    )

    page = response.content.decode()
    assert f'<option value="{data.host_a.pk}" selected>李雷</option>' in page
    assert "王芳" not in page
    assert chart_data(response)["by_company"]["series"][0]["data"] == [5]


def test_refusals_only_is_kept_in_the_form_and_counts_the_refused_visits(
    data: DataSet, in_alpha: Building
) -> None:
    response = english(client_for(in_alpha, data.approver)).get(
        f"/statistics/?{RANGE}&result=denied"
    )

    page = response.content.decode()
    assert '<option value="denied" selected>Refused</option>' in page
    assert 'data-test="total-visits">2<' in page
    assert chart_data(response)["peak_hours"]["series"][0]["data"] == [0] * 24
