import os
from typing import Any

from django.db import migrations, models


def fail_in_the_chosen_building(apps: Any, schema_editor: Any) -> None:
    """Fails after the column and its index exist, so only a rollback can remove them."""
    schema = schema_editor.connection.schema_name
    if schema == os.environ.get("RELEASE_PROBE_FAIL_SCHEMA"):
        raise RuntimeError(f"release probe refuses building {schema}")


class Migration(migrations.Migration):
    dependencies = [("release_probe", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="marker",
            name="rank",
            field=models.IntegerField(default=7, db_index=True),
        ),
        migrations.RunPython(fail_in_the_chosen_building, migrations.RunPython.noop),
    ]
