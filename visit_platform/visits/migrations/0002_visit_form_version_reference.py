"""Visits point at the form version they were filled in with, and remember the submission id."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('forms', '0001_initial'),
        ('visits', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='visit',
            name='submission_id',
            field=models.UUIDField(blank=True, editable=False, null=True, unique=True),
        ),
        # The old column held a bare version number that named no form; no visit was ever
        # given one, so it is replaced rather than converted.
        migrations.RemoveField(model_name='visit', name='form_version'),
        migrations.AddField(
            model_name='visit',
            name='form_version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='visits', to='forms.formversion', verbose_name='form version'),
        ),
    ]
