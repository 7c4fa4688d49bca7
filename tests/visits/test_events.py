"""Bulk events (seed 5.2.5) through the organiser's pages: an attendee list is checked row by
row, confirming invites every good row (visitor, visit, pass, SMS), cancelling writes nothing,
a gate entry is the sign-in, and every bad request changes nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import openpyxl
import pandas as pd
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from kernel import pass_tokens as tokens
from tenants.models import Building, User
from tests.access.conftest import make_gate
from tests.conftest import admin_of, client_for, member
from visit_platform.access import actions as access_actions
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company
from visit_platform.notifications.models import Notification
from visit_platform.visits.actions import events
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Event, EventImport, Visit, Visitor, index_of_mobile
from workflows.actions import add_to_watchlist
from workflows.actions import events as event_actions

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
HEADER = ["姓名", "手机号", "单位", "证件类型", "证件号码"]


# --- Helpers --------------------------------------------------------------------------------


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def mobile(number: int) -> str:
    return f"139{number:08d}"


def xlsx(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    output = io.BytesIO()
    pd.DataFrame(rows, columns=header).to_excel(output, index=False, engine="openpyxl")
    return output.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "application/octet-stream")


def counts() -> tuple[int, int, int, int]:
    return (
        Visitor.objects.count(),
        Visit.objects.count(),
        Pass.objects.count(),
        Notification.objects.count(),
    )


def make_company(name: str = "上海云途信息科技有限公司") -> Company:
    return create_company(SYSTEM, name=name, floors="12")


def make_event(company: Company, organiser: User | None = None) -> Event:
    start = timezone.now() - timedelta(hours=1)
    return event_actions.create_event(
        Actor(user=organiser) if organiser else SYSTEM,
        name="2026 年度合作伙伴大会",
        company=company,
        starts_at=start,
        ends_at=start + timedelta(hours=8),
        place="三楼报告厅",
    )


def bad_row_reasons(response: Any) -> dict[int, str]:
    """Row number → the problem, as the preview shows them."""
    found = re.findall(
        r'<tr class="row-error" data-line="(\d+)"><td class="num">\d+</td><td>[^<]*</td>'
        r"<td>([^<]*)</td>",
        response.content.decode(),
    )
    return {int(line): reason for line, reason in found}


def pending_id(event: Event) -> int:
    return EventImport.objects.get(event=event).pk


@pytest.fixture
def company(in_alpha: Building) -> Company:
    return make_company()


@pytest.fixture
def admin(in_alpha: Building) -> User:
    return admin_of(in_alpha)


@pytest.fixture
def event(company: Company, admin: User) -> Event:
    return make_event(company, admin)


@pytest.fixture
def browser(in_alpha: Building, admin: User) -> Client:
    return english(client_for(in_alpha, admin))


def two_thousand_rows_with_twenty_bad() -> tuple[list[list[str]], dict[int, str]]:
    """2,000 attendees; 20 bad ones of five kinds, by spreadsheet row (header is row 1)."""
    rows = [[f"参会人{n}", mobile(n), "青木咨询", "", ""] for n in range(2000)]
    expected: dict[int, str] = {}
    for n in (10, 20, 30, 40):
        rows[n][0] = ""
        expected[n + 2] = "The name is missing."
    for n in (50, 60, 70, 80):
        rows[n][1] = "12345"
        expected[n + 2] = "The mobile number 12345 is not valid."
    for n in (100, 110, 120, 130):
        rows[n][1] = mobile(n - 1)
        expected[n + 2] = f"Same mobile number as row {n + 1}."
    for n in (200, 210, 220, 230):
        rows[n - 1][3:5] = ["护照", f"E{n:07d}"]
        rows[n][3:5] = ["passport", f"e{n:07d}"]
        expected[n + 2] = f"Same document number as row {n + 1}."
    for n in (300, 310, 320, 330):
        expected[n + 2] = "On the watchlist: this person may not visit."
    return rows, expected


# --- The scenario ---------------------------------------------------------------------------


def test_a_list_of_2000_with_20_bad_rows_names_each_bad_row_and_confirming_invites_1980(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    rows, expected = two_thousand_rows_with_twenty_bad()
    for n in (300, 310, 320, 330):
        add_to_watchlist(SYSTEM, reason="扰乱秩序", mobile=mobile(n))
    before = counts()

    response = browser.post(
        f"/events/{event.pk}/upload/", {"file": upload("参会名单.xlsx", xlsx(rows))}, follow=True
    )

    assert response.status_code == 200
    assert bad_row_reasons(response) == expected
    assert 'id="good-count">1980<' in response.content.decode()
    assert counts() == before

    response = browser.post(
        f"/events/{event.pk}/confirm/", {"import": pending_id(event)}, follow=True
    )

    assert "1980 attendees invited; 20 rows skipped." in response.content.decode()
    visitors, visits, passes, notifications = counts()
    assert (visitors - before[0], visits - before[1]) == (1980, 1980)
    assert (passes - before[2], notifications - before[3]) == (1980, 1980)
    invited = Visit.objects.filter(attendee__event=event)
    assert set(invited.values_list("scenario", "status", "invited_by", "company")) == {
        (Scenario.BULK, VisitStatus.APPROVED, event.organiser_id, event.company_id)
    }
    assert set(invited.values_list("valid_from", "valid_until")) == {
        (event.starts_at, event.ends_at)
    }
    one = Notification.objects.filter(visit__attendee__event=event).first()
    assert one is not None and "/p/" in one.text and event.name in one.text
    assert not Pass.objects.filter(
        visit__visitor__mobile_index__in=[
            index_of_mobile(f"+86{mobile(n)}") for n in (300, 310, 320, 330)
        ]
    ).exists()
    assert not EventImport.objects.exists()


def test_cancelling_a_checked_list_writes_nothing_and_forgets_its_rows(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    rows = [[f"参会人{n}", mobile(n), "", "", ""] for n in range(50)]
    before = counts()
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})

    response = browser.post(
        f"/events/{event.pk}/cancel/", {"import": pending_id(event)}, follow=True
    )

    assert "The list was discarded; nothing was written or sent." in response.content.decode()
    assert counts() == before
    assert not EventImport.objects.exists()
    event.refresh_from_db()
    assert event.status == "draft"


def test_the_pending_list_is_stored_encrypted(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    browser.post(
        f"/events/{event.pk}/upload/",
        {"file": upload("list.xlsx", xlsx([["韩梅梅", "13800000001", "", "", ""]]))},
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT rows FROM visits_eventimport")
        (stored,) = cursor.fetchone()
    assert "13800000001" not in stored and "韩梅梅" not in stored
    assert "+8613800000001" in EventImport.objects.get().rows


def test_a_gate_entry_is_the_sign_in_on_the_event_page_and_in_the_attendance_sheet(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    rows = [["韩梅梅", "13800000001", "青木咨询", "", ""], ["李雷", "13800000002", "", "", ""]]
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})
    browser.post(f"/events/{event.pk}/confirm/", {"import": pending_id(event)})
    pass_record = Pass.objects.get(visit__visitor__mobile_index=index_of_mobile("+8613800000001"))
    gate = make_gate()

    decision = access_actions.decide_scan(
        gate=gate, token=access_actions.pass_token(pass_record, tokens.TokenKind.SLIP)
    )

    assert decision.granted
    page = browser.get(f"/events/{event.pk}/").content.decode()
    assert 'id="signed-in-count">1<' in page
    signed_in = re.findall(r'data-line="(\d)">.*?<td class="num signed-in">([^<]+)</td>', page)
    zone_time = timezone.localtime(decision.event.occurred_at, in_alpha_zone(in_alpha))
    assert signed_in == [("2", zone_time.strftime("%Y-%m-%d %H:%M:%S")), ("3", "—")]

    response = browser.get(f"/events/{event.pk}/attendance.xlsx")

    assert response.status_code == 200
    sheet = pd.read_excel(io.BytesIO(response.content), dtype=str, keep_default_na=False)
    assert sheet.values.tolist() == [
        ["2", "韩梅梅", "138 **** 0001", "青木咨询", zone_time.strftime("%Y-%m-%d %H:%M:%S")],
        ["3", "李雷", "138 **** 0002", "", ""],
    ]
    csv_text = browser.get(f"/events/{event.pk}/attendance.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[1] == (
        f"2,韩梅梅,138 **** 0001,青木咨询,{zone_time.strftime('%Y-%m-%d %H:%M:%S')}"
    )


def in_alpha_zone(building: Building) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(building.time_zone or settings.TIME_ZONE)


def test_someone_watchlisted_after_the_preview_is_skipped_at_confirmation(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    rows = [["韩梅梅", "13800000001", "", "", ""], ["李雷", "13800000002", "", "", ""]]
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})
    add_to_watchlist(SYSTEM, reason="扰乱秩序", mobile="13800000002")

    result = events.confirm_attendee_list(Actor(user=event.organiser), event, pending_id(event))

    assert (result.invited, result.skipped) == (1, 1)
    assert list(Pass.objects.values_list("visit__visitor__mobile", flat=True)) == ["+8613800000001"]


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("list.xlsx", b"this is not a spreadsheet", "could not be read as a spreadsheet"),
        ("list.pdf", b"%PDF-1.4", "Upload an .xlsx or .csv file."),
        ("list.csv", b"", "file is empty."),
        ("list.csv", "姓名,手机号\r\n".encode(), "The file has no attendees."),
        ("list.csv", "手机号,单位\r\n13800000001,青木\r\n".encode(), "at least these columns"),
        ("list.csv", b"a" * (5 * 1024 * 1024 + 1), "The file is larger than 5 MB."),
        (
            "list.csv",
            ("name,mobile\n" + "张三,13800000001\n" * 20_001).encode(),
            "more than 20000 rows",
        ),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message_and_changes_nothing(
    in_alpha: Building, event: Event, browser: Client, name: str, data: bytes, message: str
) -> None:
    before = counts()

    response = browser.post(f"/events/{event.pk}/upload/", {"file": upload(name, data)})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == before
    assert not EventImport.objects.exists()


def test_english_headers_are_read_as_well(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    data = "Name,Mobile,Company,ID type,ID number\r\nHan Meimei,13800000001,Qingmu,passport,E1\r\n"

    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.csv", data.encode())})

    assert (EventImport.objects.get().good_rows, EventImport.objects.get().bad_rows) == (1, 0)


def test_confirming_twice_invites_once_and_says_so(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    rows = [["韩梅梅", "13800000001", "", "", ""]]
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})
    import_id = pending_id(event)
    browser.post(f"/events/{event.pk}/confirm/", {"import": import_id})
    after_first = counts()

    response = browser.post(f"/events/{event.pk}/confirm/", {"import": import_id}, follow=True)

    assert "already invited; nothing was changed" in response.content.decode()
    assert counts() == after_first


@pytest.mark.parametrize("import_id", ["", "abc", "999999", "-1"])
def test_confirming_a_forged_import_id_changes_nothing(
    in_alpha: Building, event: Event, browser: Client, import_id: str
) -> None:
    rows = [["韩梅梅", "13800000001", "", "", ""]]
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})
    before = counts()

    response = browser.post(f"/events/{event.pk}/confirm/", {"import": import_id}, follow=True)

    assert "already confirmed or cancelled" in response.content.decode()
    assert counts() == before
    assert EventImport.objects.count() == 1


def test_confirming_or_cancelling_someone_elses_list_is_refused(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    rows = [["韩梅梅", "13800000001", "", "", ""]]
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})
    colleague = member(in_alpha, "colleague@alpha.example", Role.PROPERTY_ADMIN)
    other = english(client_for(in_alpha, colleague))
    before = counts()

    confirmed = other.post(
        f"/events/{event.pk}/confirm/", {"import": pending_id(event)}, follow=True
    )
    cancelled = other.post(
        f"/events/{event.pk}/cancel/", {"import": pending_id(event)}, follow=True
    )

    assert "uploaded by someone else" in confirmed.content.decode()
    assert "uploaded by someone else" in cancelled.content.decode()
    assert counts() == before
    assert EventImport.objects.count() == 1


def test_an_unknown_event_id_is_a_404(in_alpha: Building, browser: Client) -> None:
    for url in ("/events/999999/", "/events/999999/attendance.xlsx"):
        assert browser.get(url).status_code == 404
    for url in ("/events/999999/upload/", "/events/999999/confirm/", "/events/999999/cancel/"):
        assert browser.post(url, {"import": "1"}).status_code == 404


def test_a_company_admin_organises_for_their_own_company_only(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    rows = [["韩梅梅", "13800000001", "", "", ""]]
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})
    other_company = make_company("杭州青木咨询有限公司")
    outsider = english(
        client_for(
            in_alpha, member(in_alpha, "b@qingmu.example", Role.COMPANY_ADMIN, other_company)
        )
    )
    own = english(
        client_for(in_alpha, member(in_alpha, "a@yuntu.example", Role.COMPANY_ADMIN, event.company))
    )
    before = counts()

    assert event.name not in outsider.get("/events/").content.decode()
    assert outsider.get(f"/events/{event.pk}/").status_code == 404
    assert outsider.get(f"/events/{event.pk}/attendance.xlsx").status_code == 404
    assert (
        outsider.post(f"/events/{event.pk}/confirm/", {"import": pending_id(event)}).status_code
        == 404
    )
    assert counts() == before
    assert event.name in own.get("/events/").content.decode()
    assert own.get(f"/events/{event.pk}/").status_code == 200
    response = outsider.post(
        "/events/new/",
        {
            "name": "x",
            "company": event.company_id,
            "starts_at": "2030-01-01T09:00",
            "ends_at": "2030-01-01T18:00",
        },
    )
    assert response.status_code == 200 and not Event.objects.filter(name="x").exists()


def test_hosts_and_reception_have_no_events_page(in_alpha: Building, company: Company) -> None:
    reception = client_for(in_alpha, member(in_alpha, "desk@alpha.example", Role.RECEPTION))

    assert reception.get("/events/").status_code == 403


def test_another_building_never_sees_an_event(
    in_alpha: Building, beta: Building, event: Event
) -> None:
    beta_admin = english(client_for(beta, admin_of(beta)))

    with schema_context("beta"):
        assert event.name not in beta_admin.get("/events/").content.decode()
        assert beta_admin.get(f"/events/{event.pk}/").status_code == 404
        assert beta_admin.get(f"/events/{event.pk}/attendance.csv").status_code == 404


def test_creating_an_event_through_the_page(
    in_alpha: Building, company: Company, browser: Client
) -> None:
    response = browser.post(
        "/events/new/",
        {
            "name": "产品发布会",
            "place": "一楼大堂",
            "company": company.pk,
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T18:00",
        },
    )

    event = Event.objects.get(name="产品发布会")
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}/"
    assert timezone.localtime(event.starts_at, in_alpha_zone(in_alpha)).hour == 9


def test_an_event_that_ends_before_it_starts_is_refused(
    in_alpha: Building, company: Company, browser: Client
) -> None:
    response = browser.post(
        "/events/new/",
        {
            "name": "产品发布会",
            "company": company.pk,
            "starts_at": "2030-05-01T18:00",
            "ends_at": "2030-05-01T09:00",
        },
    )

    assert "The event must end after it starts." in response.content.decode()
    assert not Event.objects.exists()


def test_the_attendance_sheet_never_holds_a_formula_from_the_uploaded_list(
    in_alpha: Building, event: Event, browser: Client
) -> None:
    """Organisations (often company names) come from the uploaded list: a formula-like one
    is written as text in both formats, with the apostrophe spreadsheets show as text."""
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["韩梅梅", "13800000003", '=HYPERLINK("http://evil.example","x")'])
    book.active["C2"].data_type = "s"  # stored as the text someone typed, as a list holds it
    data = io.BytesIO()
    book.save(data)
    browser.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", data.getvalue())})
    browser.post(f"/events/{event.pk}/confirm/", {"import": pending_id(event)})

    sheet = openpyxl.load_workbook(
        io.BytesIO(browser.get(f"/events/{event.pk}/attendance.xlsx").content)
    ).active
    csv_text = browser.get(f"/events/{event.pk}/attendance.csv").content.decode("utf-8-sig")

    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert '\'=HYPERLINK("http://evil.example","x")' in [cell.value for cell in cells]
    assert ",=" not in csv_text and "'=HYPERLINK" in csv_text
