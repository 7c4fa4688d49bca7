"""Text from uploads must never run as a formula in a downloaded spreadsheet (a company or
organisation named ``=HYPERLINK(...)`` would, in Excel or WPS, of whoever opens the file)."""

from __future__ import annotations

import io

import openpyxl
import pytest

from kernel.spreadsheets import neutral, spreadsheet_download

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
