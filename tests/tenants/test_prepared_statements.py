"""Statements are prepared per connection (settings: server-side binding, prepare_threshold), and
one pooled connection serves every building: a statement prepared while one building's schema
was set must read the next building's tables once the schema changes."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.access.conftest import make_gate
from visit_platform.access.models import Gate


def test_a_statement_prepared_in_one_building_reads_the_next_buildings_rows(
    alpha: Building, beta: Building
) -> None:
    with schema_context("alpha"):
        make_gate("alpha 闸机")
    with schema_context("beta"):
        make_gate("beta 闸机")
    threshold = connection.connection.prepare_threshold
    assert threshold is not None

    with schema_context("alpha"):
        for _run in range(threshold + 2):  # prepared from the threshold on
            in_alpha = list(
                Gate.objects.filter(name__endswith="闸机").values_list("name", flat=True)
            )
    with schema_context("beta"):
        in_beta = list(Gate.objects.filter(name__endswith="闸机").values_list("name", flat=True))

    assert in_alpha == ["alpha 闸机"]
    assert in_beta == ["beta 闸机"]
    # The point of the test: the alpha query was in fact prepared on the server (psycopg keeps
    # the names of the statements it prepared on this connection).
    assert connection.connection._prepared._names
