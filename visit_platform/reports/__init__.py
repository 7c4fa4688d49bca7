"""Records, statistics and exports (issue 17): accountability over any period.

Reads the domain apps (visits, access, directory, audit) and writes only its own rows (saved
filters, export jobs) and audit entries. Every page, statistic and export starts from one
``ReportFilter`` (filters.py) and one scope (``reports.scope``), so the records a user can
list, count and download are the same records.
"""
