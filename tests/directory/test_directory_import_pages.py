"""The import pages over HTTP: upload → preview with a verdict per row → confirm → rows exist."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Building, User
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host, Membership

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
YUNTU = "上海云途信息科技有限公司"
QINGMU = "杭州青木咨询有限公司"

COMPANIES_CSV = (
    "公司名称,楼层,区域,联系人,联系电话,管理员邮箱\r\n"
    f"{YUNTU},12-15,A座,王丽,13812345678,wang.li@yuntu.example\r\n"
    ",3,B座,李雷,13912345678,\r\n"
    f"{QINGMU},8,,赵敏,12345,\r\n"
    f"{YUNTU},16,,,,\r\n"
    "深圳蓝海物流有限公司,5,C座,陈晨,13712345678,\r\n"
)


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "application/octet-stream")


def row_verdicts(response) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    found = re.findall(r'data-line="(\d+)" data-outcome="(\w+)"', text(response))
    return [(int(line), outcome) for line, outcome in found]


def token_of(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'<input type="hidden" name="token" value="([^"]+)">', text(response))
    assert match is not None, "the page offers no confirmation"
    return match.group(1)


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<div class="message [a-z]+">([^<]*)</div>', text(response))


@pytest.fixture
def admin_client(alpha: Building) -> Client:
    return english(client_for(alpha, admin_of(alpha)))


def companies_in(building: Building) -> list[str]:
    with schema_context(building.schema_name):
        return sorted(Company.objects.values_list("name", flat=True))


def test_company_upload_previews_a_verdict_per_row_and_writes_nothing(
    alpha: Building, admin_client: Client
) -> None:
    response = admin_client.post(
        "/companies/import/", {"file": upload("companies.csv", COMPANIES_CSV.encode("utf-8-sig"))}
    )

    assert response.status_code == 200
    assert row_verdicts(response) == [
        (2, "create"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
        (6, "create"),
    ]
    page = text(response)
    assert "The company name is required." in page
    assert "Enter a valid mobile number." in page
    assert "Same company as row 2." in page
    assert "Import 2 rows" in page
    assert companies_in(alpha) == []
    with schema_context(alpha.schema_name):
        assert not AuditEntry.objects.filter(verb__startswith="company.").exists()


def test_confirming_the_company_import_creates_the_valid_rows_and_their_admin(
    alpha: Building, admin_client: Client
) -> None:
    preview = admin_client.post(
        "/companies/import/", {"file": upload("companies.csv", COMPANIES_CSV.encode("utf-8-sig"))}
    )

    confirmed = admin_client.post("/companies/import/", {"token": token_of(preview)}, follow=True)

    assert confirmed.redirect_chain == [("/companies/", 302)]
    assert messages_of(confirmed) == [
        "Imported: 2 new, 0 updated, 0 unchanged, 3 rows skipped.",
        "Invitations to choose a password were e-mailed to wang.li@yuntu.example.",
    ]
    assert companies_in(alpha) == sorted([YUNTU, "深圳蓝海物流有限公司"])
    with schema_context(alpha.schema_name):
        membership = Membership.objects.get(user__email="wang.li@yuntu.example")
        assert (membership.role, membership.company.name) == ("company_admin", YUNTU)


def test_confirming_the_same_import_twice_imports_once_and_says_it_expired(
    alpha: Building, admin_client: Client
) -> None:
    preview = admin_client.post(
        "/companies/import/", {"file": upload("companies.csv", COMPANIES_CSV.encode("utf-8-sig"))}
    )
    token = token_of(preview)
    admin_client.post("/companies/import/", {"token": token}, follow=True)

    again = admin_client.post("/companies/import/", {"token": token}, follow=True)

    assert again.redirect_chain == [("/companies/import/", 302)]
    assert messages_of(again) == [
        "This import has expired or was already confirmed. Upload the file again."
    ]
    assert companies_in(alpha) == sorted([YUNTU, "深圳蓝海物流有限公司"])
    with schema_context(alpha.schema_name):
        assert AuditEntry.objects.filter(verb="directory.companies_imported").count() == 1


def test_uploading_the_same_file_again_shows_every_row_unchanged(
    alpha: Building, admin_client: Client
) -> None:
    data = COMPANIES_CSV.encode("utf-8-sig")
    first = admin_client.post("/companies/import/", {"file": upload("companies.csv", data)})
    admin_client.post("/companies/import/", {"token": token_of(first)})

    second = admin_client.post("/companies/import/", {"file": upload("companies.csv", data)})
    confirmed = admin_client.post("/companies/import/", {"token": token_of(second)}, follow=True)

    assert row_verdicts(second) == [
        (2, "unchanged"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
        (6, "unchanged"),
    ]
    assert messages_of(confirmed) == ["Imported: 0 new, 0 updated, 2 unchanged, 3 rows skipped."]
    assert companies_in(alpha) == sorted([YUNTU, "深圳蓝海物流有限公司"])
    with schema_context(alpha.schema_name):
        assert Membership.objects.filter(user__email="wang.li@yuntu.example").count() == 1


def test_xlsx_employee_upload_is_previewed_and_confirmed(
    alpha: Building, admin_client: Client
) -> None:
    with schema_context(alpha.schema_name):
        yuntu = create_company(SYSTEM, name=YUNTU)
    workbook = openpyxl.Workbook()
    for row in (
        ["姓名", "手机号", "公司", "部门"],
        ["张伟", 13812345678, YUNTU, "研发部"],
        ["王芳", 12345, YUNTU, ""],
    ):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)

    preview = admin_client.post(
        "/employees/import/", {"file": upload("员工名单.xlsx", buffer.getvalue())}
    )
    confirmed = admin_client.post("/employees/import/", {"token": token_of(preview)})

    assert row_verdicts(preview) == [(2, "create"), (3, "error")]
    assert (confirmed.status_code, confirmed["Location"]) == (302, "/employees/")
    with schema_context(alpha.schema_name):
        assert list(Host.objects.values_list("name", "mobile", "company_id")) == [
            ("张伟", "+8613812345678", yuntu.pk)
        ]


def test_gbk_csv_upload_is_read(alpha: Building, admin_client: Client) -> None:
    data = f"公司名称,楼层,联系人\r\n{YUNTU},12-15,王丽\r\n".encode("gbk")

    preview = admin_client.post("/companies/import/", {"file": upload("公司.csv", data)})
    admin_client.post("/companies/import/", {"token": token_of(preview)})

    with schema_context(alpha.schema_name):
        assert list(Company.objects.values_list("name", "floors", "contact_name")) == [
            (YUNTU, "12-15", "王丽")
        ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("companies.xlsx", bytes(range(256)) * 8, "The file could not be read as a spreadsheet."),
        ("companies.txt", "公司名称\n云途\n".encode(), "Upload an .xlsx or .csv file."),
        (
            "companies.csv",
            "编号,备注\n1,x\n".encode(),
            "The file needs a header row with at least these columns: name / 公司名称.",
        ),
        ("companies.csv", b"", "The submitted file is empty."),
    ],
)
def test_malformed_upload_shows_a_clear_error_and_writes_nothing(
    alpha: Building, admin_client: Client, name: str, data: bytes, message: str
) -> None:
    response = admin_client.post("/companies/import/", {"file": upload(name, data)})

    assert response.status_code == 200
    assert re.findall(r'<div class="error">([^<]*)</div>', text(response)) == [message]
    assert 'name="token"' not in text(response)
    assert companies_in(alpha) == []


def test_upload_larger_than_2_mb_is_refused(alpha: Building, admin_client: Client) -> None:
    data = "公司名称\r\n".encode() + f"{YUNTU}\r\n".encode() * 60_000

    response = admin_client.post("/companies/import/", {"file": upload("big.csv", data)})

    assert len(data) > 2 * 1024 * 1024
    assert re.findall(r'<div class="error">([^<]*)</div>', text(response)) == [
        "The file is larger than 2 MB."
    ]
    assert companies_in(alpha) == []


def test_upload_with_more_than_5000_rows_is_refused(alpha: Building, admin_client: Client) -> None:
    data = ("公司名称\r\n" + "".join(f"公司{i}\r\n" for i in range(5001))).encode()

    response = admin_client.post("/companies/import/", {"file": upload("many.csv", data)})

    assert re.findall(r'<div class="error">([^<]*)</div>', text(response)) == [
        "The file has more than 5000 rows; split it into smaller files."
    ]
    assert companies_in(alpha) == []


def test_a_token_from_another_user_imports_nothing(alpha: Building, admin_client: Client) -> None:
    preview = admin_client.post(
        "/companies/import/", {"file": upload("companies.csv", COMPANIES_CSV.encode("utf-8-sig"))}
    )
    other_admin = member(alpha, "second@alpha.example", Role.PROPERTY_ADMIN)

    response = english(client_for(alpha, other_admin)).post(
        "/companies/import/", {"token": token_of(preview)}, follow=True
    )

    assert messages_of(response) == [
        "This import has expired or was already confirmed. Upload the file again."
    ]
    assert companies_in(alpha) == []


def test_company_admin_employee_import_page_names_their_company(alpha: Building) -> None:
    with schema_context(alpha.schema_name):
        yuntu = create_company(SYSTEM, name=YUNTU)
    boss: User = member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu)
    client = english(client_for(alpha, boss))

    page = client.get("/employees/import/")
    preview = client.post(
        "/employees/import/",
        {"file": upload("e.csv", "姓名,手机号\r\n张伟,13812345678\r\n".encode())},
    )
    client.post("/employees/import/", {"token": token_of(preview)})

    assert page.status_code == 200
    assert f"Everyone in the file joins {YUNTU}." in text(page)
    with schema_context(alpha.schema_name):
        assert list(Host.objects.values_list("name", "company_id")) == [("张伟", yuntu.pk)]


def test_company_admin_of_a_deactivated_company_cannot_import(alpha: Building) -> None:
    with schema_context(alpha.schema_name):
        yuntu = create_company(SYSTEM, name=YUNTU)
        create_host(SYSTEM, yuntu, name="张伟", mobile="13812345678")
    boss = member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu)
    english(client_for(alpha, admin_of(alpha))).post(
        f"/companies/{yuntu.pk}/active/", {"is_active": "0"}
    )

    response = english(client_for(alpha, boss)).get("/employees/import/")

    assert response.status_code == 403
    assert "No access to this building" in text(response)


@pytest.mark.parametrize(
    ("path", "sample"),
    [("/companies/import/", "companies.csv"), ("/employees/import/", "employees.csv")],
)
def test_import_page_links_to_a_sample_file_that_is_served(
    admin_client: Client, path: str, sample: str
) -> None:
    page = admin_client.get(path)

    assert f'href="/static/web/samples/{sample}"' in text(page)
    found = finders.find(f"web/samples/{sample}")
    assert found is not None
    assert Path(found).read_bytes().startswith(b"\xef\xbb\xbf")


def test_names_from_the_file_are_shown_escaped_in_the_preview(
    alpha: Building, admin_client: Client
) -> None:
    data = "姓名,手机号,公司\r\n<b>张伟</b>,13812345678,<script>alert(1)</script>\r\n".encode()

    response = admin_client.post("/employees/import/", {"file": upload("e.csv", data)})

    assert "<script>alert(1)</script>" not in text(response)
    assert "<b>张伟</b>" not in text(response)
    assert "Unknown company: &lt;script&gt;alert(1)&lt;/script&gt;." in text(response)


def test_company_admin_of_two_companies_chooses_which_one_to_import_into(
    alpha: Building,
) -> None:
    """An admin of two companies used to get the first company only: the second's employees
    could never be imported by them."""
    with schema_context(alpha.schema_name):
        yuntu = create_company(SYSTEM, name=YUNTU)
        qingmu = create_company(SYSTEM, name=QINGMU)
        stranger = create_company(SYSTEM, name="深圳蓝海物流有限公司")
    member(alpha, "boss@two.example", Role.COMPANY_ADMIN, yuntu)
    boss = member(alpha, "boss@two.example", Role.COMPANY_ADMIN, qingmu)
    client = english(client_for(alpha, boss))
    data = "姓名,手机号\r\n张伟,13812345678\r\n".encode()

    page = client.get("/employees/import/")
    missing = client.post("/employees/import/", {"file": upload("e.csv", data)})
    forged = client.post(
        "/employees/import/", {"file": upload("e.csv", data), "company": stranger.pk}
    )
    preview = client.post(
        "/employees/import/", {"file": upload("e.csv", data), "company": qingmu.pk}
    )
    client.post("/employees/import/", {"token": token_of(preview)})

    assert f'<option value="{qingmu.pk}">' in text(page)
    assert 'name="token"' not in text(missing) and 'name="token"' not in text(forged)
    assert f"Everyone in the file joins {QINGMU}." in text(preview)
    with schema_context(alpha.schema_name):
        assert list(Host.objects.values_list("name", "company_id")) == [("张伟", qingmu.pk)]
