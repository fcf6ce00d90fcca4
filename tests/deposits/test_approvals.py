import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from deposits.errors import (
    ERROR_ALREADY_REVERSED,
    ERROR_NOT_PENDING_APPROVAL,
    ERROR_NOT_SUPERVISOR,
    ERROR_REASON_REQUIRED,
    ERROR_REVERSAL_FOUR_EYES,
    ERROR_REVERSAL_PENDING,
    ERROR_SELF_APPROVAL,
)
from deposits.models import Deposit, DepositReversal
from deposits.services import (
    deposit_approve,
    deposit_reversal_approve,
    deposit_reversal_reject,
    deposit_reversal_request,
)
from notifications.models import Notice
from outage_desk.audit import audit_verify
from outage_desk.models import AuditEvent
from outage_desk.roles import Role
from tests.factories import UserFactory

from .factories import ApprovalThresholdFactory
from .helpers import row_counts


@pytest.fixture
def supervisor2(roles, branch):
    return UserFactory(username="sam", branch=branch, roles=[Role.SUPERVISOR])


@pytest.fixture
def big_deposit(capture, branch):
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("100"))
    deposit, _ = capture(amount=Decimal("5000.00"))
    return deposit


def test_a_supervisor_approves_a_large_deposit(big_deposit, supervisor):
    deposit = deposit_approve(deposit=big_deposit, approved_by=supervisor)

    saved = Deposit.objects.get(pk=big_deposit.pk)
    assert deposit.status == saved.status == Deposit.Status.PROVISIONAL
    assert saved.approved_by == supervisor
    assert AuditEvent.objects.order_by("pk").last().action == "deposit.approved"


def test_the_recorder_cannot_approve_their_own_deposit(
    roles, incident, branch, capture
):
    boss = UserFactory(username="boss", branch=branch, roles=[Role.SUPERVISOR])
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("100"))
    deposit, _ = capture(recorded_by=boss, amount=Decimal("5000.00"))
    before = row_counts()

    with pytest.raises(PermissionDenied) as caught:
        deposit_approve(deposit=deposit, approved_by=boss)

    assert str(caught.value) == str(ERROR_SELF_APPROVAL)
    assert Deposit.objects.get().status == Deposit.Status.PENDING_APPROVAL
    assert row_counts() == before


def test_a_clerk_or_another_branch_cannot_approve(big_deposit, clerk, roles):
    from tests.factories import BranchFactory

    north_boss = UserFactory(
        username="nb", branch=BranchFactory(code="N2"), roles=[Role.SUPERVISOR]
    )
    for user in (clerk, north_boss):
        with pytest.raises(PermissionDenied) as caught:
            deposit_approve(deposit=big_deposit, approved_by=user)
        assert str(caught.value) == str(ERROR_NOT_SUPERVISOR)
    assert Deposit.objects.get().status == Deposit.Status.PENDING_APPROVAL


def test_approving_twice_is_refused(big_deposit, supervisor):
    deposit_approve(deposit=big_deposit, approved_by=supervisor)
    before = row_counts()

    with pytest.raises(ValidationError) as caught:
        deposit_approve(deposit=big_deposit, approved_by=supervisor)

    assert caught.value.messages == [str(ERROR_NOT_PENDING_APPROVAL)]
    assert row_counts() == before


def test_a_reversal_needs_a_reason(capture, clerk):
    deposit, _ = capture()
    before = row_counts()

    with pytest.raises(ValidationError) as caught:
        deposit_reversal_request(deposit=deposit, requested_by=clerk, reason="  ")

    assert caught.value.message_dict == {"reason": [str(ERROR_REASON_REQUIRED)]}
    assert row_counts() == before


def test_a_reversal_approved_by_a_third_person_reverses_and_notifies(
    capture, customer, clerk, supervisor, supervisor2
):
    deposit, _ = capture(customer=customer)
    reversal = deposit_reversal_request(
        deposit=deposit, requested_by=supervisor, reason="Wrong account"
    )
    assert Deposit.objects.get().status == Deposit.Status.PROVISIONAL

    deposit_reversal_approve(reversal=reversal, approved_by=supervisor2)

    saved = Deposit.objects.get()
    assert saved.status == Deposit.Status.REVERSED
    assert saved.amount == Decimal("125.50")
    assert DepositReversal.objects.get().status == DepositReversal.Status.APPROVED
    assert DepositReversal.objects.get().decided_by == supervisor2
    kinds = sorted(Notice.objects.values_list("kind", "channel"))
    assert kinds == [
        ("deposit_received", "email"),
        ("deposit_received", "sms"),
        ("deposit_reversed", "email"),
        ("deposit_reversed", "sms"),
    ]
    assert [e.action for e in AuditEvent.objects.order_by("pk")] == [
        "deposit.recorded",
        "deposit.reversal_requested",
        "deposit.reversed",
    ]
    assert audit_verify()[1] is None


def test_the_requester_and_the_clerk_cannot_approve_a_reversal(
    capture, clerk, supervisor, supervisor2
):
    deposit, _ = capture()
    reversal = deposit_reversal_request(
        deposit=deposit, requested_by=supervisor, reason="Wrong account"
    )
    clerk_as_boss = clerk
    clerk_as_boss.groups.add(*supervisor.groups.all())
    before = row_counts()

    for user in (supervisor, clerk_as_boss):
        user = type(user).objects.get(pk=user.pk)  # fresh permission cache
        with pytest.raises(PermissionDenied) as caught:
            deposit_reversal_approve(reversal=reversal, approved_by=user)
        assert str(caught.value) == str(ERROR_REVERSAL_FOUR_EYES)

    assert Deposit.objects.get().status == Deposit.Status.PROVISIONAL
    assert DepositReversal.objects.get().status == DepositReversal.Status.PENDING
    assert row_counts() == before


def test_only_one_reversal_can_wait_at_a_time(capture, clerk):
    deposit, _ = capture()
    deposit_reversal_request(deposit=deposit, requested_by=clerk, reason="typo")

    with pytest.raises(ValidationError) as caught:
        deposit_reversal_request(deposit=deposit, requested_by=clerk, reason="again")

    assert caught.value.messages == [str(ERROR_REVERSAL_PENDING)]
    assert DepositReversal.objects.count() == 1


def test_a_reversed_deposit_cannot_be_reversed_again(
    capture, clerk, supervisor, supervisor2
):
    deposit, _ = capture()
    reversal = deposit_reversal_request(
        deposit=deposit, requested_by=clerk, reason="typo"
    )
    deposit_reversal_approve(reversal=reversal, approved_by=supervisor)
    deposit.refresh_from_db()

    with pytest.raises(ValidationError) as caught:
        deposit_reversal_request(deposit=deposit, requested_by=clerk, reason="again")

    assert caught.value.messages == [str(ERROR_ALREADY_REVERSED)]


def test_a_rejected_reversal_leaves_the_deposit(capture, clerk, supervisor):
    deposit, _ = capture()
    reversal = deposit_reversal_request(
        deposit=deposit, requested_by=clerk, reason="typo"
    )

    deposit_reversal_reject(reversal=reversal, rejected_by=supervisor)

    assert Deposit.objects.get().status == Deposit.Status.PROVISIONAL
    assert DepositReversal.objects.get().status == DepositReversal.Status.REJECTED


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the guard trigger is PostgreSQL only"
)
def test_the_database_refuses_to_change_an_amount_or_delete_a_deposit(capture):
    deposit, _ = capture()

    # Raw SQL: the ORM refuses both before they reach the database.
    for sql in (
        "UPDATE deposits_deposit SET amount = 1 WHERE id = %s",
        "DELETE FROM deposits_deposit WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [deposit.pk])
    Deposit.objects.filter(pk=deposit.pk).update(status=Deposit.Status.CONFIRMED)

    assert Deposit.objects.get().amount == Decimal("125.50")
    assert Deposit.objects.get().status == Deposit.Status.CONFIRMED


def test_uuid_helper_accepts_strings(capture):
    deposit, _ = capture(client_uuid=str(uuid.UUID(int=5)))

    assert deposit.client_uuid == uuid.UUID(int=5)
