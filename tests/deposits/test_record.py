import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from deposits.errors import (
    ERROR_DUPLICATE_REASON,
    ERROR_FILE_TOO_LARGE,
    ERROR_FILE_TYPE,
    ERROR_IN_FUTURE,
    ERROR_INCIDENT_CLOSED,
    ERROR_OTHER_BRANCH,
    ERROR_OUTSIDE_WINDOW,
    ERROR_UUID_CONFLICT,
    ERROR_UUID_INVALID,
    DepositConflictError,
    DuplicateSuspectedError,
)
from deposits.models import Deposit, DepositConflict, DepositEvidence
from notifications.models import Notice
from outage_desk.audit import audit_verify
from outage_desk.models import AuditEvent
from outage_desk.money import (
    ERROR_NOT_POSITIVE,
    ERROR_TOO_MANY_DECIMALS,
    ERROR_UNKNOWN_CURRENCY,
)

from .conftest import capture_kwargs
from .factories import ApprovalThresholdFactory
from .helpers import JPEG, PDF, PNG, row_counts


def messages(exc: ValidationError, field: str) -> list[str]:
    return exc.message_dict[field]


def test_it_records_a_deposit_with_a_receipt_number_audit_and_notices(
    capture, customer, clerk
):
    # when
    deposit, created = capture(customer=customer)

    # then
    assert created is True
    saved = Deposit.objects.get()
    assert saved == deposit
    assert saved.receipt_number == "HQ-000001"
    assert saved.amount == Decimal("125.50")
    assert saved.status == Deposit.Status.PROVISIONAL
    assert saved.recorded_by == clerk
    event = AuditEvent.objects.get()
    assert event.action == "deposit.recorded"
    assert event.data["receipt_number"] == "HQ-000001"
    assert event.data["amount"] == "125.50"
    notices = Notice.objects.order_by("channel")
    assert [(n.kind, n.channel, n.recipient) for n in notices] == [
        ("deposit_received", "email", "alice.t@example.com"),
        ("deposit_received", "sms", "+447700900001"),
    ]
    assert notices[0].dedupe_key.startswith(f"deposit:{deposit.pk}:received")
    assert notices[0].context["amount"] == "125.50"


def test_receipt_numbers_count_up_per_branch(capture):
    first, _ = capture(client_uuid=uuid.uuid4(), reference="A")
    second, _ = capture(client_uuid=uuid.uuid4(), reference="B", amount=Decimal("7"))

    assert [first.receipt_number, second.receipt_number] == ["HQ-000001", "HQ-000002"]


def test_a_deposit_without_customer_contact_writes_no_notice(capture):
    capture(customer=None)

    assert Notice.objects.count() == 0
    assert Deposit.objects.count() == 1


def test_the_customer_language_is_used_for_notices(capture, customer):
    customer.language = "zh-hans"
    customer.save()

    capture(customer=customer)

    assert set(Notice.objects.values_list("language", flat=True)) == {"zh-hans"}


def test_the_same_uuid_and_content_returns_the_first_deposit(capture, customer):
    first, created_first = capture(customer=customer)
    before = row_counts()

    again, created_again = capture(customer=customer)

    assert created_first is True
    assert created_again is False
    assert again.pk == first.pk
    assert row_counts() == before


def test_a_replay_is_answered_even_after_the_window_closed(capture, incident):
    first, _ = capture()
    incident.closed_at = timezone.now()
    incident.save()

    again, created = capture()

    assert (again.pk, created) == (first.pk, False)


def test_the_same_uuid_with_other_content_is_a_conflict_kept_for_review(capture, clerk):
    first, _ = capture()
    before = row_counts()

    with pytest.raises(DepositConflictError) as caught:
        capture(amount=Decimal("999.00"))

    assert str(caught.value) == str(ERROR_UUID_CONFLICT)
    assert Deposit.objects.get().amount == Decimal("125.50")
    conflict = DepositConflict.objects.get()
    assert conflict.deposit == first
    assert conflict.submitted_by == clerk
    assert conflict.differences == ["amount"]
    assert conflict.payload["amount"] == "999.00"
    assert conflict.status == DepositConflict.Status.OPEN
    assert caught.value.conflict == conflict
    after = row_counts()
    assert after["deposits"] == before["deposits"]
    assert after["notices"] == before["notices"]
    assert after["conflicts"] == before["conflicts"] + 1
    assert AuditEvent.objects.order_by("pk").last().action == "deposit.conflict"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": Decimal("-5.00")}, "amount", ERROR_NOT_POSITIVE),
        ({"amount": Decimal("0")}, "amount", ERROR_NOT_POSITIVE),
        (
            {"amount": Decimal("1.005")},
            "amount",
            ERROR_TOO_MANY_DECIMALS % {"code": "GBP", "places": 2},
        ),
        (
            {"currency": "XYZ"},
            "currency",
            ERROR_UNKNOWN_CURRENCY % {"code": "XYZ"},
        ),
        (
            {"received_at": timezone.now() + dt.timedelta(days=1)},
            "received_at",
            ERROR_IN_FUTURE,
        ),
        (
            {"received_at": timezone.now() - dt.timedelta(days=3)},
            "received_at",
            ERROR_OUTSIDE_WINDOW % {"ref": "INC-2026-0001"},
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    capture, overrides, field, message
):
    before = row_counts()

    with pytest.raises(ValidationError) as caught:
        capture(**overrides)

    assert messages(caught.value, field) == [str(message)]
    assert row_counts() == before


def test_a_closed_incident_is_refused(closed_incident, branch, clerk):
    from deposits.services import deposit_record

    before = row_counts()
    kwargs = capture_kwargs(
        incident=closed_incident,
        branch=branch,
        recorded_by=clerk,
        received_at=closed_incident.impact_started_at + dt.timedelta(minutes=5),
    )

    with pytest.raises(ValidationError) as caught:
        deposit_record(**kwargs)

    assert messages(caught.value, "incident") == [
        str(ERROR_INCIDENT_CLOSED % {"ref": "INC-2026-0002"})
    ]
    assert row_counts() == before


def test_another_branch_is_refused(capture, other_branch):
    before = row_counts()

    with pytest.raises(ValidationError) as caught:
        capture(branch=other_branch)

    assert messages(caught.value, "branch") == [str(ERROR_OTHER_BRANCH)]
    assert row_counts() == before


def test_a_malformed_uuid_is_refused(capture):
    before = row_counts()

    with pytest.raises(ValidationError) as caught:
        capture(client_uuid="not-a-uuid")

    assert messages(caught.value, "client_uuid") == [
        str(ERROR_UUID_INVALID % {"value": "not-a-uuid"})
    ]
    assert row_counts() == before


def test_a_possible_duplicate_needs_a_reason(capture):
    first, _ = capture(client_uuid=uuid.uuid4(), reference="")
    before = row_counts()

    with pytest.raises(DuplicateSuspectedError) as caught:
        capture(client_uuid=uuid.uuid4(), reference="")

    assert caught.value.candidates == [first]
    assert messages(caught.value, "duplicate_reason") == [
        str(ERROR_DUPLICATE_REASON % {"receipts": "HQ-000001"})
    ]
    assert row_counts() == before

    second, created = capture(
        client_uuid=uuid.uuid4(), reference="", duplicate_reason="Two slips seen"
    )
    assert created is True
    assert second.duplicate_reason == "Two slips seen"


def test_the_same_reference_is_a_possible_duplicate(capture):
    capture(client_uuid=uuid.uuid4(), reference="POS-77")

    with pytest.raises(DuplicateSuspectedError):
        capture(
            client_uuid=uuid.uuid4(),
            reference="POS-77",
            account="GB99999999",
            amount=Decimal("3.00"),
        )


def test_deposits_above_the_threshold_wait_for_approval(capture, branch):
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("100.00"))

    big, _ = capture(client_uuid=uuid.uuid4(), amount=Decimal("100.01"))
    small, _ = capture(
        client_uuid=uuid.uuid4(), amount=Decimal("100.00"), reference="B", note="x"
    )

    assert big.status == Deposit.Status.PENDING_APPROVAL
    assert small.status == Deposit.Status.PROVISIONAL


def test_evidence_files_are_stored_under_random_names(capture, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    files = [
        SimpleUploadedFile("slip.png", PNG),
        SimpleUploadedFile("slip.jpg", JPEG),
        SimpleUploadedFile("../../etc/passwd.pdf", PDF),
    ]

    deposit, _ = capture(evidence=files)

    stored = list(DepositEvidence.objects.filter(deposit=deposit).order_by("pk"))
    assert [e.content_type for e in stored] == [
        "image/png",
        "image/jpeg",
        "application/pdf",
    ]
    assert stored[2].original_name == "passwd.pdf"
    for evidence in stored:
        assert evidence.file.name.startswith("evidence/")
        assert "slip" not in evidence.file.name
        assert "passwd" not in evidence.file.name
        assert (tmp_path / evidence.file.name).is_file()


def test_a_file_of_the_wrong_type_is_refused_whatever_its_name(
    capture, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    before = row_counts()

    with pytest.raises(ValidationError) as caught:
        capture(evidence=[SimpleUploadedFile("slip.png", b"MZ\x90\x00 not an image")])

    assert messages(caught.value, "evidence") == [
        str(ERROR_FILE_TYPE % {"name": "slip.png"})
    ]
    assert row_counts() == before
    assert list(tmp_path.iterdir()) == []


@override_settings(DEPOSIT_EVIDENCE_MAX_BYTES=1024 * 1024)
def test_an_oversized_file_is_refused(capture, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = row_counts()
    big = SimpleUploadedFile("slip.pdf", b"%PDF-" + b"0" * (1024 * 1024))

    with pytest.raises(ValidationError) as caught:
        capture(evidence=[big])

    assert messages(caught.value, "evidence") == [
        str(ERROR_FILE_TOO_LARGE % {"name": "slip.pdf", "limit": 1})
    ]
    assert row_counts() == before


def test_the_audit_chain_verifies_after_a_workload(capture, customer, branch):
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("500"))
    for n in range(10):
        capture(
            client_uuid=uuid.uuid4(),
            reference=f"R{n}",
            amount=Decimal(f"{100 * (n + 1)}.00"),
            customer=customer,
        )
    capture(client_uuid=uuid.uuid4(), reference="R0", duplicate_reason="checked")

    checked, broken = audit_verify()

    assert broken is None
    assert checked == 11


def test_a_repeated_conflicting_attempt_is_one_queue_entry(capture):
    capture()
    for _attempt in range(3):
        with pytest.raises(DepositConflictError):
            capture(amount=Decimal("999.00"))
    with pytest.raises(DepositConflictError):
        capture(amount=Decimal("998.00"))

    amounts = sorted(c.payload["amount"] for c in DepositConflict.objects.all())
    assert amounts == ["998.00", "999.00"]


def test_an_unusable_customer_address_never_refuses_a_capture(clerk, branch):
    from decimal import Decimal

    from deposits.services import deposit_record
    from notifications.models import Notice
    from tests.factories import CustomerFactory

    from .factories import IncidentFactory

    # given: the core system's copy has a broken e-mail but a good phone
    customer = CustomerFactory(
        branch=branch, email="not-an-address", phone="+447700900123"
    )
    incident = IncidentFactory()

    # when
    _deposit, created = deposit_record(
        incident=incident,
        branch=branch,
        recorded_by=clerk,
        client_uuid="0b9f2f4e-6a41-4d7e-9a7a-0c2f1f6f0b11",
        channel="cash",
        account=customer.account,
        payer_name=customer.name,
        amount=Decimal("10.00"),
        currency="GBP",
        received_at=incident.impact_started_at + dt.timedelta(minutes=5),
        source="form",
        customer=customer,
    )

    # then
    assert created is True
    assert list(Notice.objects.values_list("channel", "recipient")) == [
        ("sms", "+447700900123")
    ]
