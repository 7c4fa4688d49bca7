"""Shared fixtures: two buildings on two domains, created once per test session.

Tests roll back (the ``db`` fixture) rather than commit: django-tenants cannot flush public
tables that building tables reference. A test works inside a building by asking for
``in_alpha`` / ``in_beta``, and over HTTP through ``Client(HTTP_HOST=<domain>)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import channels.db
import pytest
from django.db import DEFAULT_DB_ALIAS, connection
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from django_tenants.utils import schema_context
from pytest_django.fixtures import _get_databases_for_setup

from tenants.actions import building_domain, create_building
from tenants.models import Building, User
from tenants.provisioning import ensure_public_site

ADMIN_PASSWORD = "correct horse battery staple"

pytest_plugins = ["tests.wechat_office"]


def pytest_configure(config: pytest.Config) -> None:
    """Users' passwords are hashed with a fast hasher in the tests: PBKDF2's million rounds
    cost a quarter of a second a user, and the fixtures make a user for nearly every test. The
    tests are about who may do what, not about the hash; every server they log in to runs in
    this process. Production's hashers stay in the list, so their hashes still check."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, django_db_blocker: Any, request: pytest.FixtureRequest
) -> None:
    with django_db_blocker.unblock():
        _make_sure_the_test_database_is_used(request, django_db_blocker)
        ensure_public_site()
        for slug, name in (("alpha", "Alpha Tower"), ("beta", "Beta Park")):
            create_building(
                slug=slug,
                name=name,
                admin_email=f"admin@{slug}.example",
                admin_password=ADMIN_PASSWORD,
            )
        connection.set_schema_to_public()


def _make_sure_the_test_database_is_used(request: pytest.FixtureRequest, blocker: Any) -> None:
    """pytest-django creates the test database only for a session holding a test that asks
    for ``db`` (or is marked ``django_db``). Tests that commit for a live server (the gate
    agent's, the browser's) ask for neither, so a session of only those would have written to
    the developer's own database. Set the test database up here too, when pytest-django did not
    (asked with its own rule, so the two never both do it)."""
    aliases, _serialized = _get_databases_for_setup(request.session.items)
    if DEFAULT_DB_ALIAS in aliases:
        return
    created = setup_databases(verbosity=0, interactive=False, aliases={DEFAULT_DB_ALIAS})

    def tear_down() -> None:
        with blocker.unblock():
            end_other_database_sessions()
            teardown_databases(created, verbosity=0)

    request.addfinalizer(tear_down)


@pytest.fixture
def alpha(db: None) -> Building:
    return Building.objects.get(schema_name="alpha")


@pytest.fixture
def beta(db: None) -> Building:
    return Building.objects.get(schema_name="beta")


@pytest.fixture
def in_alpha(alpha: Building) -> Iterator[Building]:
    connection.set_tenant(alpha)
    yield alpha
    connection.set_schema_to_public()


@pytest.fixture
def in_beta(beta: Building) -> Iterator[Building]:
    connection.set_tenant(beta)
    yield beta
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _back_to_public() -> Iterator[None]:
    """Every test starts and ends in the public schema, whatever the previous one did."""
    yield
    connection.set_schema_to_public()


# --- Rate limits (issue 15): every test starts with no hits counted -------------------------
@pytest.fixture(autouse=True)
def _no_rate_limit_hits() -> None:
    """The limits' counters live in Redis, outside the test's transaction: without this, the
    requests of earlier tests would count against later ones."""
    from kernel.rate_limits import _redis

    keys = list(_redis().scan_iter(match="ratelimit:*", count=1000))
    if keys:
        _redis().delete(*keys)


@pytest.fixture(autouse=True)
def _forget_sign_in_failures() -> Iterator[None]:
    """Sign-in failure counters live in Redis, outside the test's transaction, and every test
    client signs in from 127.0.0.1: without this, one test's wrong passwords lock the next."""
    yield
    from axes.utils import reset

    reset()


@pytest.fixture
def keep_the_test_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """channels closes "old" connections around every ``database_sync_to_async`` call. Inside
    the test's transaction (autocommit off) that closes the connection and loses the test's
    rows. Django's test ``Client`` turns off the same clean-up for HTTP requests."""
    monkeypatch.setattr(channels.db, "close_old_connections", lambda **kwargs: None)


def end_other_database_sessions() -> None:
    """End every session on the test database but this thread's: those that request threads,
    scanning threads or a live server left open, so that the database can be dropped at the
    end of the run. The connection pool goes first (the next query opens a new one): a
    pooled connection whose session was ended must never be handed out again."""
    connection.close_pool()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@contextmanager
def committed_building(slug: str, name: str) -> Iterator[Building]:
    """A building whose rows are committed, for the tests that need commits (threads, live
    servers, hand-offs after commit); dropped afterwards with the sessions its test opened.
    Call inside ``django_db_blocker.unblock()``."""
    building = create_building(slug=slug, name=name, admin_email=f"admin@{slug}.example").building
    try:
        yield building
    finally:
        connection.set_schema_to_public()
        building.delete(force_drop=True)
        end_other_database_sessions()


def client_for(building: Building, user: User | None = None) -> Client:
    """A browser on the building's domain, signed in as ``user`` when given."""
    client = Client(HTTP_HOST=building_domain(building.schema_name))
    if user is not None:
        client.force_login(user, backend="visit_platform.directory.backends.MembershipBackend")
    return client


def member(building: Building, email: str, role: str, company: Any = None) -> User:
    """A user holding ``role`` in ``building`` (created through the real action)."""
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import grant_membership

    with schema_context(building.schema_name):
        grant = grant_membership(Actor.system("tests"), email=email, role=role, company=company)
    user = User.objects.get(pk=grant.membership.user_id)
    user.set_password(ADMIN_PASSWORD)
    user.save()
    return user


def admin_of(building: Building) -> User:
    return User.objects.get(email=f"admin@{building.schema_name}.example")
