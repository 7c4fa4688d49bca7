"""viewflow's tables point at users and content types, which live in the shared schema: drop
those foreign keys' database constraints, as ours have none (ADR 0044). Each puts two triggers
per building on the shared table. Found in the catalog, not by name, and only for the schema
being migrated; Django's state is unchanged (viewflow's fields keep ``db_constraint=True``
there), and a constraint no longer there is simply not found if a later viewflow migration
alters the field."""

from django.db import migrations

DROP_KEYS_INTO_SHARED_TABLES = """
DO $$
DECLARE
    key record;
BEGIN
    FOR key IN
        SELECT c.conrelid::regclass AS on_table, c.conname
          FROM pg_constraint c
          JOIN pg_class target ON target.oid = c.confrelid
         WHERE c.contype = 'f'
           AND c.connamespace = current_schema()::regnamespace
           AND target.relnamespace <> c.connamespace
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', key.on_table, key.conname);
    END LOOP;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0008_user_keys_without_constraint"),
        ("viewflow", "__latest__"),
    ]

    operations = [migrations.RunSQL(DROP_KEYS_INTO_SHARED_TABLES, migrations.RunSQL.noop)]
