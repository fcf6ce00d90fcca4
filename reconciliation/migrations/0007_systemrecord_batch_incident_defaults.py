"""On PostgreSQL, a record's batch and incident default to the importing
transaction's settings.

The first file of an incident is copied by COPY straight into the records table
(``reconciliation.loading._copy_first_file``), which cannot add constant columns
to the file's own; the import sets ``outage_desk.import_batch`` and
``outage_desk.import_incident`` for its transaction (``set_config(..., true)``)
and these defaults fill them in. Every other insert names both columns, and one
that did not, outside an import, fails: the settings do not exist there.

Django's model state does not carry these defaults (SQLite has no settings), so
this runs on PostgreSQL only.
"""

from django.db import migrations

TABLE = "reconciliation_systemrecord"
DEFAULTS = {
    "batch_id": "outage_desk.import_batch",
    "incident_id": "outage_desk.import_incident",
}


def _defaults_set(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column, setting in DEFAULTS.items():
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ALTER COLUMN {column}"
            f" SET DEFAULT current_setting('{setting}')::bigint"
        )


def _defaults_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in DEFAULTS:
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {column} DROP DEFAULT")


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0006_systemrecord_external_id_c_collation"),
    ]

    operations = [
        migrations.RunPython(_defaults_set, _defaults_drop),
    ]
