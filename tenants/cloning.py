"""Copying the template schema into a new building's schema, in a time that does not grow with
the number of buildings (ADR 0041).

django-tenants' ``clone_schema`` reads ``information_schema`` views, which scan the catalog rows
of every schema: at a few hundred buildings one copy takes ten seconds and more. Here the DDL of
the template is generated from its own catalog rows only (``pg_catalog`` filtered by the
template's namespace), once per migration state of the template, tried once and compared with
the template, and kept in process memory. Provisioning a building then sends one script:
schema, functions, sequences, tables (``LIKE`` the template's, with their columns, checks and
indexes), the template's names for what LIKE named, rows, sequence values, foreign keys,
triggers, comments, owners and privileges, in that order.

What the generator does not know how to copy (a materialized view, a partitioned table, a
row-level security policy, a rule...) is refused by name rather than copied wrongly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from tenants.db import tenant_connection

# Stands for the new schema's quoted name in a cached script. PostgreSQL text never holds a
# NUL character, so it cannot collide with anything the catalog returns.
_TARGET = "\x00"
# What ``describe_schema`` writes in place of the described schema's name.
SCHEMA_PLACEHOLDER = "<schema>"
# A schema name the script may be run for: what the slug rules allow (tenants/provisioning.py),
# plus the "_" that test and bench schemas use.
_TARGET_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class TemplateNotClonable(Exception):
    """The template holds an object the cloner does not know how to copy."""


@dataclass(frozen=True)
class CloneScript:
    """The DDL and data copy of one template at one migration state, ready for any name."""

    template: str
    state: tuple[Any, ...]
    statements: tuple[str, ...]

    @cached_property
    def text(self) -> str:
        return ";\n".join(self.statements) + ";\n"

    def for_schema(self, schema: str) -> str:
        """The whole script, to be sent at once, creating ``schema``."""
        if not _TARGET_NAME.match(schema) or schema == self.template:
            raise ValueError(f"{schema!r} cannot name a cloned schema")
        return self.text.replace(_TARGET, f'"{schema}"')


_scripts: dict[str, CloneScript] = {}
_scripts_lock = threading.Lock()


def clone_template(schema: str, template: str | None = None) -> None:
    """Create ``schema`` as a copy of the template (its tables, rows, sequences' values, and
    every other object), inside the caller's transaction: nothing is left if it rolls back."""
    script = clone_script(template)
    text = script.for_schema(schema)
    with connection.cursor() as cursor, tenant_connection().wrap_database_errors:
        # One round trip: with no parameters and prepare=False, psycopg sends the script with
        # the simple query protocol, which runs several statements (the settings make psycopg
        # prepare a statement seen five times, and prepared statements hold only one).
        cursor.cursor.execute(text, prepare=False)


def clone_script(template: str | None = None) -> CloneScript:
    """The script for the template as it is now: from memory while the template's migration
    state is the one it was generated for, generated again otherwise."""
    template = template or settings.TENANT_BASE_SCHEMA
    state = _migration_state(template)
    script = _scripts.get(template)
    if script is not None and script.state == state:
        return script
    with _scripts_lock:
        script = CloneScript(template, state, tuple(generate_clone_script(template)))
        _scripts[template] = script
    return script


def forget_clone_scripts() -> None:
    """Drop every cached script: the template has just been migrated."""
    with _scripts_lock:
        _scripts.clear()


def _migration_state(template: str) -> tuple[Any, ...]:
    """Cheap to read on every provisioning: the applied migrations of the template, and the
    role that will own what the script creates (ownership statements depend on it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(applied), "  # noqa: S608 - quoted identifiers
            "md5(string_agg(app || '.' || name, ',' ORDER BY app, name)), current_user "
            f"FROM {_quote(template)}.django_migrations"
        )
        row = cursor.fetchone()
    return tuple(row)


# --- Generating the script -----------------------------------------------------------------


def generate_clone_script(template: str) -> list[str]:
    """The statements copying ``template``, with ``_TARGET`` where the new schema's name goes.

    Tables are created with ``LIKE ... INCLUDING ALL``, which copies the stored expression
    trees of defaults, generated columns, check constraints and indexes: deparsed and parsed
    again, some do not come back the same (``state IN ('a', 'b')`` on a varchar column turns
    ``(ARRAY[...])::text[]`` into ``ARRAY[(...)::text, ...]``). But LIKE names indexes and
    identity sequences itself, so the script is tried once, in a savepoint that is rolled
    back, to learn those names and rename them to the template's; the trial's schema is then
    compared with the template (``describe_schema``) and any difference refuses the script.
    """
    with _catalog_only(), connection.cursor() as cursor:
        namespace = _namespace(cursor, template)
        _refuse_unknown_objects(cursor, namespace, template)
        generator = _Generator(cursor, namespace, template)
        creation = generator.creation()
        rest = generator.rest()
        renames, differences = _trial(cursor, template, creation, rest)
    if differences:
        raise TemplateNotClonable(
            f"a copy of the template schema {template!r} differs from it (tenants/cloning.py "
            "does not copy these faithfully): " + "; ".join(differences)
        )
    return [*creation, *renames, *rest]


def _trial(
    cursor: Any, template: str, creation: list[str], rest: list[str]
) -> tuple[list[str], list[str]]:
    """Run the script into a trial schema, in a savepoint rolled back at the end: the
    renames that give LIKE's objects the template's names, and how the copy still differs
    from the template (nothing, when the cloner knows every object of the template)."""
    try:
        with transaction.atomic():
            _run(cursor, creation, _TRIAL_SCHEMA)
            renames = _renames(cursor, template, _TRIAL_SCHEMA)
            _run(cursor, renames + rest, _TRIAL_SCHEMA)
            differences = _differences(describe_schema(template), describe_schema(_TRIAL_SCHEMA))
            raise _TrialOver(renames, differences)
    except _TrialOver as over:
        return over.renames, over.differences


# No slug can name it (slugs hold no "_"); two processes trying at once wait for each other.
_TRIAL_SCHEMA = "clone_trial"


class _TrialOver(Exception):
    """Rolls the trial's savepoint back, carrying what the trial learnt."""

    def __init__(self, renames: list[str], differences: list[str]) -> None:
        super().__init__()
        self.renames = renames
        self.differences = differences


def _run(cursor: Any, statements: Sequence[str], schema: str) -> None:
    if statements:
        text = (";\n".join(statements) + ";\n").replace(_TARGET, _quote(schema))
        cursor.cursor.execute(text, prepare=False)


def _renames(cursor: Any, template: str, trial: str) -> list[str]:
    """Indexes (and the constraints they back) and identity sequences back to the template's
    names, matched by table and definition, and by table and column."""
    names: dict[str, dict[tuple[str, ...], list[str]]] = {}
    for schema in (template, trial):
        cursor.execute(
            "SELECT t.relname, pg_get_indexdef(i.indexrelid), c.relname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE c.relnamespace = %s::regnamespace "
            "UNION ALL "
            "SELECT t.relname, 'identity ' || a.attname, s.relname FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
            "AND d.deptype = 'i' AND s.relnamespace = %s::regnamespace "
            "ORDER BY 1, 2, 3",
            [_quote(schema), _quote(schema)],
        )
        found: dict[tuple[str, ...], list[str]] = {}
        qualified = _qualified_by(schema)
        for table, definition, name in cursor.fetchall():
            # The definition without the index's own name and schema.
            shape = qualified.sub(SCHEMA_PLACEHOLDER, definition.replace(f" {_quote(name)} ", " "))
            shape = shape.replace(f" {name} ON ", " ON ", 1)
            found.setdefault((table, shape), []).append(name)
        names[schema] = found
    renames = []
    for key, template_names in names[template].items():
        for wanted, made in zip(template_names, names[trial].get(key, []), strict=False):
            if wanted != made:
                kind = "SEQUENCE" if key[1].startswith("identity ") else "INDEX"
                renames.append(f"ALTER {kind} {_TARGET}.{_quote(made)} RENAME TO {_quote(wanted)}")
    return renames


def _differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Where two ``describe_schema`` results differ, one line each."""
    lines = []
    for section in expected.keys() | found.keys():
        left, right = expected.get(section), found.get(section)
        if left == right:
            continue
        if isinstance(left, dict) and isinstance(right, dict):
            for name in sorted(left.keys() | right.keys()):
                if left.get(name) != right.get(name):
                    lines.append(f"{section} {name}: {left.get(name)!r} != {right.get(name)!r}")
        else:
            lines.append(f"{section}: {left!r} != {right!r}")
    return sorted(lines)


@contextmanager
def _catalog_only() -> Iterator[None]:
    """``search_path`` set to ``pg_catalog`` alone while the catalog is read, so that
    ``pg_get_indexdef`` and the other deparsing functions qualify every name. In a savepoint:
    if reading fails, rolling it back restores the search path too; otherwise it is restored
    here (django-tenants believes it set the path and would not set it again)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_catalog.current_setting('search_path')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)")
        yield
        cursor.execute("SELECT pg_catalog.set_config('search_path', %s, false)", [previous])


def _namespace(cursor: Any, schema: str) -> int:
    cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
    row = cursor.fetchone()
    if row is None:
        raise TemplateNotClonable(f"schema {schema!r} does not exist")
    return int(row[0])


# Each query lists objects in the template (namespace %(ns)s) that the generator would not
# copy, or not copy faithfully, as (kind, name).
_UNKNOWN_OBJECTS = """
SELECT CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'v' THEN 'view'
         WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index'
         WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type'
         ELSE 'relation of kind ' || c.relkind::text END, c.relname::text
  FROM pg_class c WHERE c.relnamespace = %(ns)s AND c.relkind NOT IN ('r', 'S', 'i')
UNION ALL
SELECT 'partition', c.relname::text FROM pg_class c
 WHERE c.relnamespace = %(ns)s AND c.relispartition
UNION ALL
SELECT 'table inheritance', c.relname::text FROM pg_inherits h
  JOIN pg_class c ON c.oid = h.inhrelid WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'row-level security', c.relname::text FROM pg_class c
 WHERE c.relnamespace = %(ns)s AND (c.relrowsecurity OR c.relforcerowsecurity)
UNION ALL
SELECT 'row-level security policy', p.polname || ' on ' || c.relname FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'rule', r.rulename || ' on ' || c.relname FROM pg_rewrite r
  JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'extension object', pg_describe_object(d.classid, d.objid, d.objsubid)
  FROM pg_depend d WHERE d.deptype = 'e' AND (
       (d.classid = 'pg_class'::regclass
        AND d.objid IN (SELECT oid FROM pg_class WHERE relnamespace = %(ns)s))
    OR (d.classid = 'pg_proc'::regclass
        AND d.objid IN (SELECT oid FROM pg_proc WHERE pronamespace = %(ns)s))
    OR (d.classid = 'pg_type'::regclass
        AND d.objid IN (SELECT oid FROM pg_type WHERE typnamespace = %(ns)s)))
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain'
         WHEN 'r' THEN 'range type' WHEN 'm' THEN 'multirange type' ELSE 'type' END,
       t.typname::text
  FROM pg_type t WHERE t.typnamespace = %(ns)s AND t.typrelid = 0
   AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0
                   AND e.typnamespace = %(ns)s AND e.typarray = t.oid)
UNION ALL
SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function'
         ELSE 'routine' END, p.proname::text
  FROM pg_proc p WHERE p.pronamespace = %(ns)s AND p.prokind NOT IN ('f', 'p')
UNION ALL
SELECT 'operator', oprname::text FROM pg_operator WHERE oprnamespace = %(ns)s
UNION ALL
SELECT 'operator class', opcname::text FROM pg_opclass WHERE opcnamespace = %(ns)s
UNION ALL
SELECT 'operator family', opfname::text FROM pg_opfamily WHERE opfnamespace = %(ns)s
UNION ALL
SELECT 'collation', collname::text FROM pg_collation WHERE collnamespace = %(ns)s
UNION ALL
SELECT 'conversion', conname::text FROM pg_conversion WHERE connamespace = %(ns)s
UNION ALL
SELECT 'text search configuration', cfgname::text FROM pg_ts_config
 WHERE cfgnamespace = %(ns)s
UNION ALL
SELECT 'text search dictionary', dictname::text FROM pg_ts_dict WHERE dictnamespace = %(ns)s
UNION ALL
SELECT 'text search parser', prsname::text FROM pg_ts_parser WHERE prsnamespace = %(ns)s
UNION ALL
SELECT 'text search template', tmplname::text FROM pg_ts_template
 WHERE tmplnamespace = %(ns)s
UNION ALL
SELECT 'extended statistics', stxname::text FROM pg_statistic_ext
 WHERE stxnamespace = %(ns)s
UNION ALL
SELECT 'default privileges', pg_get_userbyid(defaclrole)::text FROM pg_default_acl
 WHERE defaclnamespace = %(ns)s
UNION ALL
SELECT 'publication', p.pubname::text FROM pg_publication_namespace pn
  JOIN pg_publication p ON p.oid = pn.pnpubid WHERE pn.pnnspid = %(ns)s
UNION ALL
SELECT 'publication', p.pubname || ' of ' || c.relname FROM pg_publication_rel pr
  JOIN pg_publication p ON p.oid = pr.prpubid
  JOIN pg_class c ON c.oid = pr.prrelid WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'trigger not plainly enabled', t.tgname || ' on ' || c.relname FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal AND t.tgenabled <> 'O'
UNION ALL
SELECT 'table in a tablespace', c.relname::text FROM pg_class c
 WHERE c.relnamespace = %(ns)s AND c.reltablespace <> 0
UNION ALL
SELECT 'replica identity', c.relname::text FROM pg_class c
 WHERE c.relnamespace = %(ns)s AND c.relkind = 'r' AND c.relreplident <> 'd'
UNION ALL
SELECT 'clustered or invalid index', c.relname::text FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = %(ns)s AND (i.indisclustered OR NOT i.indisvalid)
UNION ALL
-- This machine's PostgreSQL stamps every new column with a ``pg_attver`` option of its own (not
-- an upstream option): the server stamps the columns of the copy too, so it is not copied.
SELECT 'column storage, statistics, compression, options or privileges',
       c.relname || '.' || a.attname
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
 WHERE c.relnamespace = %(ns)s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
   AND (a.attstattarget >= 0 OR a.attcompression <> ''
        OR EXISTS (SELECT 1 FROM unnest(a.attoptions) o WHERE left(o, 10) <> 'pg_attver=')
        OR a.attfdwoptions IS NOT NULL OR a.attacl IS NOT NULL
        OR a.attstorage <> t.typstorage)
ORDER BY 1, 2
"""


def _refuse_unknown_objects(cursor: Any, namespace: int, template: str) -> None:
    cursor.execute(_UNKNOWN_OBJECTS, {"ns": namespace})
    unknown = cursor.fetchall()
    if unknown:
        listed = "; ".join(f"{kind} {name}" for kind, name in unknown)
        raise TemplateNotClonable(
            f"the template schema {template!r} holds objects the cloner does not copy "
            f"(tenants/cloning.py): {listed}. Teach the cloner these, or keep them out of the "
            "template."
        )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# The template's name where a deparsing function qualified a name with it: a plain or quoted
# identifier followed by "." (and not the tail of a longer identifier).
def _qualified_by(template: str) -> re.Pattern[str]:
    escaped = re.escape(template)
    return re.compile(rf'(?<![\w$"])(?:"{escaped}"|{escaped})(?=\.)')


class _Generator:
    """Reads the template's catalog rows and writes the clone script, in dependency order."""

    def __init__(self, cursor: Any, namespace: int, template: str) -> None:
        self.cursor = cursor
        self.namespace = namespace
        self.template = template
        self.source = _quote(template)
        self.qualified = _qualified_by(template)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        self.cursor.execute(query, {"ns": self.namespace})
        return list(self.cursor.fetchall())

    def retarget(self, definition: str | None) -> str:
        """A deparsed definition with the template's name replaced by the new schema's;
        None stands for the schema itself."""
        if definition is None:
            return _TARGET
        return self.qualified.sub(_TARGET, definition)

    def creation(self) -> list[str]:
        """The schema, its functions and sequences, and its tables made LIKE the template's
        (columns, defaults, identity, check constraints, indexes), under names LIKE chose."""
        return [*self.schema(), *self.functions(), *self.sequences(), *self.tables()]

    def rest(self) -> list[str]:
        """What comes after the names are the template's."""
        return [
            *self.rows_copied(),
            *self.sequence_values(),
            *self.foreign_keys(),
            *self.sequences_owned_by(),
            *self.triggers(),
            *self.comments(),
            *self.owners(),
            *self.privileges(),
        ]

    # The schema itself: created by the role that provisions; its owner and privileges later.
    def schema(self) -> list[str]:
        return [f"CREATE SCHEMA {_TARGET}"]

    def functions(self) -> list[str]:
        return [
            self.retarget(definition)
            for (definition,) in self.rows(
                "SELECT pg_get_functiondef(p.oid) FROM pg_proc p "
                "WHERE p.pronamespace = %(ns)s ORDER BY p.oid"
            )
        ]

    def sequences(self) -> list[str]:
        """Sequences that are not an identity column's (those come with their column)."""
        statements = []
        for name, options in self.rows(
            f"SELECT c.relname, {_SEQUENCE_OPTIONS} FROM pg_class c "  # noqa: S608 - quoted identifiers
            "JOIN pg_sequence s ON s.seqrelid = c.oid "
            "WHERE c.relnamespace = %(ns)s AND c.relkind = 'S' AND NOT EXISTS "
            "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
            "AND d.objid = c.oid AND d.deptype = 'i') ORDER BY c.relname"
        ):
            statements.append(f"CREATE SEQUENCE {_TARGET}.{_quote(name)} {options}")
        return statements

    def tables(self) -> list[str]:
        """Each table as a copy of the template's: columns (type, collation, NOT NULL,
        default, identity, generated expression, storage, compression), check constraints,
        primary keys, unique and exclusion constraints, indexes, and their comments."""
        return [
            f"CREATE {'UNLOGGED ' if persistence == 'u' else ''}TABLE {_TARGET}.{_quote(table)} "
            f"(LIKE {self.source}.{_quote(table)} INCLUDING ALL)"
            + (f" WITH ({options})" if options else "")
            for table, persistence, options in self.rows(
                "SELECT relname, relpersistence, array_to_string(reloptions, ', ') "
                "FROM pg_class WHERE relnamespace = %(ns)s AND relkind = 'r' ORDER BY relname"
            )
        ]

    def rows_copied(self) -> list[str]:
        """Every row of the template (the applied migrations, whatever data migrations
        seeded): the template holds no building's data, so this is what every building
        starts with. Copied before foreign keys and triggers exist, so nothing fires."""
        statements = []
        for table, columns in self.rows(
            "SELECT c.relname, array_agg(quote_ident(a.attname) ORDER BY a.attnum) "
            "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.relnamespace = %(ns)s AND c.relkind = 'r' AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.attgenerated = '' GROUP BY c.relname ORDER BY 1"
        ):
            listed = ", ".join(columns)
            statements.append(
                f"INSERT INTO {_TARGET}.{_quote(table)} ({listed}) OVERRIDING SYSTEM VALUE "  # noqa: S608 - quoted identifiers
                f"SELECT {listed} FROM {self.source}.{_quote(table)}"
            )
        return statements

    def sequence_values(self) -> list[str]:
        """Each sequence where the template's stands, read when the script runs."""
        return [
            f"SELECT pg_catalog.setval({_literal(_TARGET + '.' + _quote(name))}, "  # noqa: S608 - quoted identifiers
            f"last_value, is_called) FROM {self.source}.{_quote(name)}"
            for (name,) in self.rows(
                "SELECT relname FROM pg_class WHERE relnamespace = %(ns)s AND relkind = 'S' "
                "ORDER BY relname"
            )
        ]

    def foreign_keys(self) -> list[str]:
        """Foreign keys (LIKE copies none), deparsed with their DEFERRABLE clauses and their
        references to shared (public) tables qualified; one ALTER TABLE a table (each is a
        pass over the table, its locks and its cache invalidations)."""
        clauses: dict[str, list[str]] = {}
        for table, name, definition in self.rows(
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid "
            "WHERE c.relnamespace = %(ns)s AND k.contype = 'f' ORDER BY c.relname, k.conname"
        ):
            clauses.setdefault(table, []).append(
                f"ADD CONSTRAINT {_quote(name)} {self.retarget(definition)}"
            )
        return [
            f"ALTER TABLE {_TARGET}.{_quote(table)} {', '.join(added)}"
            for table, added in clauses.items()
        ]

    def sequences_owned_by(self) -> list[str]:
        """A serial-style sequence belongs to its column (dropped with it)."""
        return [
            f"ALTER SEQUENCE {_TARGET}.{_quote(sequence)} OWNED BY "
            f"{_TARGET}.{_quote(table)}.{_quote(column)}"
            for sequence, table, column in self.rows(
                "SELECT s.relname, t.relname, a.attname FROM pg_depend d "
                "JOIN pg_class s ON s.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                "AND d.deptype = 'a' AND s.relkind = 'S' AND s.relnamespace = %(ns)s "
                "ORDER BY s.relname"
            )
        ]

    def triggers(self) -> list[str]:
        return [
            self.retarget(definition)
            for (definition,) in self.rows(
                "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname"
            )
        ]

    def comments(self) -> list[str]:
        return [
            f"COMMENT ON {kind} {self.retarget(target)} IS {_literal(text)}"
            for kind, target, text in self.rows(_COMMENTS)
        ]

    def owners(self) -> list[str]:
        """Objects the template's owner differs on from the role running the script."""
        return [
            f"ALTER {kind} {self.retarget(target)} OWNER TO {_quote(owner)}"
            for kind, target, owner in self.rows(_OWNERS)
        ]

    def privileges(self) -> list[str]:
        """Objects with explicit privileges: all revoked, then the template's granted."""
        statements = []
        for kind, target, owner, grants in self.rows(_PRIVILEGES):
            target = self.retarget(target)
            statements.append(f"REVOKE ALL ON {kind} {target} FROM PUBLIC, {_quote(owner)}")
            for grantee, privilege, grantable in grants:
                statements.append(
                    f"GRANT {privilege} ON {kind} {target} TO "
                    f"{'PUBLIC' if grantee is None else _quote(grantee)}"
                    f"{' WITH GRANT OPTION' if grantable == 'true' else ''}"
                )
        return statements


# A sequence's options as CREATE SEQUENCE spells them.
_SEQUENCE_OPTIONS = (
    "concat_ws(' ', 'AS ' || format_type(s.seqtypid, NULL), 'INCREMENT BY ' || s.seqincrement, "
    "'MINVALUE ' || s.seqmin, 'MAXVALUE ' || s.seqmax, 'START WITH ' || s.seqstart, "
    "'CACHE ' || s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)"
)

# "KIND qualified-name" of every commented object, deparsed with the template's name.
_COMMENTS = """
SELECT 'SCHEMA', NULL, d.description
  FROM pg_description d JOIN pg_namespace n ON n.oid = d.objoid
 WHERE d.classoid = 'pg_namespace'::regclass AND n.oid = %(ns)s
UNION ALL
SELECT CASE WHEN d.objsubid <> 0 THEN 'COLUMN' ELSE CASE c.relkind WHEN 'S' THEN 'SEQUENCE'
       WHEN 'i' THEN 'INDEX' ELSE 'TABLE' END END,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname)
       || CASE WHEN d.objsubid <> 0 THEN '.' || quote_ident(a.attname) ELSE '' END,
       d.description
  FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
 WHERE d.classoid = 'pg_class'::regclass AND c.relnamespace = %(ns)s
UNION ALL
SELECT 'CONSTRAINT', quote_ident(k.conname) || ' ON ' || quote_ident(n.nspname) || '.'
       || quote_ident(c.relname), d.description
  FROM pg_description d JOIN pg_constraint k ON k.oid = d.objoid
  JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classoid = 'pg_constraint'::regclass AND c.relnamespace = %(ns)s
UNION ALL
SELECT 'TRIGGER', quote_ident(t.tgname) || ' ON ' || quote_ident(n.nspname) || '.'
       || quote_ident(c.relname), d.description
  FROM pg_description d JOIN pg_trigger t ON t.oid = d.objoid
  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classoid = 'pg_trigger'::regclass AND c.relnamespace = %(ns)s
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
       p.oid::regprocedure::text, d.description
  FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid
 WHERE d.classoid = 'pg_proc'::regclass AND p.pronamespace = %(ns)s
ORDER BY 1, 2
"""

# Owners that differ from the role running the script (it owns what it creates).
_OWNERS = """
SELECT 'SCHEMA', NULL, pg_get_userbyid(nspowner)::text
  FROM pg_namespace WHERE oid = %(ns)s AND nspowner <> (SELECT oid FROM pg_roles
                                                         WHERE rolname = current_user)
UNION ALL
SELECT CASE relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_userbyid(c.relowner)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relnamespace = %(ns)s AND c.relkind IN ('r', 'S')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT CASE prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
       p.oid::regprocedure::text, pg_get_userbyid(p.proowner)
  FROM pg_proc p WHERE p.pronamespace = %(ns)s
   AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
ORDER BY 1, 2
"""

# Explicit privileges (a null ACL means the defaults, which a new object has already).
_PRIVILEGES = """
SELECT kind, target, owner,
       (SELECT array_agg(ARRAY[CASE WHEN x.grantee <> 0 THEN pg_get_userbyid(x.grantee)::text END,
                               x.privilege_type,
                               x.is_grantable::text] ORDER BY x.grantee, x.privilege_type)
          FROM aclexplode(acl) x)
  FROM (
    SELECT 'SCHEMA' AS kind, NULL AS target,
           pg_get_userbyid(nspowner)::text AS owner, nspacl AS acl
      FROM pg_namespace WHERE oid = %(ns)s
    UNION ALL
    SELECT CASE relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
           quote_ident(n.nspname) || '.' || quote_ident(c.relname),
           pg_get_userbyid(c.relowner), c.relacl
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relnamespace = %(ns)s AND c.relkind IN ('r', 'S')
    UNION ALL
    SELECT CASE prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
           p.oid::regprocedure::text, pg_get_userbyid(p.proowner), p.proacl
      FROM pg_proc p WHERE p.pronamespace = %(ns)s
  ) objects
 WHERE acl IS NOT NULL
 ORDER BY 1, 2
"""


# --- Describing a schema -------------------------------------------------------------------


def describe_schema(schema: str) -> dict[str, Any]:
    """Everything the clone must reproduce of ``schema``, read from its catalog rows and
    normalized (its own name replaced by ``SCHEMA_PLACEHOLDER``, objects keyed by name), so
    that two buildings' schemas compare equal when, and only when, they are built alike."""
    with _catalog_only(), connection.cursor() as cursor:
        namespace = _namespace(cursor, schema)
        qualified = _qualified_by(schema)

        def rows(query: str) -> list[tuple[Any, ...]]:
            cursor.execute(query, {"ns": namespace})
            return [
                tuple(
                    qualified.sub(SCHEMA_PLACEHOLDER, value) if isinstance(value, str) else value
                    for value in row
                )
                for row in cursor.fetchall()
            ]

        return {
            "schema": [
                dict(zip(("owner", "acl", "comment"), row, strict=True))
                for row in rows(
                    "SELECT pg_get_userbyid(nspowner)::text, nspacl::text[], "
                    "obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE oid = %(ns)s"
                )
            ],
            "tables": _keyed(
                rows(
                    "SELECT c.relname, pg_get_userbyid(c.relowner)::text, "
                    "(SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x), "
                    "c.relpersistence, c.reloptions, obj_description(c.oid, 'pg_class') "
                    "FROM pg_class c WHERE c.relnamespace = %(ns)s AND c.relkind = 'r'"
                ),
                ("owner", "acl", "persistence", "options", "comment"),
            ),
            "columns": _keyed(
                rows(
                    "SELECT c.relname || '.' || a.attname, "
                    "row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), "
                    "format_type(a.atttypid, a.atttypmod), "
                    "CASE WHEN a.attcollation <> 0 THEN a.attcollation::regcollation::text END, "
                    "a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, "
                    "a.attgenerated, col_description(c.oid, a.attnum) "
                    "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                    "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
                    "WHERE c.relnamespace = %(ns)s AND c.relkind = 'r' AND a.attnum > 0 "
                    "AND NOT a.attisdropped"
                ),
                (
                    "position",
                    "type",
                    "collation",
                    "not_null",
                    "default",
                    "identity",
                    "generated",
                    "comment",
                ),
            ),
            "sequences": _keyed(
                rows(
                    "SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, "
                    "s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, "
                    "(SELECT d.deptype::text || ':' || t.relname || '.' || a.attname "
                    " FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid "
                    " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                    " WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
                    " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')), "
                    "pg_sequence_last_value(c.oid), pg_get_userbyid(c.relowner)::text, "
                    "(SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x), "
                    "obj_description(c.oid, 'pg_class') "
                    "FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid "
                    "WHERE c.relnamespace = %(ns)s"
                ),
                (
                    "type",
                    "start",
                    "increment",
                    "min",
                    "max",
                    "cache",
                    "cycle",
                    "owned_by",
                    "last_value",
                    "owner",
                    "acl",
                    "comment",
                ),
            ),
            "indexes": _keyed(
                rows(
                    "SELECT c.relname, pg_get_indexdef(c.oid), obj_description(c.oid, 'pg_class') "
                    "FROM pg_class c WHERE c.relnamespace = %(ns)s AND c.relkind = 'i'"
                ),
                ("definition", "comment"),
            ),
            "constraints": _keyed(
                rows(
                    "SELECT coalesce(c.relname, '') || '.' || k.conname, k.contype, "
                    "pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred, "
                    "k.convalidated, i.relname, obj_description(k.oid, 'pg_constraint') "
                    "FROM pg_constraint k LEFT JOIN pg_class c ON c.oid = k.conrelid "
                    "LEFT JOIN pg_class i ON i.oid = k.conindid AND k.contype <> 'f' "
                    "WHERE k.connamespace = %(ns)s"
                ),
                ("kind", "definition", "deferrable", "deferred", "validated", "index", "comment"),
            ),
            "triggers": _keyed(
                rows(
                    "SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), "
                    "t.tgenabled::text, obj_description(t.oid, 'pg_trigger') "
                    "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal"
                ),
                ("definition", "enabled", "comment"),
            ),
            "functions": _keyed(
                rows(
                    "SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), "
                    "pg_get_userbyid(p.proowner)::text, "
                    "(SELECT array_agg(x::text ORDER BY x::text) FROM unnest(p.proacl) x), "
                    "obj_description(p.oid, 'pg_proc') "
                    "FROM pg_proc p WHERE p.pronamespace = %(ns)s"
                ),
                ("definition", "owner", "acl", "comment"),
            ),
            "other_relations": sorted(
                rows(
                    "SELECT c.relname, c.relkind::text FROM pg_class c "
                    "WHERE c.relnamespace = %(ns)s AND c.relkind NOT IN ('r', 'S', 'i')"
                )
            ),
        }


def _keyed(rows: Sequence[tuple[Any, ...]], fields: tuple[str, ...]) -> dict[str, Any]:
    return {row[0]: dict(zip(fields, row[1:], strict=True)) for row in sorted(rows)}
