import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, connections

from deposits.errors import DepositConflictError
from deposits.models import Deposit, DepositConflict, ReceiptCounter
from deposits.services import deposit_record
from notifications.models import Notice
from outage_desk.audit import audit_verify
from outage_desk.models import AuditEvent

from .conftest import capture_kwargs
from .helpers import run_in_threads

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs real concurrent transactions"
)
THREADS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submissions_of_one_uuid_leave_one_deposit(
    incident, branch, clerk, customer
):
    # given
    kwargs = capture_kwargs(
        incident=incident, branch=branch, recorded_by=clerk, customer=customer
    )

    # when
    results, errors = run_in_threads(lambda n: deposit_record(**kwargs), THREADS)

    # then
    assert errors == []
    deposit = Deposit.objects.get()
    assert {d.pk for d, _ in results} == {deposit.pk}
    assert sum(1 for _, created in results if created) == 1
    assert deposit.receipt_number == "HQ-000001"
    assert ReceiptCounter.objects.get().last_number == 1  # no numbers burnt
    assert Notice.objects.count() == 2
    assert AuditEvent.objects.count() == 1
    assert audit_verify() == (1, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_different_content_for_one_uuid_keeps_every_other_attempt(
    incident, branch, clerk
):
    def submit(n):
        kwargs = capture_kwargs(
            incident=incident,
            branch=branch,
            recorded_by=clerk,
            amount=Decimal(f"{n + 1}.00"),
        )
        return deposit_record(**kwargs)

    results, errors = run_in_threads(submit, 20)

    assert len(results) == 1
    assert len(errors) == 19
    assert all(isinstance(e, DepositConflictError) for e in errors)
    assert Deposit.objects.count() == 1
    assert DepositConflict.objects.count() == 19
    assert audit_verify() == (20, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_different_uuids_get_distinct_receipt_numbers(
    incident, branch, clerk
):
    def submit(n):
        kwargs = capture_kwargs(
            incident=incident,
            branch=branch,
            recorded_by=clerk,
            client_uuid=uuid.uuid4(),
            reference=f"R{n}",
            account=f"GB{n:08d}",
        )
        return deposit_record(**kwargs)

    _results, errors = run_in_threads(submit, 30)

    assert errors == []
    receipts = sorted(Deposit.objects.values_list("receipt_number", flat=True))
    assert receipts == [f"HQ-{n:06d}" for n in range(1, 31)]


@pytest.mark.django_db(transaction=True)
def test_two_clerks_entering_one_deposit_at_once_leave_one_and_a_warning(
    incident, branch, clerk
):
    def submit(n):
        kwargs = capture_kwargs(
            incident=incident,
            branch=branch,
            recorded_by=clerk,
            client_uuid=uuid.uuid4(),
        )
        return deposit_record(**kwargs)

    results, errors = run_in_threads(submit, 10)

    assert len(results) == 1
    assert [type(e).__name__ for e in errors] == ["DuplicateSuspectedError"] * 9
    assert Deposit.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_receipt_counter_row_stays_locked_until_the_capture_commits(
    incident, branch, clerk, monkeypatch
):
    from django.db import DatabaseError

    inside, release = threading.Event(), threading.Event()

    def hold_after_the_audit_append(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "auditevent" in sql:
            inside.set()  # the capture's last write is done; its commit is held
            release.wait(timeout=10)
        return result

    deposit_record(  # the branch's counter row exists from its first capture
        **capture_kwargs(
            incident=incident, branch=branch, recorded_by=clerk, reference="first"
        )
    )

    def lock_the_counter():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT last_number FROM deposits_receiptcounter "
                "WHERE branch_id = %s FOR UPDATE NOWAIT",
                [branch.pk],
            )
            return cursor.fetchone()[0]

    def record():
        try:
            with connection.execute_wrapper(hold_after_the_audit_append):
                deposit_record(
                    **capture_kwargs(
                        incident=incident,
                        branch=branch,
                        recorded_by=clerk,
                        client_uuid=uuid.uuid4(),
                        account="GB00009999",
                    )
                )
        finally:
            connections.close_all()

    thread = threading.Thread(target=record)
    thread.start()
    assert inside.wait(timeout=10)
    with pytest.raises(DatabaseError, match="could not obtain lock"):
        lock_the_counter()
    release.set()
    thread.join()

    assert lock_the_counter() == 2
