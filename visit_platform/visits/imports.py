"""Reading and checking an event's attendee list (xlsx or csv) row by row.

``check_attendee_list`` gives every row a verdict without writing anything: the problems of a
bad row (missing name, bad mobile, same person twice in the file, watchlisted, already
invited), or the cleaned values of a good one. The whole list is checked against the
watchlist in one query. The events actions keep the verdicts until the organiser confirms,
and check them again then.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from kernel.errors import DomainError
from kernel.phones import normalise_mobile
from kernel.privacy import blind_index
from kernel.resident_ids import normalise_id_number
from visit_platform.directory.imports import numbered, read_table
from visit_platform.visits.choices import DocumentType
from visit_platform.visits.identity import clean_identity
from visit_platform.visits.models import ID_NUMBER_INDEX
from visit_platform.visits.queries import Person, watchlisted_people

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000

ATTENDEE_COLUMNS = {
    "name": ("name", "姓名", "名字"),
    "mobile": ("mobile", "phone", "手机号", "手机", "手机号码"),
    "organisation": (
        "company",
        "organisation",
        "organization",
        "单位",
        "公司",
        "单位名称",
        "公司名称",
        "组织",
    ),
    "id_type": ("id type", "id_type", "document type", "证件类型"),
    "id_number": ("id number", "id_number", "document number", "证件号码", "证件号", "身份证号"),
}

# Document types as people write them in a spreadsheet, besides our own codes.
DOCUMENT_TYPE_NAMES = {
    "身份证": DocumentType.RESIDENT_ID,
    "居民身份证": DocumentType.RESIDENT_ID,
    "id card": DocumentType.RESIDENT_ID,
    "护照": DocumentType.PASSPORT,
    "passport": DocumentType.PASSPORT,
    "港澳居民来往内地通行证": DocumentType.HK_MACAO_PERMIT,
    "回乡证": DocumentType.HK_MACAO_PERMIT,
    "台湾居民来往大陆通行证": DocumentType.TAIWAN_PERMIT,
    "台胞证": DocumentType.TAIWAN_PERMIT,
    "外国人永久居留身份证": DocumentType.FOREIGN_PERMANENT,
    "永居证": DocumentType.FOREIGN_PERMANENT,
    "其他": DocumentType.OTHER,
    "other": DocumentType.OTHER,
}


@dataclass
class AttendeeRow:
    """One row of the list. ``line`` is its number in the spreadsheet (the header is 1);
    ``values`` are cleaned when ``errors`` is empty, as given otherwise."""

    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)

    @property
    def is_good(self) -> bool:
        return not self.errors

    def person(self) -> Person:
        birth = self.values.get("birth_date", "")
        return Person(
            mobile=self.values.get("mobile", ""),
            id_number_index=self.values.get("id_number_index", ""),
            name=self.values.get("name", ""),
            birth_date=date.fromisoformat(birth) if birth else None,
        )


def read_attendee_list(filename: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The list's non-blank rows with their line numbers; a DomainError for a file that is
    not a readable spreadsheet, too big, too long or without name and mobile columns."""
    rows = read_table(
        filename,
        data,
        ATTENDEE_COLUMNS,
        max_bytes=MAX_FILE_BYTES,
        max_rows=MAX_ROWS,
        required=("name", "mobile"),
    )
    found = numbered(rows)
    if not found:
        raise DomainError("file_empty", _("The file has no attendees."))
    return found


def check_attendee_list(
    rows: list[tuple[int, dict[str, str]]], *, invited_mobiles: frozenset[str] = frozenset()
) -> list[AttendeeRow]:
    """A verdict for every row. ``invited_mobiles`` are people the event already invited."""
    checked = [_clean_row(line, values) for line, values in rows]
    _mark_duplicates(checked)
    for row in checked:
        if row.is_good and row.values["mobile"] in invited_mobiles:
            row.errors.append(_("Already invited to this event."))
    good = [row for row in checked if row.is_good]
    hits = watchlisted_people(row.person() for row in good)
    for row in good:
        if row.person() in hits:
            row.errors.append(_("On the watchlist: this person may not visit."))
    return checked


def _clean_row(line: int, given: dict[str, str]) -> AttendeeRow:
    errors = []
    name = given.get("name", "").strip()
    if not name:
        errors.append(_("The name is missing."))
    elif len(name) > 100:
        errors.append(_("The name is longer than 100 characters."))
    mobile = ""
    if not given.get("mobile", "").strip():
        errors.append(_("The mobile number is missing."))
    else:
        try:
            mobile = normalise_mobile(given["mobile"])
        except DomainError:
            errors.append(
                _("The mobile number %(mobile)s is not valid.") % {"mobile": given["mobile"][:32]}
            )
    organisation = given.get("organisation", "").strip()
    if len(organisation) > 200:
        errors.append(_("The organisation is longer than 200 characters."))
    id_type, id_number, birth_date = "", "", None
    if normalise_id_number(given.get("id_number", "")):
        named_type = given.get("id_type", "").strip()
        id_type = DOCUMENT_TYPE_NAMES.get(named_type.lower(), named_type)
        try:
            id_type, id_number, birth_date = clean_identity(
                id_type or DocumentType.RESIDENT_ID, given["id_number"]
            )
        except DomainError as error:
            errors.append(error.message)
    if errors:
        return AttendeeRow(line, dict(given), errors)
    values = {
        "name": name,
        "mobile": mobile,
        "organisation": organisation,
        "id_type": id_type,
        "id_number": id_number,
        "id_number_index": blind_index(id_number, ID_NUMBER_INDEX) if id_number else "",
        "birth_date": birth_date.isoformat() if birth_date else "",
    }
    return AttendeeRow(line, values)


def _mark_duplicates(rows: list[AttendeeRow]) -> None:
    mobiles: dict[str, int] = {}
    indexes: dict[str, int] = {}
    for row in rows:
        if not row.is_good:
            continue
        mobile, index = row.values["mobile"], row.values["id_number_index"]
        if mobile in mobiles:
            row.errors.append(_("Same mobile number as row %(line)d.") % {"line": mobiles[mobile]})
        if index and index in indexes:
            row.errors.append(_("Same document number as row %(line)d.") % {"line": indexes[index]})
        mobiles.setdefault(mobile, row.line)
        if index:
            indexes.setdefault(index, row.line)


def rows_to_store(rows: list[AttendeeRow]) -> list[dict[str, object]]:
    return [asdict(row) for row in rows]


def rows_from_store(stored: list[dict[str, object]]) -> list[AttendeeRow]:
    return [AttendeeRow(**row) for row in stored]  # type: ignore[arg-type]
