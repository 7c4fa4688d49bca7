from typing import Any

from django.db import migrations, models


def index_attendee_mobiles(apps: Any, schema_editor: Any) -> None:
    """Event attendees were written without the blind index of their mobile (the bulk
    insert skipped what register_visitor writes), so My visits and the event's WeChat page
    could not find them: give them one (the key is read from settings, as at run time)."""
    from kernel.privacy import blind_index

    visitor_model = apps.get_model("visits", "Visitor")
    missing = visitor_model.objects.exclude(mobile="").filter(mobile_index="")
    for visitor in missing.only("pk", "mobile").iterator():
        visitor_model.objects.filter(pk=visitor.pk).update(
            mobile_index=blind_index(visitor.mobile, "visitor.mobile")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0008_wechatlink"),
    ]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="visitor_reminded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="visitor reminded at"),
        ),
        migrations.RunPython(index_attendee_mobiles, migrations.RunPython.noop),
    ]
