"""PostgreSQL only: a trigger that keeps deposits immutable, and trigram search indexes.

The trigger is the last line of defence behind the services: whatever code runs,
a deposit's money fields never change and no deposit row is ever deleted.
On SQLite both steps do nothing.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

GUARD_SQL = """
CREATE OR REPLACE FUNCTION deposits_deposit_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'deposits are never deleted (deposit %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.amount IS DISTINCT FROM OLD.amount
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.account IS DISTINCT FROM OLD.account
       OR NEW.client_uuid IS DISTINCT FROM OLD.client_uuid
       OR NEW.branch_id IS DISTINCT FROM OLD.branch_id
       OR NEW.receipt_number IS DISTINCT FROM OLD.receipt_number THEN
        RAISE EXCEPTION 'a deposit''s amount, currency, account, uuid, branch and receipt never change (deposit %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER deposits_deposit_guard
    BEFORE UPDATE OR DELETE ON deposits_deposit
    FOR EACH ROW EXECUTE FUNCTION deposits_deposit_guard();
"""
UNGUARD_SQL = """
DROP TRIGGER IF EXISTS deposits_deposit_guard ON deposits_deposit;
DROP FUNCTION IF EXISTS deposits_deposit_guard();
"""
# Django's icontains is UPPER(col::text) LIKE UPPER('%q%'); these indexes serve it.
SEARCH_SQL = """
CREATE INDEX IF NOT EXISTS deposits_customer_name_trgm
    ON deposits_customer USING gin (UPPER(name::text) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS deposits_customer_account_trgm
    ON deposits_customer USING gin (UPPER(account::text) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS deposits_customer_phone_trgm
    ON deposits_customer USING gin (UPPER(phone::text) gin_trgm_ops);
"""
UNSEARCH_SQL = """
DROP INDEX IF EXISTS deposits_customer_name_trgm;
DROP INDEX IF EXISTS deposits_customer_account_trgm;
DROP INDEX IF EXISTS deposits_customer_phone_trgm;
"""


def _postgres_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("deposits", "0003_approvals_conflicts_reversals_evidence"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(_postgres_only(GUARD_SQL), _postgres_only(UNGUARD_SQL)),
        migrations.RunPython(
            _postgres_only(SEARCH_SQL), _postgres_only(UNSEARCH_SQL)
        ),
    ]
