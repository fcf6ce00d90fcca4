"""On PostgreSQL, external ids compare byte by byte ("C" collation).

Every imported record adds an entry to the unique (incident, external_id) index,
and each entry is placed by comparing external ids. Under the database's default
collation every comparison goes through the C library's locale rules; under "C"
it is a plain byte comparison, about 10-15% off the load of a million records
(bench/README.md, "Fifth pass"). External ids are identifiers: they are only
looked up whole, never sorted for people, and in UTF-8 byte order is code point
order, which is what the common C.UTF-8 default gives anyway.

Django's model state does not carry the collation (SQLite, the development
default, has no "C" collation), so this runs on PostgreSQL only. A later
migration that changes the column's type would put the default collation back:
re-apply this one's SQL after it.
"""

from django.db import migrations

TABLE = "reconciliation_systemrecord"


def _collate(collation: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f'ALTER TABLE {TABLE} ALTER COLUMN external_id TYPE varchar(140) COLLATE "{collation}"'
        )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0005_runs_outcome_without_db_constraints"),
    ]

    operations = [
        migrations.RunPython(_collate("C"), _collate("default")),
    ]
