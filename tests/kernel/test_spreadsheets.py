"""Text from uploads must never run as a formula in a downloaded spreadsheet (a company or
organisation named ``=HYPERLINK(...)`` would, in Excel or WPS, of whoever opens the file)."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from kernel.spreadsheets import SpreadsheetFile, neutral, spreadsheet_download

FORMULAS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\u3000=1+1",
    "＝1+1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_could_start_a_formula_gets_an_apostrophe(text: str) -> None:
    assert neutral(text) == "'" + text


@pytest.mark.parametrize("value", ["上海云途信息科技有限公司", "A=B", "", 42, None])
def test_other_values_are_left_as_they_are(value: object) -> None:
    assert neutral(value) == value


def test_a_csv_download_neutralises_every_text_cell() -> None:
    response = spreadsheet_download(["公司"], [[text] for text in FORMULAS], "csv", "x.csv")
    body = response.content.decode("utf-8-sig")
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert "\n=" not in body and "\n+" not in body and "\n@" not in body
    assert "'=HYPERLINK" in body


def test_an_xlsx_download_holds_text_and_no_formula() -> None:
    response = spreadsheet_download(["公司"], [[text] for text in FORMULAS], "xlsx", "x.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [cell.data_type for cell in cells] == ["s"] * len(FORMULAS)
    assert all(str(cell.value).startswith("'") for cell in cells)  # xlsx stores \r as \n


# --- Files written row by row (the reports' export jobs) ------------------------------------

INJECTIONS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1",
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _write(path: Path, file_format: str, **options: Any) -> None:
    spreadsheet = SpreadsheetFile(path, file_format, zone=SHANGHAI, **options)
    spreadsheet.add_sheet("访客", ["名称", "数量", "时间"])
    for text in INJECTIONS:
        spreadsheet.append([text, -5, datetime(2026, 12, 6, 1, 30, tzinfo=UTC)])
    spreadsheet.append(["上海云途", 3.5, None])
    spreadsheet.close()


def test_an_xlsx_file_keeps_formulas_as_text_and_numbers_and_times_typed(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"

    _write(path, "xlsx")

    sheet = openpyxl.load_workbook(path)["访客"]
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == [
        "'" + text.replace("\r", "\n") for text in INJECTIONS
    ] + ["上海云途"]
    assert {row[0].data_type for row in rows} == {"s"}  # text, never "f" (a formula)
    assert [row[1].value for row in rows] == [-5] * len(INJECTIONS) + [3.5]
    assert {row[1].data_type for row in rows} == {"n"}
    # The building's local time (UTC+8), typed as a date and time.
    assert rows[0][2].value == datetime(2026, 12, 6, 9, 30)
    assert rows[-1][2].value is None


def test_a_csv_file_has_a_bom_apostrophes_and_plain_negative_numbers(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"

    _write(path, "csv")

    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["名称", "数量", "时间"]
    assert [row[0] for row in rows[1:]] == ["'" + text for text in INJECTIONS] + ["上海云途"]
    assert [row[1] for row in rows[1:]] == ["-5"] * len(INJECTIONS) + ["3.5"]
    assert rows[1][2] == "2026-12-06 09:30:00"
    assert rows[-1][2] == ""


def test_several_csv_sheets_make_a_zip_of_csv_files_each_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "out.zip"
    spreadsheet = SpreadsheetFile(path, "csv", zone=SHANGHAI, several_sheets=True)
    spreadsheet.add_sheet("按小时", ["小时", "访问"])
    spreadsheet.append([9, 12])
    spreadsheet.add_sheet("按公司", ["公司", "访问"])
    spreadsheet.append(["=cmd|' /C calc'!A0", 4])
    spreadsheet.close()

    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["按小时.csv", "按公司.csv"]
        by_company = archive.read("按公司.csv")
    assert by_company.startswith(codecs.BOM_UTF8)
    assert by_company.decode("utf-8-sig").splitlines() == ["公司,访问", "'=cmd|' /C calc'!A0,4"]


def test_sheet_titles_are_cut_to_excels_rules_and_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "titles.xlsx"
    spreadsheet = SpreadsheetFile(path, "xlsx", zone=SHANGHAI)
    spreadsheet.add_sheet("Visits by hour/day [all]: a very long title", ["a"])
    spreadsheet.add_sheet("Visits by hour/day [all]: a very long title", ["a"])
    spreadsheet.close()

    assert openpyxl.load_workbook(path).sheetnames == [
        "Visits by hour day  all   a ver",
        "Visits by hour day  all   a v 2",
    ]
