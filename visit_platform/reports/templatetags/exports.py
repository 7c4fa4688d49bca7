"""``{% export_url source report_filter %}``: the Export control of the records and statistics
pages, linking to the exports page with their filter carried."""

from __future__ import annotations

from django import template

from visit_platform.reports.export_views import export_url as link_to_export
from visit_platform.reports.filters import ReportFilter

register = template.Library()


@register.simple_tag
def export_url(source: str, report_filter: ReportFilter) -> str:
    return link_to_export(source, report_filter)
