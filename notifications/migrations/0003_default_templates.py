"""Load the shipped default templates (English and Simplified Chinese), approved."""

from django.db import migrations


def load_defaults(apps, schema_editor):
    from notifications.services import templates_load_defaults

    templates_load_defaults(
        template_model=apps.get_model("notifications", "NoticeTemplate"),
        version_model=apps.get_model("notifications", "NoticeTemplateVersion"),
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_templates_outbox_delivery")]

    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
