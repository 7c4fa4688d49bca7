"""What a records page, a statistics view or an export covers.

One ``ReportFilter`` is parsed from a query string (a page's form, a saved filter, an export
job's stored query) and read by the records, the statistics and the exports alike, so what a
user lists, counts and downloads is the same set of rows. Parsing is strict: an unknown
scenario, a malformed date, a range the wrong way round or too long, or too many ids is a
``DomainError`` with a readable message, never a silently widened filter.

Dates are the building's local days, both ends included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from visit_platform.visits.choices import Scenario, VisitStatus

# "Any period", within reason: ten years of a building's records.
LONGEST_RANGE_DAYS = 3660
# No form offers more choices than this at once; more is a forged or broken request.
MOST_IDS = 50
# What a gate decided, for the gate events: let through or refused.
RESULTS = ("granted", "denied")
# A mobile or an ID number; anything longer is not one.
LONGEST_PERSON = 40
# When no range is asked for: the last 30 days up to today.
DEFAULT_DAYS = 30


def _bad(message: str) -> DomainError:
    return DomainError("bad_filter", message)


@dataclass(frozen=True)
class ReportFilter:
    """A range of local days and the narrowing choices; empty tuples mean "all"."""

    start: date
    end: date
    company_ids: tuple[int, ...] = ()
    host_ids: tuple[int, ...] = ()
    gate_ids: tuple[int, ...] = ()
    scenarios: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    # Users (ids) who invited, approved or registered the visit (``Visit.invited_by`` etc.).
    invited_by: int | None = None
    approved_by: int | None = None
    registered_by: int | None = None
    # Gate events only: "granted" or "denied" ("" for both).
    result: str = ""
    # A mobile or an ID number, matched through the blind indexes: security finding a person.
    person: str = field(default="", repr=False)

    @classmethod
    def from_query(cls, params: QueryDict | dict[str, Any], *, today: date) -> ReportFilter:
        """Parse ``params`` (``start``, ``end``, ``company``, ``host``, ``gate``, ``scenario``,
        ``status``, ``invited_by``, ``approved_by``, ``registered_by``, ``result``,
        ``person``); repeated keys give several choices. Raises ``DomainError("bad_filter")``."""
        query = params if isinstance(params, QueryDict) else _as_query_dict(params)
        end = _day(query.get("end", ""), _("end date")) or today
        start = _day(query.get("start", ""), _("start date")) or end - timedelta(
            days=DEFAULT_DAYS - 1
        )
        if start > end:
            raise _bad(_("The start date is after the end date."))
        if (end - start).days + 1 > LONGEST_RANGE_DAYS:
            raise _bad(_("A range can cover at most %(days)d days.") % {"days": LONGEST_RANGE_DAYS})
        person = query.get("person", "").strip()
        if len(person) > LONGEST_PERSON:
            raise _bad(_("That is not a mobile or document number."))
        return cls(
            start=start,
            end=end,
            company_ids=_ids(query, "company"),
            host_ids=_ids(query, "host"),
            gate_ids=_ids(query, "gate"),
            scenarios=_choices(query, "scenario", Scenario.values),
            statuses=_choices(query, "status", VisitStatus.values),
            invited_by=_one_id(query, "invited_by"),
            approved_by=_one_id(query, "approved_by"),
            registered_by=_one_id(query, "registered_by"),
            result=_one_choice(query, "result", RESULTS),
            person=person,
        )

    def window(self, zone: Any) -> tuple[datetime, datetime]:
        """The range as moments: from the start day's midnight to the midnight after the end
        day, in the building's time zone ``zone``."""
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    def as_query(self) -> str:
        """The filter as a query string that ``from_query`` reads back to an equal filter:
        for links, saved filters and export jobs."""
        pairs: list[tuple[str, Any]] = [
            ("start", self.start.isoformat()),
            ("end", self.end.isoformat()),
        ]
        pairs += [("company", value) for value in self.company_ids]
        pairs += [("host", value) for value in self.host_ids]
        pairs += [("gate", value) for value in self.gate_ids]
        pairs += [("scenario", value) for value in self.scenarios]
        pairs += [("status", value) for value in self.statuses]
        for name in ("invited_by", "approved_by", "registered_by", "result", "person"):
            value = getattr(self, name)
            if value:
                pairs.append((name, value))
        return urlencode(pairs)

    def as_detail(self) -> dict[str, Any]:
        """What the audit entry records about a view or export: the choices made. A person
        looked up is recorded as looked up, never as the number itself."""
        detail: dict[str, Any] = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for name in ("company_ids", "host_ids", "gate_ids", "scenarios", "statuses"):
            if getattr(self, name):
                detail[name] = list(getattr(self, name))
        for name in ("invited_by", "approved_by", "registered_by"):
            if getattr(self, name) is not None:
                detail[name] = getattr(self, name)
        if self.result:
            detail["result"] = self.result
        if self.person:
            detail["person_searched"] = True
        return detail


def _as_query_dict(params: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in params.items():
        if isinstance(value, list | tuple):
            query.setlist(key, [str(item) for item in value])
        else:
            query[key] = str(value)
    return query


def _day(text: str, label: str) -> date | None:
    if not text:
        return None
    try:
        parsed = parse_date(text.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise _bad(_("The %(label)s is not a date (YYYY-MM-DD).") % {"label": label})
    return parsed


def _ids(query: QueryDict, key: str) -> tuple[int, ...]:
    values = [value for value in query.getlist(key) if value != ""]
    if len(values) > MOST_IDS:
        raise _bad(_("Too many choices at once."))
    ids = []
    for value in values:
        if not value.isdigit() or len(value) > 12:
            raise _bad(_("A choice in the filter is not valid."))
        ids.append(int(value))
    return tuple(sorted(set(ids)))


def _one_id(query: QueryDict, key: str) -> int | None:
    ids = _ids(query, key)
    if len(ids) > 1:
        raise _bad(_("A choice in the filter is not valid."))
    return ids[0] if ids else None


def _choices(query: QueryDict, key: str, allowed: list[str]) -> tuple[str, ...]:
    values = [value for value in query.getlist(key) if value != ""]
    if len(values) > MOST_IDS or any(value not in allowed for value in values):
        raise _bad(_("A choice in the filter is not valid."))
    return tuple(sorted(set(values)))


def _one_choice(query: QueryDict, key: str, allowed: tuple[str, ...]) -> str:
    values = _choices(query, key, list(allowed))
    if len(values) > 1:
        raise _bad(_("A choice in the filter is not valid."))
    return values[0] if values else ""
