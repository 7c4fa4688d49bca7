"""What a release typically does to a busy table: a column with a default and an index on it.
The gate events table is the one gates write to while the release runs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("access", "__latest__")]

    operations = [
        migrations.RunSQL(
            sql=[
                "ALTER TABLE access_accessevent "
                "ADD COLUMN bench_reviewed boolean NOT NULL DEFAULT false",
                "CREATE INDEX access_accessevent_bench_reviewed "
                "ON access_accessevent (bench_reviewed, occurred_at)",
            ],
            reverse_sql=[
                "DROP INDEX access_accessevent_bench_reviewed",
                "ALTER TABLE access_accessevent DROP COLUMN bench_reviewed",
            ],
        )
    ]
