"""Spreadsheets the platform hands out (csv and xlsx downloads).

Every text cell goes through ``neutral``: names, organisations and company names come from
uploads and forms, and a value such as ``=HYPERLINK(...)`` or ``@SUM(...)`` would run as a
formula in the spreadsheet of whoever opens the file. Use ``spreadsheet_download`` for every
export, so none can forget it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd
from django.http import HttpResponse

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


def spreadsheet_download(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    file_format: Literal["csv", "xlsx"] | str,
    filename: str,
) -> HttpResponse:
    """The rows as a csv (UTF-8 with a BOM, which Excel in China needs) or xlsx attachment,
    every text cell neutralised."""
    headers = [neutral(header) for header in headers]
    cells = [[neutral(cell) for cell in row] for row in rows]
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
