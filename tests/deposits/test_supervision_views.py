import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command

from deposits.errors import ERROR_REASON_REQUIRED, ERROR_SELF_APPROVAL
from deposits.models import Deposit, DepositConflict, DepositReversal
from deposits.services import deposit_reversal_request
from outage_desk.roles import Role
from tests.factories import UserFactory

from .factories import ApprovalThresholdFactory


@pytest.fixture
def pending(capture, branch):
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("100"))
    deposit, _ = capture(amount=Decimal("900.00"))
    return deposit


def test_the_supervisor_screen_lists_what_is_waiting_and_approves(
    client, supervisor, pending
):
    client.force_login(supervisor)

    page = client.get("/deposits/supervision/").content.decode()
    response = client.post(f"/deposits/{pending.pk}/approve/")

    approvals = page.split('data-testid="approvals"', 1)[1].split("</table>", 1)[0]
    assert pending.receipt_number in approvals
    assert response.status_code == 302
    assert Deposit.objects.get().status == Deposit.Status.PROVISIONAL


def test_approving_your_own_deposit_on_the_screen_shows_why_not(
    client, roles, branch, incident, capture
):
    boss = UserFactory(username="boss", branch=branch, roles=[Role.SUPERVISOR])
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("100"))
    deposit, _ = capture(recorded_by=boss, amount=Decimal("900.00"))
    client.force_login(boss)

    response = client.post(f"/deposits/{deposit.pk}/approve/", follow=True)

    assert str(ERROR_SELF_APPROVAL) in response.content.decode()
    assert Deposit.objects.get().status == Deposit.Status.PENDING_APPROVAL


def test_a_clerk_requests_a_reversal_and_a_supervisor_decides(
    client, clerk, supervisor, capture
):
    deposit, _ = capture()
    client.force_login(clerk)

    refused = client.post(f"/deposits/{deposit.pk}/", {"reason": ""})
    assert str(ERROR_REASON_REQUIRED) in refused.content.decode()
    assert DepositReversal.objects.count() == 0
    asked = client.post(f"/deposits/{deposit.pk}/", {"reason": "Wrong account"})
    assert asked.status_code == 302

    client.force_login(supervisor)
    reversal = DepositReversal.objects.get()
    page = client.get("/deposits/supervision/").content.decode()
    assert "Wrong account" in page
    client.post(f"/deposits/reversals/{reversal.pk}/", {"decision": "approve"})

    assert Deposit.objects.get().status == Deposit.Status.REVERSED


def test_a_supervisor_rejects_a_reversal(client, clerk, supervisor, capture):
    deposit, _ = capture()
    reversal = deposit_reversal_request(deposit=deposit, requested_by=clerk, reason="x")
    client.force_login(supervisor)

    client.post(f"/deposits/reversals/{reversal.pk}/", {"decision": "reject"})

    assert DepositReversal.objects.get().status == DepositReversal.Status.REJECTED
    assert Deposit.objects.get().status == Deposit.Status.PROVISIONAL


def test_conflicts_are_listed_and_resolved_with_a_note(client, supervisor, capture):
    from deposits.errors import DepositConflictError

    capture()
    with pytest.raises(DepositConflictError):
        capture(amount=Decimal("1.00"))
    client.force_login(supervisor)

    page = client.get("/deposits/supervision/").content.decode()
    conflict = DepositConflict.objects.get()
    client.post(f"/deposits/conflicts/{conflict.pk}/", {"note": "Typo, phoned client"})

    assert "amount" in page.split('data-testid="conflicts"', 1)[1]
    conflict.refresh_from_db()
    assert conflict.status == DepositConflict.Status.RESOLVED
    assert conflict.resolution_note == "Typo, phoned client"
    assert conflict.resolved_by == supervisor


def test_another_branch_cannot_touch_these_queues(client, outsider, pending, roles):
    north_boss = UserFactory(
        username="nb", branch=outsider.branch, roles=[Role.SUPERVISOR]
    )
    client.force_login(north_boss)

    page = client.get("/deposits/supervision/").content.decode()
    response = client.post(f"/deposits/{pending.pk}/approve/")

    assert pending.receipt_number not in page
    assert response.status_code == 404
    assert Deposit.objects.get().status == Deposit.Status.PENDING_APPROVAL


def test_verify_audit_passes_after_a_mixed_workload(
    capture, clerk, supervisor, pending, capsys
):
    from deposits.services import deposit_approve, deposit_reversal_approve

    deposit_approve(deposit=pending, approved_by=supervisor)
    other, _ = capture(client_uuid=uuid.uuid4(), reference="X", amount=Decimal("5"))
    reversal = deposit_reversal_request(deposit=other, requested_by=clerk, reason="x")
    deposit_reversal_approve(reversal=reversal, approved_by=supervisor)

    call_command("verify_audit")

    assert capsys.readouterr().out == "Audit chain intact: 5 events verified.\n"
