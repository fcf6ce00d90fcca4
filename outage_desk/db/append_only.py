"""Append-only tables: PostgreSQL triggers that refuse UPDATE and DELETE, and helpers.

Apps protect a table with `append_only_protect("<table>")` in one of their migrations.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, migrations, transaction

FUNCTION = """
CREATE OR REPLACE FUNCTION outage_desk_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def append_only_protect(table: str) -> migrations.RunPython:
    """A migration operation adding the refuse-change trigger to ``table`` on PostgreSQL."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION outage_desk_refuse_change()"
        )

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
            )

    return migrations.RunPython(forwards, backwards)


def append_only_triggers_present(table: str) -> bool:
    """Whether PostgreSQL has the refuse-change trigger on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal",
            [f"{table}_append_only"],
        )
        return cursor.fetchone() is not None


@contextmanager
def bypass_append_only() -> Iterator[None]:
    """For tests that play a database administrator tampering with rows.

    Replica mode skips ordinary triggers; it needs superuser rights, which the
    application's own role does not have in production.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        yield
