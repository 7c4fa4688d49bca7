"""What the codes in the reports' audit details are called (the filter's scenarios, statuses
and gate result; the records tab), so the audit log reads them as words."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from visit_platform.audit.details import name_values
from visit_platform.reports.choices import ExportSource
from visit_platform.visits.choices import Scenario, VisitStatus


def register() -> None:
    name_values("scenarios", Scenario.choices)
    name_values("statuses", VisitStatus.choices)
    name_values("result", [("granted", _("Granted")), ("denied", _("Refused"))])
    name_values("tab", [("visits", _("Visits")), ("events", _("Gate events"))])
    # Exports: what was exported.
    name_values("source", ExportSource.choices)
