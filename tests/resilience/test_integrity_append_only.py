"""Deposits and audit events are append-only: the ORM, a plain database role and the schema."""

import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from deposits.models import ERROR_DEPOSIT_FIELDS_FIXED, Deposit
from deposits.services import (
    deposit_approve,
    deposit_reversal_approve,
    deposit_reversal_request,
)
from outage_desk.db.append_only import append_only_triggers_present
from outage_desk.models import ERROR_APPEND_ONLY, AuditEvent
from tests.security_support import branch_world, capture, open_incident

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="triggers and roles are PostgreSQL's"
)


@pytest.fixture
def world(db):
    return branch_world("HQ")


@pytest.fixture
def deposit(world):
    return capture(world=world, incident=open_incident(), amount=Decimal("125.50"))


def test_the_orm_refuses_to_change_a_deposits_fields(deposit):
    for field, value in [
        ("amount", Decimal("1.00")),
        ("currency", "EUR"),
        ("account", "GB99999999"),
        ("payer_name", "Someone Else"),
        ("received_at", deposit.received_at),
        ("recorded_by", deposit.recorded_by),
    ]:
        with pytest.raises(PermissionError, match="refused: " + field):
            Deposit.objects.filter(pk=deposit.pk).update(**{field: value})

    assert Deposit.objects.get().amount == Decimal("125.50")
    assert "%(fields)s" in ERROR_DEPOSIT_FIELDS_FIXED


def test_the_orm_refuses_save_delete_and_bulk_update_of_a_deposit(deposit):
    message = ERROR_APPEND_ONLY % "Deposit"
    deposit.amount = Decimal("1.00")

    with pytest.raises(PermissionError, match=message):
        deposit.save()
    with pytest.raises(PermissionError, match=message):
        deposit.delete()
    with pytest.raises(PermissionError, match=message):
        Deposit.objects.filter(pk=deposit.pk).delete()
    with pytest.raises(PermissionError, match=message):
        Deposit.objects.bulk_update([deposit], ["amount"])

    assert Deposit.objects.get().amount == Decimal("125.50")


def test_status_transitions_still_go_through_the_services(world):
    incident = open_incident()
    big = capture(world=world, incident=incident, amount=Decimal("5000.00"))
    assert big.status == Deposit.Status.PENDING_APPROVAL

    deposit_approve(deposit=big, approved_by=world.supervisor)
    reversal = deposit_reversal_request(
        deposit=big, requested_by=world.clerk2, reason="Keyed twice"
    )
    deposit_reversal_approve(reversal=reversal, approved_by=world.supervisor2)

    big.refresh_from_db()
    assert (big.status, big.approved_by, big.amount) == (
        Deposit.Status.REVERSED,
        world.supervisor,
        Decimal("5000.00"),
    )


@pytest.fixture
def app_role(db):
    """A plain role with the grants the application needs; rolled back with the test."""
    name = f"od_app_{uuid.uuid4().hex[:12]}"
    tables = ["deposits_deposit", "outage_desk_auditevent"]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOLOGIN NOSUPERUSER")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(tables)} TO {name}"
        )
    return name


def _as_role(role: str, sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(sql, params)


@postgres_only
def test_the_application_role_cannot_update_or_delete_deposits(deposit, app_role):
    refused = [
        "UPDATE deposits_deposit SET amount = 1 WHERE id = %s",
        "UPDATE deposits_deposit SET currency = 'EUR' WHERE id = %s",
        "UPDATE deposits_deposit SET account = 'X' WHERE id = %s",
        "UPDATE deposits_deposit SET receipt_number = 'X' WHERE id = %s",
        "DELETE FROM deposits_deposit WHERE id = %s",
    ]
    for sql in refused:
        with pytest.raises(DatabaseError, match="never"):
            _as_role(app_role, sql, [deposit.pk])
    # A status transition is what the services do; the trigger lets it through.
    _as_role(
        app_role,
        "UPDATE deposits_deposit SET status = 'confirmed' WHERE id = %s",
        [deposit.pk],
    )

    deposit.refresh_from_db()
    assert (deposit.amount, deposit.status) == (Decimal("125.50"), "confirmed")


@postgres_only
def test_the_application_role_cannot_update_or_delete_audit_events(deposit, app_role):
    event = AuditEvent.objects.order_by("pk").first()
    before = AuditEvent.objects.count()
    for sql in (
        "UPDATE outage_desk_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM outage_desk_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            _as_role(app_role, sql, [event.pk])

    assert AuditEvent.objects.count() == before
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


@postgres_only
def test_the_application_role_cannot_switch_the_triggers_off(app_role):
    with pytest.raises(DatabaseError, match="permission denied"):
        _as_role(app_role, "SET LOCAL session_replication_role = replica", [])
    with pytest.raises(DatabaseError, match="must be owner"):
        _as_role(
            app_role,
            "ALTER TABLE deposits_deposit DISABLE TRIGGER deposits_deposit_guard",
            [],
        )


@postgres_only
def test_the_migrations_installed_the_guard_triggers(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgname IN %s ORDER BY tgname",
            [("deposits_deposit_guard", "outage_desk_auditevent_append_only")],
        )
        rows = cursor.fetchall()

    assert rows == [
        ("deposits_deposit", "deposits_deposit_guard", "O"),
        ("outage_desk_auditevent", "outage_desk_auditevent_append_only", "O"),
    ]
    assert append_only_triggers_present("outage_desk_auditevent")


def test_the_migrations_installed_the_four_eyes_constraints(db):
    with connection.cursor() as cursor:
        deposit = connection.introspection.get_constraints(cursor, "deposits_deposit")
        reversal = connection.introspection.get_constraints(
            cursor, "deposits_depositreversal"
        )

    assert deposit["deposit_approver_not_recorder"]["check"]
    assert deposit["deposit_amount_positive"]["check"]
    assert reversal["deposit_reversal_decider_not_requester"]["check"]
