"""Spreadsheets the platform hands out (csv and xlsx downloads).

Every text cell goes through ``neutral``: names, organisations and company names come from
uploads and forms, and a value such as ``=HYPERLINK(...)`` or ``@SUM(...)`` would run as a
formula in the spreadsheet of whoever opens the file. Use ``spreadsheet_download`` for a
small download answered at once and ``SpreadsheetFile`` for a large one written to disk row by
row (the reports' export jobs), so none can forget it.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import IO, Any, Literal

import pandas as pd
from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# What makes Excel, WPS or LibreOffice read a cell as a formula (OWASP's list), also after
# leading blanks, and the full-width signs Chinese input methods type.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutral(value: Any) -> Any:
    """``value`` as a spreadsheet shows it and never runs it: text that could start a formula
    gets a leading apostrophe. Anything but text (numbers, dates) is left alone."""
    if not isinstance(value, str):
        return value
    stripped = value.lstrip(" \u3000")
    if value[:1] in FORMULA_STARTS or stripped[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def neutral_row(row: Sequence[Any]) -> list[Any]:
    return [neutral(cell) for cell in row]


def spreadsheet_download(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    file_format: Literal["csv", "xlsx"] | str,
    filename: str,
) -> HttpResponse:
    """The rows as a csv (UTF-8 with a BOM, which Excel in China needs) or xlsx attachment,
    every text cell neutralised."""
    headers = neutral_row(headers)
    cells = [neutral_row(row) for row in rows]
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        writer.writerows(cells)
        response = HttpResponse(
            "\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8"
        )
    else:
        output = io.BytesIO()
        pd.DataFrame(cells, columns=headers).to_excel(output, index=False, engine="openpyxl")
        response = HttpResponse(output.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Excel's own limit on a sheet's name, and the characters it refuses in one.
_SHEET_TITLE_LENGTH = 31
_SHEET_TITLE_REFUSED = str.maketrans({character: " " for character in "[]:*?/\\"})


class SpreadsheetFile:
    """A spreadsheet written to ``path`` row by row in constant memory, every text cell
    neutralised: an xlsx workbook (openpyxl's write-only mode) of one or more sheets, or csv in
    UTF-8 with a BOM (which Excel in China needs to read Chinese), where several sheets make a
    zip holding one csv each.

    Numbers and dates stay typed in xlsx; an aware datetime is written as the local time of
    ``zone`` (Excel knows no time zones), and a missing value (None, NaN) as an empty cell.
    """

    def __init__(
        self,
        path: Path,
        file_format: Literal["csv", "xlsx"] | str,
        *,
        zone: tzinfo,
        several_sheets: bool = False,
    ) -> None:
        self.file_format = file_format
        self.zone = zone
        self._workbook: Workbook | None = None
        self._sheet: WriteOnlyWorksheet | None = None
        self._zip: zipfile.ZipFile | None = None
        self._text: IO[str] | None = None
        self._csv: Any = None
        self._titles: set[str] = set()
        if file_format == "xlsx":
            self._workbook = Workbook(write_only=True)
            self._path = path
        elif several_sheets:
            self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        else:
            self._text = path.open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._text)

    def add_sheet(self, title: str, headers: Sequence[str]) -> None:
        """Start a sheet (in a zip of csv files: a file ``<title>.csv``) with a header row.
        A single csv file has one sheet: the first call names nothing and only writes the
        headers."""
        title = self._unique_title(title)
        if self._workbook is not None:
            self._sheet = self._workbook.create_sheet(title)
        elif self._zip is not None:
            self._close_member()
            member = self._zip.open(f"{title}.csv", "w")
            self._text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._text)
        self.append(headers)

    def append(self, row: Sequence[Any]) -> None:
        cells = [self._typed(neutral(cell)) for cell in row]
        if self._sheet is not None:
            self._sheet.append(cells)
        else:
            self._csv.writerow(["" if cell is None else cell for cell in cells])

    def close(self) -> None:
        if self._workbook is not None:
            if not self._workbook.worksheets:
                self._workbook.create_sheet()
            self._workbook.save(self._path)
        elif self._zip is not None:
            self._close_member()
            self._zip.close()
        elif self._text is not None:
            self._text.close()

    def _close_member(self) -> None:
        if self._text is not None:
            self._text.close()
            self._text = None

    def _typed(self, value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if value is pd.NaT:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.zone).replace(tzinfo=None)
            return value if self.file_format == "xlsx" else value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, date) and self.file_format != "xlsx":
            return value.isoformat()
        return value

    def _unique_title(self, title: str) -> str:
        base = title.translate(_SHEET_TITLE_REFUSED).strip()[:_SHEET_TITLE_LENGTH] or "Sheet"
        title, number = base, 2
        while title.lower() in self._titles:
            suffix = f" {number}"
            title = base[: _SHEET_TITLE_LENGTH - len(suffix)] + suffix
            number += 1
        self._titles.add(title.lower())
        return title
