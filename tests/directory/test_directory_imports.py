"""Importing companies and employees: preview gives every row a verdict and writes nothing;
confirming writes the valid rows once; bad files are refused with a clear error."""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation

from kernel.errors import DomainError, PermissionDeniedError
from tenants.models import Building, User
from tests.conftest import admin_of, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import (
    apply_company_import,
    apply_host_import,
    create_company,
    create_host,
    grant_membership,
    revoke_membership,
    set_company_active,
)
from visit_platform.directory.choices import Role
from visit_platform.directory.imports import (
    ImportPreview,
    keep_preview,
    preview_company_import,
    preview_host_import,
    take_preview,
)
from visit_platform.directory.models import Company, Host, Membership

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"

COMPANY_HEADER = ["公司名称", "楼层", "区域", "联系人", "联系电话", "管理员邮箱"]
HOST_HEADER = ["姓名", "手机号", "公司", "部门", "邮箱"]

YUNTU = "上海云途信息科技有限公司"
QINGMU = "杭州青木咨询有限公司"
XINGHE = "北京星河律师事务所"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def property_admin(alpha: Building, in_alpha: Building) -> Actor:
    return Actor(user=admin_of(alpha))


@pytest.fixture
def yuntu(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name=YUNTU, floors="12-15")


@pytest.fixture
def qingmu(in_alpha: Building) -> Company:
    return create_company(SYSTEM, name=QINGMU, floors="8")


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def verdicts(preview: ImportPreview) -> list[tuple[int, str, list[str]]]:
    return [(row.line, row.outcome, row.errors) for row in preview.rows]


def _audit_verbs() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("verb", flat=True))


# --- Company files --------------------------------------------------------------------------

COMPANY_FILE = [
    COMPANY_HEADER,
    [YUNTU, "12-15", "A座", "王丽", "13812345678", "wang.li@yuntu.example"],
    ["", "3", "B座", "李雷", "13912345678", ""],
    [QINGMU, "8", "", "赵敏", "12345", ""],
    [XINGHE, "20", "B座", "周杰", "139 0000 1111", "not-an-address"],
    ["上海云途信息科技有限公司", "16", "", "", "", ""],
    ["深圳蓝海物流有限公司", "5", "C座", "陈晨", "+86 137-1234-5678", ""],
]


def test_company_preview_names_each_bad_row_with_its_line_and_reason_and_writes_nothing(
    in_alpha: Building,
) -> None:
    audit_before = _audit_verbs()

    preview = preview_company_import("companies.csv", csv_bytes(COMPANY_FILE))

    assert verdicts(preview) == [
        (2, "create", []),
        (3, "error", ["The company name is required."]),
        (4, "error", ["Enter a valid mobile number."]),
        (5, "error", ["The admin e-mail address is not valid."]),
        (6, "error", ["Same company as row 2."]),
        (7, "create", []),
    ]
    assert preview.rows[0].values == {
        "name": YUNTU,
        "floors": "12-15",
        "zone": "A座",
        "contact_name": "王丽",
        "contact_mobile": "+8613812345678",
        "admin_email": "wang.li@yuntu.example",
    }
    assert Company.objects.count() == 0
    assert not User.objects.filter(email="wang.li@yuntu.example").exists()
    assert _audit_verbs() == audit_before


def test_confirming_a_company_import_writes_exactly_the_valid_rows(
    property_admin: Actor,
) -> None:
    preview = preview_company_import("companies.csv", csv_bytes(COMPANY_FILE))

    result = apply_company_import(property_admin, preview)

    assert (result.created, result.updated, result.unchanged, result.skipped) == (2, 0, 0, 4)
    assert list(
        Company.objects.order_by("name").values_list(
            "name", "floors", "zone", "contact_name", "contact_mobile"
        )
    ) == sorted(
        [
            (YUNTU, "12-15", "A座", "王丽", "+8613812345678"),
            ("深圳蓝海物流有限公司", "5", "C座", "陈晨", "+8613712345678"),
        ]
    )
    entry = AuditEntry.objects.filter(verb="directory.companies_imported").get()
    assert entry.detail == {
        "filename": "companies.csv",
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 4,
        "new_accounts": ["wang.li@yuntu.example"],
        "still_revoked": [],
    }


def test_company_import_with_an_admin_email_makes_that_person_company_admin(
    property_admin: Actor,
) -> None:
    preview = preview_company_import("companies.csv", csv_bytes(COMPANY_FILE))

    result = apply_company_import(property_admin, preview)

    user = User.objects.get(email="wang.li@yuntu.example")
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.company.name, membership.is_active) == (
        "company_admin",
        YUNTU,
        True,
    )
    assert result.new_accounts == ["wang.li@yuntu.example"]
    assert user.has_usable_password() is False


def test_reimporting_the_same_company_file_changes_nothing_and_grants_no_second_role(
    property_admin: Actor,
) -> None:
    apply_company_import(
        property_admin, preview_company_import("companies.csv", csv_bytes(COMPANY_FILE))
    )
    companies_before = list(Company.objects.order_by("pk").values_list("pk", "name", "updated_at"))

    again = preview_company_import("companies.csv", csv_bytes(COMPANY_FILE))
    result = apply_company_import(property_admin, again)

    assert [row.outcome for row in again.valid_rows] == ["unchanged", "unchanged"]
    assert (result.created, result.updated, result.unchanged, result.new_accounts) == (0, 0, 2, [])
    assert (
        list(Company.objects.order_by("pk").values_list("pk", "name", "updated_at"))
        == companies_before
    )
    assert Membership.objects.filter(user__email="wang.li@yuntu.example").count() == 1
    assert (
        AuditEntry.objects.filter(
            verb="membership.granted", detail__email="wang.li@yuntu.example"
        ).count()
        == 1
    )


def test_reimporting_the_company_file_does_not_grant_a_revoked_admin_role_again(
    property_admin: Actor,
) -> None:
    """The file still names the old admin: their role, revoked since, must stay revoked
    (only a person granting it by hand brings it back)."""
    apply_company_import(
        property_admin, preview_company_import("companies.csv", csv_bytes(COMPANY_FILE))
    )
    membership = Membership.objects.get(user__email="wang.li@yuntu.example")
    revoke_membership(property_admin, membership)

    result = apply_company_import(
        property_admin, preview_company_import("companies.csv", csv_bytes(COMPANY_FILE))
    )

    membership.refresh_from_db()
    assert membership.is_active is False
    assert result.still_revoked == ["wang.li@yuntu.example"]
    grant_membership(
        property_admin,
        email="wang.li@yuntu.example",
        role=Role.COMPANY_ADMIN,
        company=membership.company,
    )
    membership.refresh_from_db()
    assert (membership.is_active, membership.revoked_at) == (True, None)


def test_company_row_with_new_details_updates_the_company(
    property_admin: Actor, yuntu: Company
) -> None:
    preview = preview_company_import(
        "companies.csv", csv_bytes([COMPANY_HEADER, [YUNTU.lower(), "12-16", "A座", "", "", ""]])
    )

    result = apply_company_import(property_admin, preview)

    assert verdicts(preview) == [(2, "update", [])]
    assert (result.created, result.updated) == (0, 1)
    yuntu.refresh_from_db()
    assert (yuntu.floors, yuntu.zone) == ("12-16", "A座")


def test_company_row_for_a_deactivated_company_is_refused_and_its_admin_stays_out(
    alpha: Building, property_admin: Actor, yuntu: Company
) -> None:
    member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu)
    set_company_active(property_admin, yuntu, False)
    file = csv_bytes([COMPANY_HEADER, [YUNTU, "12-15", "", "", "", "wang.li@yuntu.example"]])

    preview = preview_company_import("companies.csv", file)
    result = apply_company_import(property_admin, preview)

    assert verdicts(preview) == [(2, "error", ["This company is no longer active."])]
    assert (result.created, result.updated, result.unchanged, result.skipped) == (0, 0, 0, 1)
    assert Company.objects.get(pk=yuntu.pk).is_active is False
    assert Membership.objects.get(user__email="wang.li@yuntu.example").is_active is False


def test_gbk_encoded_csv_with_chinese_headers_is_read(in_alpha: Building) -> None:
    file = csv_bytes(
        [
            ["公司名称", "楼层", "区域", "联系人", "联系电话"],
            ["上海云途信息科技有限公司", "12-15", "A座", "王丽", "13812345678"],
            ["杭州青木咨询有限公司", "8", "B座", "赵敏", "13912345678"],
        ],
        encoding="gbk",
    )

    preview = preview_company_import("公司名单.csv", file)

    assert [(row.outcome, row.values) for row in preview.rows] == [
        (
            "create",
            {
                "name": "上海云途信息科技有限公司",
                "floors": "12-15",
                "zone": "A座",
                "contact_name": "王丽",
                "contact_mobile": "+8613812345678",
                "admin_email": "",
            },
        ),
        (
            "create",
            {
                "name": "杭州青木咨询有限公司",
                "floors": "8",
                "zone": "B座",
                "contact_name": "赵敏",
                "contact_mobile": "+8613912345678",
                "admin_email": "",
            },
        ),
    ]


def test_english_headers_are_recognised(in_alpha: Building) -> None:
    file = csv_bytes(
        [
            ["Name", "Floors", "Zone", "Contact", "Contact mobile"],
            ["Acme", "3", "A", "Li", "13812345678"],
        ]
    )

    preview = preview_company_import("companies.csv", file)

    assert preview.rows[0].values == {
        "name": "Acme",
        "floors": "3",
        "zone": "A",
        "contact_name": "Li",
        "contact_mobile": "+8613812345678",
        "admin_email": "",
    }


def test_xlsx_company_file_with_numeric_cells_is_read(property_admin: Actor) -> None:
    file = xlsx_bytes(
        [
            COMPANY_HEADER,
            [YUNTU, 12, "A座", "王丽", 13812345678, "wang.li@yuntu.example"],
            [QINGMU, "8-9", None, "赵敏", None, None],
        ]
    )

    preview = preview_company_import("公司名单.xlsx", file)
    apply_company_import(property_admin, preview)

    assert verdicts(preview) == [(2, "create", []), (3, "create", [])]
    assert list(
        Company.objects.order_by("floors").values_list("name", "floors", "zone", "contact_mobile")
    ) == [(YUNTU, "12", "A座", "+8613812345678"), (QINGMU, "8-9", "", "")]


def test_xlsx_written_by_pandas_is_read(in_alpha: Building) -> None:
    buffer = io.BytesIO()
    pd.DataFrame(
        {"公司名称": [YUNTU, QINGMU], "楼层": ["12-15", "8"], "联系人": ["王丽", "赵敏"]}
    ).to_excel(buffer, index=False)

    preview = preview_company_import("companies.xlsx", buffer.getvalue())

    assert [
        (row.line, row.outcome, row.values["name"], row.values["contact_name"])
        for row in preview.rows
    ] == [
        (2, "create", YUNTU, "王丽"),
        (3, "create", QINGMU, "赵敏"),
    ]


def test_blank_lines_are_skipped_and_later_rows_keep_their_spreadsheet_line(
    in_alpha: Building,
) -> None:
    text = (
        "公司名称,楼层\r\n上海云途信息科技有限公司,12\r\n\r\n,3\r\n杭州青木咨询有限公司,8\r\n\r\n"
    )

    preview = preview_company_import("companies.csv", text.encode("utf-8"))

    assert verdicts(preview) == [
        (2, "create", []),
        (4, "error", ["The company name is required."]),
        (5, "create", []),
    ]


def test_blank_rows_in_xlsx_are_skipped_and_later_rows_keep_their_line(in_alpha: Building) -> None:
    file = xlsx_bytes([["公司名称", "楼层"], [YUNTU, "12"], [], [None, None], [QINGMU, "8"]])

    preview = preview_company_import("companies.xlsx", file)

    assert verdicts(preview) == [(2, "create", []), (5, "create", [])]


# --- Bad files ------------------------------------------------------------------------------


def _zip_that_is_no_workbook() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


BAD_FILES = [
    pytest.param("companies.xlsx", os.urandom(4096), "file_unreadable", id="random-bytes-xlsx"),
    pytest.param(
        "companies.xlsx", b"PK\x03\x04" + os.urandom(512), "file_unreadable", id="broken-zip-xlsx"
    ),
    pytest.param(
        "companies.xlsx", _zip_that_is_no_workbook(), "file_unreadable", id="zip-without-workbook"
    ),
    pytest.param("companies.txt", "公司名称\n云途\n".encode(), "file_type", id="txt"),
    pytest.param("companies.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "file_type", id="old-xls"),
    pytest.param("companies", "公司名称\n云途\n".encode(), "file_type", id="no-extension"),
    pytest.param(
        "companies.csv", "编号,备注\n1,x\n".encode(), "missing_columns", id="unknown-header"
    ),
    pytest.param("companies.csv", b"", "file_empty", id="empty"),
    pytest.param("companies.csv", b"\r\n\r\n", "file_unreadable", id="only-blank-lines"),
    pytest.param(
        "companies.csv", b"name\x00,floors\n\x00\x01,2\n", "file_unreadable", id="binary-csv"
    ),
]


@pytest.mark.parametrize(("filename", "data", "code"), BAD_FILES)
def test_malformed_company_file_is_refused_with_a_clear_error_and_writes_nothing(
    in_alpha: Building, filename: str, data: bytes, code: str
) -> None:
    audit_before = AuditEntry.objects.count()

    with pytest.raises(DomainError) as refusal:
        preview_company_import(filename, data)

    assert refusal.value.code == code
    assert refusal.value.message
    assert Company.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before


def test_header_problem_message_names_the_columns_needed(in_alpha: Building) -> None:
    with pytest.raises(DomainError) as companies:
        preview_company_import("c.csv", "编号,备注\n1,x\n".encode())
    with pytest.raises(DomainError) as hosts:
        preview_host_import("h.csv", "编号,备注\n1,x\n".encode())

    assert companies.value.message == (
        "The file needs a header row with at least these columns: name / 公司名称."
    )
    assert hosts.value.message == (
        "The file needs a header row with at least these columns: name / 姓名, mobile / 手机号."
    )


def test_employee_file_without_a_mobile_column_is_refused(in_alpha: Building) -> None:
    file = csv_bytes([["姓名", "公司"], ["张伟", YUNTU]])

    with pytest.raises(DomainError) as refusal:
        preview_host_import("employees.csv", file)

    assert refusal.value.code == "missing_columns"


def test_file_larger_than_2_mb_is_refused(in_alpha: Building) -> None:
    row = f"{YUNTU},12-15,A座,王丽,13812345678,\n".encode()
    data = "公司名称,楼层,区域,联系人,联系电话,管理员邮箱\n".encode() + row * (
        2 * 1024 * 1024 // len(row) + 1
    )

    with pytest.raises(DomainError) as refusal:
        preview_company_import("companies.csv", data)

    assert len(data) > 2 * 1024 * 1024
    assert (refusal.value.code, refusal.value.message) == (
        "file_too_large",
        "The file is larger than 2 MB.",
    )


def test_file_with_more_than_5000_rows_is_refused(in_alpha: Building) -> None:
    rows = [["公司名称"]] + [[f"公司{index}"] for index in range(5001)]

    with pytest.raises(DomainError) as refusal:
        preview_company_import("companies.csv", csv_bytes(rows))

    assert refusal.value.code == "too_many_rows"
    assert Company.objects.count() == 0


def test_file_with_exactly_5000_rows_is_accepted(in_alpha: Building) -> None:
    rows = [["公司名称"]] + [[f"公司{index}"] for index in range(5000)]

    preview = preview_company_import("companies.csv", csv_bytes(rows))

    assert (len(preview.rows), preview.count("create")) == (5000, 5000)


# --- Employee files -------------------------------------------------------------------------


@pytest.fixture
def employee_file(yuntu: Company, qingmu: Company) -> bytes:
    create_host(SYSTEM, qingmu, name="李娜", mobile="13912345678")
    create_host(SYSTEM, yuntu, name="刘洋", mobile="13500001111", department="财务部")
    create_host(SYSTEM, yuntu, name="陈静", mobile="13500002222", department="行政部")
    return csv_bytes(
        [
            HOST_HEADER,
            ["张伟", "13812345678", YUNTU, "研发部", "zhang.wei@yuntu.example"],
            ["", "13812345679", YUNTU, "研发部", ""],
            ["王芳", "12345", YUNTU, "", ""],
            ["赵强", "+86 138-1234-5678", YUNTU, "", ""],
            ["孙丽", "13712345678", "不存在的公司", "", ""],
            ["周明", "139 1234 5678", YUNTU, "", ""],
            ["吴敏", "13612345678", "", "", ""],
            ["刘洋", "135 0000 1111", YUNTU, "市场部", ""],
            ["陈静", "13500002222", YUNTU, "行政部", ""],
        ]
    )


def test_employee_preview_names_each_bad_row_with_its_line_and_reason_and_writes_nothing(
    employee_file: bytes,
) -> None:
    hosts_before = list(Host.objects.order_by("pk").values_list("name", "mobile", "department"))

    preview = preview_host_import("employees.csv", employee_file)

    assert verdicts(preview) == [
        (2, "create", []),
        (3, "error", ["The host's name is required."]),
        (4, "error", ["Enter a valid mobile number."]),
        (5, "error", ["Same mobile number as row 2."]),
        (6, "error", ["Unknown company: 不存在的公司."]),
        (7, "error", ["This mobile number already belongs to a host of another company."]),
        (8, "error", ["The company is missing."]),
        (9, "update", []),
        (10, "unchanged", []),
    ]
    assert list(Host.objects.order_by("pk").values_list("name", "mobile", "department")) == (
        hosts_before
    )


def test_confirming_an_employee_import_writes_exactly_the_valid_rows(
    property_admin: Actor, employee_file: bytes, yuntu: Company
) -> None:
    preview = preview_host_import("employees.csv", employee_file)

    result = apply_host_import(property_admin, preview)

    assert (result.created, result.updated, result.unchanged, result.skipped) == (1, 1, 1, 6)
    assert list(
        Host.objects.filter(company=yuntu)
        .order_by("mobile")
        .values_list("name", "mobile", "department", "email")
    ) == [
        ("刘洋", "+8613500001111", "市场部", ""),
        ("陈静", "+8613500002222", "行政部", ""),
        ("张伟", "+8613812345678", "研发部", "zhang.wei@yuntu.example"),
    ]
    assert Host.objects.count() == 4
    assert _audit_verbs()[-3:] == ["host.created", "host.updated", "directory.hosts_imported"]


def test_reimporting_the_same_employee_file_creates_no_duplicates(
    property_admin: Actor, employee_file: bytes
) -> None:
    apply_host_import(property_admin, preview_host_import("employees.csv", employee_file))
    hosts_before = list(
        Host.objects.order_by("pk").values_list("pk", "name", "mobile", "updated_at")
    )

    again = preview_host_import("employees.csv", employee_file)
    result = apply_host_import(property_admin, again)

    assert [row.outcome for row in again.valid_rows] == ["unchanged", "unchanged", "unchanged"]
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert list(Host.objects.order_by("pk").values_list("pk", "name", "mobile", "updated_at")) == (
        hosts_before
    )


def test_employee_import_reactivates_a_deactivated_host(
    property_admin: Actor, yuntu: Company
) -> None:
    from visit_platform.directory.actions import set_host_active

    host = create_host(SYSTEM, yuntu, name="张伟", mobile="13812345678")
    set_host_active(SYSTEM, host, False)
    file = csv_bytes([HOST_HEADER, ["张伟", "13812345678", YUNTU, "", ""]])

    preview = preview_host_import("employees.csv", file)
    apply_host_import(property_admin, preview)

    assert verdicts(preview) == [(2, "update", [])]
    assert Host.objects.get(pk=host.pk).is_active is True


def test_xlsx_employee_file_with_numeric_mobiles_is_read(
    property_admin: Actor, yuntu: Company
) -> None:
    file = xlsx_bytes(
        [
            ["姓名", "手机号码", "单位", "部门"],
            ["张伟", 13812345678, YUNTU, "研发部"],
            ["王芳", 13912345678.0, YUNTU, "人事部"],
        ]
    )

    apply_host_import(property_admin, preview_host_import("员工.xlsx", file))

    assert list(
        Host.objects.order_by("name").values_list("name", "mobile", "department")
    ) == sorted([("张伟", "+8613812345678", "研发部"), ("王芳", "+8613912345678", "人事部")])


def test_row_that_became_invalid_before_confirmation_is_skipped(
    property_admin: Actor, yuntu: Company, qingmu: Company
) -> None:
    file = csv_bytes(
        [
            HOST_HEADER,
            ["张伟", "13812345678", YUNTU, "", ""],
            ["王芳", "13912345678", YUNTU, "", ""],
        ]
    )
    preview = preview_host_import("employees.csv", file)
    create_host(SYSTEM, qingmu, name="李娜", mobile="13912345678")

    result = apply_host_import(property_admin, preview)

    assert [row.outcome for row in preview.rows] == ["create", "create"]
    assert (result.created, result.skipped) == (1, 1)
    assert list(Host.objects.order_by("name").values_list("name", "company__name")) == sorted(
        [("张伟", YUNTU), ("李娜", QINGMU)]
    )


def test_company_admin_import_puts_every_row_in_their_company(
    alpha: Building, yuntu: Company
) -> None:
    actor = Actor(user=member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu))
    file = csv_bytes([["姓名", "手机号", "部门"], ["张伟", "13812345678", "研发部"]])

    preview = preview_host_import("employees.csv", file, company=yuntu)
    result = apply_host_import(actor, preview)

    assert result.created == 1
    assert list(Host.objects.values_list("name", "company_id")) == [("张伟", yuntu.pk)]


def test_company_admin_import_refuses_rows_for_another_company(
    alpha: Building, yuntu: Company, qingmu: Company
) -> None:
    create_host(SYSTEM, qingmu, name="李娜", mobile="13912345678")
    actor = Actor(user=member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu))
    file = csv_bytes(
        [
            HOST_HEADER,
            ["张伟", "13812345678", YUNTU, "", ""],
            ["王芳", "13712345678", QINGMU, "", ""],
            ["李娜", "13912345678", YUNTU, "", ""],
        ]
    )

    preview = preview_host_import("employees.csv", file, company=yuntu)
    result = apply_host_import(actor, preview)

    assert verdicts(preview) == [
        (2, "create", []),
        (3, "error", [f"This row is for {QINGMU}; you can import employees of {YUNTU} only."]),
        (4, "error", ["This mobile number already belongs to a host of another company."]),
    ]
    assert (result.created, result.skipped) == (1, 2)
    assert list(Host.objects.order_by("name").values_list("name", "company__name")) == sorted(
        [("张伟", YUNTU), ("李娜", QINGMU)]
    )


def test_company_admin_cannot_confirm_a_preview_naming_another_company(
    alpha: Building, yuntu: Company, qingmu: Company
) -> None:
    actor = Actor(user=member(alpha, "wang.li@yuntu.example", Role.COMPANY_ADMIN, yuntu))
    preview = preview_host_import(
        "employees.csv", csv_bytes([HOST_HEADER, ["王芳", "13712345678", QINGMU, "", ""]])
    )

    with pytest.raises(PermissionDeniedError):
        apply_host_import(actor, preview)

    assert Host.objects.count() == 0


def test_import_for_a_company_deactivated_before_confirmation_is_refused(
    property_admin: Actor, yuntu: Company
) -> None:
    file = csv_bytes([["姓名", "手机号"], ["张伟", "13812345678"]])
    preview = preview_host_import("employees.csv", file, company=yuntu)
    set_company_active(property_admin, yuntu, False)

    with pytest.raises(DomainError) as refusal:
        apply_host_import(property_admin, preview)

    assert refusal.value.code == "company_inactive"
    assert Host.objects.count() == 0


@pytest.mark.parametrize("role", [Role.HOST, Role.RECEPTION, Role.SECURITY])
def test_roles_without_import_permission_cannot_confirm_an_import(
    alpha: Building, yuntu: Company, role: Role
) -> None:
    user = member(alpha, "someone@alpha.example", role, yuntu if role == Role.HOST else None)
    hosts = preview_host_import(
        "employees.csv", csv_bytes([HOST_HEADER, ["张伟", "13812345678", YUNTU, "", ""]])
    )
    companies = preview_company_import("companies.csv", csv_bytes([["公司名称"], ["新公司"]]))

    with pytest.raises(PermissionDeniedError):
        apply_host_import(Actor(user=user), hosts)
    with pytest.raises(PermissionDeniedError):
        apply_company_import(Actor(user=user), companies)

    assert (Host.objects.count(), Company.objects.count()) == (0, 1)


# --- Keeping the preview until confirmation -----------------------------------------------------


def test_confirming_twice_with_the_same_token_imports_once(property_admin: Actor) -> None:
    user_id = property_admin.user.pk  # type: ignore[union-attr]
    token = keep_preview(user_id, preview_company_import("c.csv", csv_bytes(COMPANY_FILE)))

    first = apply_company_import(property_admin, take_preview(user_id, token, "companies"))
    with pytest.raises(DomainError) as second:
        take_preview(user_id, token, "companies")

    assert first.created == 2
    assert second.value.code == "import_expired"
    assert Company.objects.count() == 2
    assert AuditEntry.objects.filter(verb="directory.companies_imported").count() == 1


def test_concurrent_confirmations_of_one_token_let_exactly_one_through(
    alpha: Building, in_alpha: Building
) -> None:
    token = keep_preview(1, preview_company_import("c.csv", csv_bytes(COMPANY_FILE)))
    start = threading.Barrier(16)
    outcomes: list[str] = []

    def confirm() -> None:
        connection.set_tenant(alpha)  # this thread's connection: the cache key names the schema
        start.wait()
        try:
            take_preview(1, token, "companies")
            outcomes.append("taken")
        except DomainError as refusal:
            outcomes.append(refusal.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["import_expired"] * 15 + ["taken"]


def test_kept_preview_comes_back_with_every_row(in_alpha: Building) -> None:
    preview = preview_company_import("c.csv", csv_bytes(COMPANY_FILE))
    token = keep_preview(7, preview)

    assert take_preview(7, token, "companies") == preview


def test_preview_token_belongs_to_the_user_who_uploaded(in_alpha: Building) -> None:
    token = keep_preview(1, preview_company_import("c.csv", csv_bytes(COMPANY_FILE)))

    with pytest.raises(DomainError) as refusal:
        take_preview(2, token, "companies")

    assert refusal.value.code == "import_expired"
    assert take_preview(1, token, "companies").kind == "companies"


def test_preview_token_is_for_its_kind_of_import_only(in_alpha: Building) -> None:
    token = keep_preview(1, preview_company_import("c.csv", csv_bytes(COMPANY_FILE)))

    with pytest.raises(DomainError) as refusal:
        take_preview(1, token, "hosts")

    assert refusal.value.code == "import_expired"


def test_preview_token_kept_in_alpha_is_unknown_in_beta(alpha: Building, beta: Building) -> None:
    connection.set_tenant(alpha)
    token = keep_preview(1, preview_company_import("c.csv", csv_bytes(COMPANY_FILE)))
    connection.set_tenant(beta)

    with pytest.raises(DomainError) as refusal:
        take_preview(1, token, "companies")

    assert refusal.value.code == "import_expired"


def test_unknown_token_is_refused_as_expired(in_alpha: Building) -> None:
    with pytest.raises(DomainError) as refusal:
        take_preview(1, "no-such-token", "companies")

    assert (refusal.value.code, refusal.value.message) == (
        "import_expired",
        "This import has expired or was already confirmed. Upload the file again.",
    )


# --- The sample files ---------------------------------------------------------------------------


def test_sample_files_are_utf8_with_a_byte_order_mark_and_chinese_headers() -> None:
    companies = (SAMPLES / "companies.csv").read_bytes()
    employees = (SAMPLES / "employees.csv").read_bytes()

    assert companies.startswith(b"\xef\xbb\xbf")
    assert employees.startswith(b"\xef\xbb\xbf")
    assert companies.decode("utf-8-sig").splitlines()[0] == ",".join(COMPANY_HEADER)
    assert employees.decode("utf-8-sig").splitlines()[0] == ",".join(HOST_HEADER)


def test_sample_files_served_for_download_are_the_documented_ones() -> None:
    static = Path(settings.BASE_DIR) / "visit_platform" / "web" / "static" / "web" / "samples"

    for name in ("companies.csv", "employees.csv"):
        assert (static / name).read_bytes() == (SAMPLES / name).read_bytes()


def test_sample_files_import_cleanly_one_after_the_other(property_admin: Actor) -> None:
    companies = preview_company_import("companies.csv", (SAMPLES / "companies.csv").read_bytes())
    apply_company_import(property_admin, companies)
    employees = preview_host_import("employees.csv", (SAMPLES / "employees.csv").read_bytes())
    apply_host_import(property_admin, employees)

    assert [row.errors for row in companies.rows + employees.rows if row.errors] == []
    assert Company.objects.count() == len(companies.rows) >= 3
    assert Host.objects.count() == len(employees.rows) >= 5
    assert Membership.objects.filter(role=Role.COMPANY_ADMIN).count() == sum(
        1 for row in companies.rows if row.values["admin_email"]
    )
