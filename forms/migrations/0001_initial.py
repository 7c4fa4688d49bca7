"""Form definitions and their versions."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('directory', '0002_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FormDefinition',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scenario', models.CharField(choices=[('invite', 'Invitation'), ('request', 'Visit request'), ('walk_in', 'Walk-in with ID'), ('no_id', 'Walk-in without ID'), ('bulk', 'Event attendee')], max_length=16, verbose_name='scenario')),
                ('draft', models.JSONField(blank=True, default=list, verbose_name='draft fields')),
                ('draft_updated_at', models.DateTimeField(blank=True, null=True, verbose_name='draft changed at')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('company', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='form_definitions', to='directory.company', verbose_name='company')),
                ('draft_updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='draft changed by')),
            ],
            options={
                'verbose_name': 'form definition',
                'verbose_name_plural': 'form definitions',
                'ordering': ['scenario', 'company_id'],
            },
        ),
        migrations.CreateModel(
            name='FormVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField(verbose_name='version')),
                ('fields', models.JSONField(verbose_name='fields')),
                ('schema', models.JSONField(verbose_name='JSON Schema')),
                ('restored_from', models.PositiveIntegerField(blank=True, null=True, verbose_name='restored from version')),
                ('published_at', models.DateTimeField(auto_now_add=True, verbose_name='published at')),
                ('definition', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='versions', to='forms.formdefinition', verbose_name='form')),
                ('published_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='published by')),
            ],
            options={
                'verbose_name': 'form version',
                'verbose_name_plural': 'form versions',
                'ordering': ['definition', '-number'],
            },
        ),
        migrations.AddConstraint(
            model_name='formdefinition',
            constraint=models.UniqueConstraint(fields=('scenario', 'company'), name='form_definition_unique', nulls_distinct=False),
        ),
        migrations.AddConstraint(
            model_name='formversion',
            constraint=models.UniqueConstraint(fields=('definition', 'number'), name='form_version_unique'),
        ),
    ]
