from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("release_probe", "0001_initial")]

    operations = [
        AddIndexConcurrently(
            model_name="marker", index=models.Index(fields=["label"], name="marker_label_idx")
        ),
    ]
