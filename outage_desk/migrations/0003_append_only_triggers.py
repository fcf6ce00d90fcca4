"""PostgreSQL refuses UPDATE and DELETE on the audit events, whoever asks."""

from django.db import migrations

from outage_desk.db.append_only import append_only_protect


class Migration(migrations.Migration):
    dependencies = [("outage_desk", "0002_api_token")]

    operations = [append_only_protect("outage_desk_auditevent")]
