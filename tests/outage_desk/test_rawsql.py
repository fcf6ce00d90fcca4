"""Hand-written hot-path SQL: prepared once per connection, rows as model instances."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework import serializers

from deposits.api.serializers import DepositCreateSerializer, DepositSerializer
from deposits.models import Branch
from outage_desk import rawsql
from outage_desk.api.serializers import FieldsBuiltOnceMixin
from tests.deposits.factories import DepositFactory

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)
SQL = "SELECT code, name FROM deposits_branch WHERE code = %s"


def prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def run(code: str) -> object:
    with connection.cursor() as cursor:
        rawsql.execute(cursor, [(SQL, [code])])
        return cursor.fetchone()


@on_postgresql
def test_a_statement_is_prepared_once_and_run_by_name(branch, other_branch):
    before = prepared_names()

    assert run(branch.code) == (branch.code, branch.name)
    after_first = prepared_names()
    assert run(other_branch.code) == (other_branch.code, other_branch.name)

    assert len(after_first - before) == 1
    assert prepared_names() == after_first


@on_postgresql
def test_a_failed_round_trip_is_recovered_from_on_the_next_one(branch):
    run(branch.code)
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            rawsql.execute(cursor, [(SQL, [branch.code]), ("SELECT 1 / %s", [0])])

    assert run(branch.code) == (branch.code, branch.name)  # asked again, not re-made


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(branch):
    run(branch.code)
    connection.close()

    assert run(branch.code) == (branch.code, branch.name)


def test_rows_read_into_model_instances(branch):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rawsql.select_list(Branch, 'b')} FROM deposits_branch b"  # noqa: S608
            " WHERE b.id = %s",
            [branch.pk],
        )
        row = cursor.fetchone()

    found, end = rawsql.row_instance(Branch, row)
    assert (found, found.code, found.currency, end) == (branch, "HQ", "GBP", len(row))
    assert found._state.adding is False
    missing, _end = rawsql.row_instance(Branch, [None] * len(row))
    assert missing is None


class Built(FieldsBuiltOnceMixin, serializers.Serializer):
    amount = serializers.DecimalField(max_digits=9, decimal_places=2)
    when = serializers.DateTimeField()


def test_fields_built_once_are_bound_to_each_instance_alone(db):
    good = Built(data={"amount": "1.50", "when": "2026-11-22T09:00:00Z"})
    bad = Built(data={"amount": "x", "when": "soon"})

    assert good.is_valid() and not bad.is_valid()
    assert good.validated_data["amount"] == Decimal("1.50")
    assert set(bad.errors) == {"amount", "when"}
    assert good.fields["amount"].parent is good
    assert bad.fields["amount"].parent is bad
    assert good.fields["amount"] is not bad.fields["amount"]


def test_the_deposit_serializers_answer_as_before(db):
    first = DepositFactory(amount=Decimal("12.30"), currency="GBP")
    second = DepositFactory(amount=Decimal("7"), currency="JPY")

    shown = [DepositSerializer(d).data for d in (first, second)]

    assert [(s["id"], s["amount"]) for s in shown] == [
        (first.pk, "12.30"),
        (second.pk, "7"),
    ]
    assert shown[0]["receipt_number"] == first.receipt_number
    assert DepositCreateSerializer(data={}).is_valid() is False
    created = DepositCreateSerializer(
        data={
            "client_uuid": "c0ffee00-0000-4000-8000-000000000001",
            "incident": "INC-2026-0001",
            "channel": "cash",
            "account": "GB1",
            "payer_name": "Pat",
            "amount": "1.00",
            "currency": "GBP",
            "received_at": dt.datetime(2026, 11, 22, tzinfo=dt.UTC).isoformat(),
        }
    )
    assert created.is_valid(), created.errors


@on_postgresql
def test_insert_json_is_what_the_orm_writes_read_back_by_postgresql(db, monkeypatch):
    # given: rows of every model the one-call capture writes, with every kind of
    # value; the clock stands still (auto_now_add sets the time on each read)
    at = dt.datetime(2026, 11, 23, 4, 5, 6, 789012, tzinfo=dt.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: at)
    from notifications.models import Notice
    from outage_desk.audit import audit_event_build
    from outage_desk.idempotency import idempotency_record_for

    deposit = DepositFactory(note='ünïcode "quoted" \\ back', amount=Decimal("10.5"))
    objects = [
        (deposit, True),
        (
            Notice(
                kind="deposit_received",
                channel="email",
                recipient="a@example.com",
                dedupe_key="k",
                context={"n": 1, "t": "ü"},
                subject_refs=["deposit:1"],
            ),
            False,
        ),
        (audit_event_build(action="x", obj=deposit, data={"a": "1"}), False),
        (
            idempotency_record_for(
                user=deposit.recorded_by,
                key="k",
                method="POST",
                path="/p/",
                request_hash="h",
                status=201,
                body={"id": 1},
            ),
            False,
        ),
    ]
    for obj, with_pk in objects:
        model = type(obj)
        # then: the same values as insert_params, and PostgreSQL reads them back
        # into the same column values as the ORM's parameters give
        params = rawsql.insert_params(obj, with_pk=with_pk)
        fields = rawsql.insert_fields(model, with_pk=with_pk)
        row = rawsql.insert_json(obj, with_pk=with_pk)
        assert row == {
            f.column: rawsql.json_value(p) for f, p in zip(fields, params, strict=True)
        }
        columns = ", ".join(f'"{f.column}"' for f in fields)
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT ROW({columns})::text FROM jsonb_populate_record("  # noqa: S608
                f"NULL::{table}, %s::jsonb)",
                [json.dumps(row)],
            )
            (from_json,) = cursor.fetchone()
            marks = ", ".join(
                f"%s::{t}" for t in column_types(table, [f.column for f in fields])
            )
            cursor.execute(f"SELECT ROW({marks})::text", params)
            (from_params,) = cursor.fetchone()
        assert from_json == from_params, model


def column_types(table: str, columns: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0",
            [table],
        )
        types = dict(cursor.fetchall())
    return [types[c] for c in columns]
