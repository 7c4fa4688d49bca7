"""Importing the company table (seed 5.1) and employee lists from xlsx or csv files.

An import is two steps: ``preview_*`` reads the file and gives every row a verdict without
writing anything; the user confirms, and ``apply_*`` validates the rows again against the
building as it is then and writes every valid row in one transaction. Rows are matched on
their natural key (company name, host mobile), so importing the same file twice creates
nothing new.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from visit_platform.directory import cleaning
from visit_platform.directory.models import Company, Host

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
PREVIEW_TTL_SECONDS = 30 * 60

ImportKind = Literal["companies", "hosts"]
Outcome = Literal["create", "update", "unchanged", "error"]

# Column headers people actually use, in Chinese and English, for each field.
COMPANY_COLUMNS = {
    "name": ("name", "company", "公司名称", "公司", "单位名称", "企业名称", "企业"),
    "floors": ("floors", "floor", "楼层"),
    "zone": ("zone", "区域", "区"),
    "contact_name": ("contact_name", "contact", "联系人"),
    "contact_mobile": ("contact_mobile", "contact mobile", "联系电话", "联系人手机", "联系人电话"),
    "admin_email": ("admin_email", "admin e-mail", "admin email", "管理员邮箱", "管理员"),
}
HOST_COLUMNS = {
    "name": ("name", "姓名", "名字"),
    "mobile": ("mobile", "phone", "手机号", "手机", "手机号码"),
    "company": ("company", "公司", "公司名称", "单位", "企业", "企业名称"),
    "department": ("department", "部门"),
    "email": ("email", "e-mail", "邮箱", "电子邮箱"),
}


@dataclass
class RowVerdict:
    """What importing one row would do. ``line`` is the row's number in the spreadsheet."""

    line: int
    values: dict[str, str]
    outcome: Outcome
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    kind: ImportKind
    rows: list[RowVerdict]
    filename: str = ""
    company_id: int | None = None  # hosts imported by a company admin: their company

    def count(self, outcome: Outcome) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def valid_rows(self) -> list[RowVerdict]:
        return [row for row in self.rows if row.outcome != "error"]

    @property
    def error_rows(self) -> list[RowVerdict]:
        return [row for row in self.rows if row.outcome == "error"]


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int
    skipped: int
    new_accounts: list[str] = field(default_factory=list)
    still_revoked: list[str] = field(default_factory=list)  # admin roles the file names


# --- Reading files --------------------------------------------------------------------------


def read_table(
    filename: str,
    data: bytes,
    columns: dict[str, tuple[str, ...]],
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
    required: tuple[str, ...] | None = None,
) -> list[dict[str, str]]:
    """Rows of a csv or xlsx file as dicts keyed by our field names.

    Refuses, with a clear message and before reading any row, files that are too big, of
    another type, unreadable, without a recognisable header, or with too many rows.
    ``required`` names the columns the header must have (by default name, and mobile when
    the table has one).
    """
    if len(data) > max_bytes:
        raise DomainError(
            "file_too_large",
            _("The file is larger than %(size)d MB.") % {"size": max_bytes // (1024 * 1024)},
        )
    if not data:
        raise DomainError("file_empty", _("The file is empty."))
    lower = filename.lower()
    try:
        if lower.endswith(".xlsx"):
            if not data.startswith(b"PK"):
                raise ValueError("not a zip container")
            frame = pd.read_excel(
                io.BytesIO(data), dtype=str, keep_default_na=False, engine="openpyxl"
            )
        elif lower.endswith(".csv"):
            frame = _read_csv(data)
        else:
            raise DomainError("file_type", _("Upload an .xlsx or .csv file."))
    except DomainError:
        raise
    except Exception as error:  # pandas and openpyxl raise many types for a broken file
        raise DomainError(
            "file_unreadable", _("The file could not be read as a spreadsheet.")
        ) from error
    if len(frame.index) > max_rows:
        raise DomainError(
            "too_many_rows",
            _("The file has more than %(rows)d rows; split it into smaller files.")
            % {"rows": max_rows},
        )
    mapping = _map_headers([str(column) for column in frame.columns], columns)
    needed = list(required) if required is not None else _required_fields(columns)
    if not set(needed) <= set(mapping.values()):
        raise DomainError(
            "missing_columns",
            _("The file needs a header row with at least these columns: %(columns)s.")
            % {"columns": ", ".join(_required_headers(columns, needed))},
        )
    rows = []
    for record_ in frame.to_dict(orient="records"):
        row = {ours: _cell(record_[theirs]) for theirs, ours in mapping.items()}
        rows.append({name: row.get(name, "") for name in columns})
    return rows


def _read_csv(data: bytes) -> pd.DataFrame:
    # Excel in China saves csv as GBK more often than not.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise ValueError("binary data")
        # Blank lines are kept (and skipped later) so every row keeps its line number.
        return pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    raise ValueError("unknown text encoding")


def _map_headers(headers: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for header in headers:
        normalised = header.strip().lower().replace("*", "")
        for ours, aliases in columns.items():
            if normalised in aliases and ours not in mapping.values():
                mapping[header] = ours
    return mapping


def _required_fields(columns: dict[str, tuple[str, ...]]) -> list[str]:
    return ["name", "mobile"] if "mobile" in columns else ["name"]


def _required_headers(columns: dict[str, tuple[str, ...]], needed: list[str]) -> list[str]:
    """Each required column as "english / 中文", the first alias of each language."""
    return [
        f"{columns[name][0]} / {next(alias for alias in columns[name] if not alias.isascii())}"
        for name in needed
    ]


def numbered(rows: list[dict[str, str]]) -> list[tuple[int, dict[str, str]]]:
    """Rows with their line in the spreadsheet (the header is line 1), blank rows left out."""
    return [(line, row) for line, row in enumerate(rows, start=2) if any(row.values())]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


# --- Companies ------------------------------------------------------------------------------


def preview_company_import(filename: str, data: bytes) -> ImportPreview:
    rows = read_table(filename, data, COMPANY_COLUMNS)
    existing = {company.name.lower(): company for company in Company.objects.all()}
    seen: dict[str, int] = {}
    verdicts = []
    for line, row in numbered(rows):
        verdicts.append(_company_verdict(line, row, existing, seen))
    return ImportPreview("companies", verdicts, filename)


def _company_verdict(
    line: int, row: dict[str, str], existing: dict[str, Company], seen: dict[str, int]
) -> RowVerdict:
    errors = []
    try:
        cleaned = cleaning.clean_company_fields(row)
    except DomainError as error:
        return RowVerdict(line, row, "error", [error.message])
    key = cleaned["name"].lower()
    if key in seen:
        errors.append(_("Same company as row %(line)d.") % {"line": seen[key]})
    seen.setdefault(key, line)
    admin_email = row.get("admin_email", "").strip().lower()
    if admin_email:
        try:
            validate_email(admin_email)
        except ValidationError:
            errors.append(_("The admin e-mail address is not valid."))
    company = existing.get(key)
    if company is not None and not company.is_active:
        errors.append(_("This company is no longer active."))
    if errors:
        return RowVerdict(line, row, "error", errors)
    values = {**cleaned, "admin_email": admin_email}
    if company is None:
        return RowVerdict(line, values, "create")
    unchanged = all(getattr(company, f) == cleaned[f] for f in cleaning.COMPANY_FIELDS)
    return RowVerdict(line, values, "unchanged" if unchanged else "update")


# --- Hosts ----------------------------------------------------------------------------------


def preview_host_import(
    filename: str, data: bytes, *, company: Company | None = None
) -> ImportPreview:
    """Preview an employee list. With ``company`` (a company admin importing their own
    people) every row belongs to it; without, each row names its company."""
    rows = read_table(filename, data, HOST_COLUMNS)
    companies = {c.name.lower(): c for c in Company.objects.filter(is_active=True)}
    hosts = {host.mobile: host for host in Host.objects.all()}
    seen: dict[str, int] = {}
    verdicts = [
        _host_verdict(line, row, company, companies, hosts, seen) for line, row in numbered(rows)
    ]
    return ImportPreview("hosts", verdicts, filename, company.pk if company else None)


def _host_verdict(
    line: int,
    row: dict[str, str],
    company: Company | None,
    companies: dict[str, Company],
    hosts: dict[str, Host],
    seen: dict[str, int],
) -> RowVerdict:
    errors = []
    try:
        cleaned = cleaning.clean_host_fields(row)
    except DomainError as error:
        errors.append(error.message)
        cleaned = {}
    target = company
    named = row.get("company", "").strip()
    if target is not None and named and named.lower() != target.name.lower():
        errors.append(
            _("This row is for %(named)s; you can import employees of %(company)s only.")
            % {"named": named, "company": target.name}
        )
    if target is None:
        target = companies.get(named.lower())
        if target is None:
            errors.append(
                _("Unknown company: %(name)s.") % {"name": row.get("company", "")}
                if row.get("company")
                else _("The company is missing.")
            )
    if cleaned:
        mobile = cleaned["mobile"]
        if mobile in seen:
            errors.append(_("Same mobile number as row %(line)d.") % {"line": seen[mobile]})
        seen.setdefault(mobile, line)
        existing = hosts.get(mobile)
        if existing is not None and target is not None and existing.company_id != target.pk:
            errors.append(_("This mobile number already belongs to a host of another company."))
    if errors:
        return RowVerdict(line, row, "error", errors)
    assert target is not None
    values = {**cleaned, "company_id": str(target.pk), "company": target.name}
    existing = hosts.get(cleaned["mobile"])
    if existing is None:
        return RowVerdict(line, values, "create")
    unchanged = existing.is_active and all(
        getattr(existing, f) == cleaned[f] for f in cleaning.HOST_FIELDS
    )
    return RowVerdict(line, values, "unchanged" if unchanged else "update")


# --- Keeping a preview until the user confirms ------------------------------------------------


def preview_rows_again(preview: ImportPreview) -> ImportPreview:
    """Re-judge the previewed rows against the building as it is now (it may have changed
    between preview and confirmation)."""
    if preview.kind == "companies":
        existing = {company.name.lower(): company for company in Company.objects.all()}
        seen: dict[str, int] = {}
        rows = [_company_verdict(r.line, r.values, existing, seen) for r in preview.rows]
        return ImportPreview("companies", rows, preview.filename)
    company = None
    if preview.company_id:
        company = Company.objects.filter(pk=preview.company_id, is_active=True).first()
        if company is None:
            raise DomainError("company_inactive", _("This company is no longer active."))
    companies = {c.name.lower(): c for c in Company.objects.filter(is_active=True)}
    hosts = {host.mobile: host for host in Host.objects.all()}
    seen = {}
    rows = [_host_verdict(r.line, r.values, company, companies, hosts, seen) for r in preview.rows]
    return ImportPreview("hosts", rows, preview.filename, preview.company_id)


def _cache_key(user_id: int, token: str) -> str:
    # The cache's key function adds the building's schema (house rule 4).
    return f"directory-import:{user_id}:{token}"


def keep_preview(user_id: int, preview: ImportPreview) -> str:
    """Keep the preview for this user until they confirm; returns the token to confirm with."""
    token = secrets.token_urlsafe(16)
    cache.set(_cache_key(user_id, token), asdict(preview), PREVIEW_TTL_SECONDS)
    return token


def take_preview(user_id: int, token: str, kind: ImportKind) -> ImportPreview:
    """The kept preview, once: confirming twice does not import twice."""
    key = _cache_key(user_id, token)
    stored = cache.get(key)
    # Only the request whose delete removes the key may go on: a double-clicked confirm
    # must not run the import twice side by side.
    if stored is None or stored.get("kind") != kind or not cache.delete(key):
        raise DomainError(
            "import_expired",
            _("This import has expired or was already confirmed. Upload the file again."),
        )
    rows = [RowVerdict(**row) for row in stored.pop("rows")]
    return ImportPreview(rows=rows, **stored)
