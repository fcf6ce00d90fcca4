"""The capture's hand-written SQL on PostgreSQL holds the same rules as the ORM."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deposits.errors import DuplicateSuspectedError
from deposits.models import Deposit
from deposits.selectors import capture_lookups, deposit_possible_duplicates
from notifications.models import (
    Notice,
    NoticeKind,
    NoticeRef,
    NoticeTemplate,
    NoticeTemplateVersion,
    WebhookEndpoint,
)
from outage_desk.audit import audit_verify
from outage_desk.models import AuditChainHead, AuditEvent

from .factories import DepositFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's"
)

MINUTE = dt.timedelta(minutes=1)


def probe_at(received_at, *, reference):
    """The deposit a clerk is about to save, to compare with the ones placed."""
    return {
        "account": "GB00001234",
        "amount": Decimal("125.50"),
        "currency": "GBP",
        "received_at": received_at,
        "reference": reference,
    }


def captured_candidates(capture, **fields):
    with pytest.raises(DuplicateSuspectedError) as caught:
        capture(client_uuid=uuid.uuid4(), **fields)
    return [d.pk for d in caught.value.candidates]


@pytest.mark.parametrize(
    "placed",
    [
        {"received": -10 * MINUTE},
        {"received": -30 * MINUTE},  # the window's edge counts
        {"received": 30 * MINUTE},
        {"received": -31 * MINUTE, "duplicate": False},
        {"received": 0 * MINUTE, "currency": "EUR", "duplicate": False},
        {"received": 0 * MINUTE, "amount": Decimal("125.51"), "duplicate": False},
        {"received": 0 * MINUTE, "other_branch": True, "duplicate": False},
        {"received": 0 * MINUTE, "reversed": True, "duplicate": False},
        {"received": -5 * 60 * MINUTE, "account": "GB99", "reference": "SLIP-1"},
        {
            "received": 0 * MINUTE,
            "account": "GB99",
            "reference": "",
            "probe_reference": "",
            "duplicate": False,
        },
    ],
)
def test_possible_duplicates_are_the_ones_the_form_warns_about(
    capture, branch, other_branch, incident, clerk, placed
):
    received_at = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    incident.impact_started_at = received_at - dt.timedelta(hours=6)
    incident.save()
    DepositFactory(
        incident=incident,
        branch=other_branch if placed.get("other_branch") else branch,
        account=placed.get("account", "GB00001234"),
        amount=placed.get("amount", Decimal("125.50")),
        currency=placed.get("currency", "GBP"),
        received_at=received_at + placed["received"],
        reference=placed.get("reference", "OTHER"),
        status=Deposit.Status.REVERSED if placed.get("reversed") else "provisional",
        recorded_by=clerk,
    )
    probe = probe_at(received_at, reference=placed.get("probe_reference", "SLIP-1"))
    warned = [d.pk for d in deposit_possible_duplicates(branch=branch, **probe)]

    if not placed.get("duplicate", True):
        assert warned == []
        _deposit, created = capture(client_uuid=uuid.uuid4(), **probe)
        assert created is True
    else:
        assert len(warned) == 1
        assert captured_candidates(capture, **probe) == warned


def test_more_than_five_possible_duplicates_name_the_five_the_form_shows(
    capture, branch, clerk, incident
):
    received_at = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    incident.impact_started_at = received_at - dt.timedelta(hours=6)
    incident.save()
    for minutes in (7, -3, 12, -20, 1, -9, 25):
        DepositFactory(
            incident=incident,
            branch=branch,
            account="GB00001234",
            amount=Decimal("125.50"),
            received_at=received_at + minutes * MINUTE,
            recorded_by=clerk,
        )
    probe = probe_at(received_at, reference="")

    found = captured_candidates(capture, **probe)

    warned = [d.pk for d in deposit_possible_duplicates(branch=branch, **probe)]
    assert found == warned
    assert len(found) == 5


def test_a_capture_is_a_fixed_handful_of_statements(capture, customer):
    capture(client_uuid=uuid.uuid4(), reference="R-1", customer=customer)

    with CaptureQueriesContext(connection) as queries:
        capture(
            client_uuid=uuid.uuid4(),
            reference="R-2",
            amount=Decimal("7.00"),
            customer=customer,
        )

    # locks + checks, number + chain head, the writes: no ORM query on the way
    # (the savepoint is the test's transaction around the capture's own)
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3, [sql[:80] for sql in statements]


def test_notices_fall_back_to_the_default_language_and_follow_a_new_version(
    capture, customer, supervisor
):
    customer.language = "fr"  # no French templates: English is used
    customer.save()
    first, _ = capture(client_uuid=uuid.uuid4(), reference="R-1", customer=customer)
    email = Notice.objects.get(channel="email", dedupe_key__contains=f":{first.pk}:")
    assert email.language == "en"
    template = NoticeTemplate.objects.get(
        kind=NoticeKind.DEPOSIT_RECEIVED, channel="email", language="en"
    )
    assert email.template_version == template.versions.order_by("-number").first()

    newest = NoticeTemplateVersion.objects.create(
        template=template,
        number=email.template_version.number + 1,
        subject="Deposit {{ receipt_number }} received",
        body_text="Version two: {{ receipt_number }} for {{ amount }} {{ currency }}",
        status=NoticeTemplateVersion.Status.APPROVED,
        approved_at=timezone.now(),
    )
    second, _ = capture(
        client_uuid=uuid.uuid4(),
        reference="R-2",
        amount=Decimal("7.00"),
        customer=customer,
    )

    email = Notice.objects.get(channel="email", dedupe_key__contains=f":{second.pk}:")
    assert email.template_version == newest
    assert email.body == f"Version two: {second.receipt_number} for 7.00 GBP"


def test_subscribed_webhooks_get_the_recorded_event_with_its_refs(capture, customer):
    listening = WebhookEndpoint.objects.create(
        name="ledger",
        url="https://ledger.example/hook",
        secret="s" * 32,
        events=[NoticeKind.EVENT_DEPOSIT_RECORDED],
    )
    WebhookEndpoint.objects.create(
        name="old",
        url="https://old.example/hook",
        secret="s" * 32,
        events=[NoticeKind.EVENT_DEPOSIT_RECORDED],
        active=False,
    )
    WebhookEndpoint.objects.create(
        name="other",
        url="https://other.example/hook",
        secret="s" * 32,
        events=["deposit.confirmed"],
    )

    deposit, _ = capture(client_uuid=uuid.uuid4(), customer=customer)

    hook = Notice.objects.get(channel="webhook")
    assert hook.webhook_endpoint == listening
    assert hook.kind == NoticeKind.EVENT_DEPOSIT_RECORDED
    assert f'"receipt_number": "{deposit.receipt_number}"' in hook.body
    assert set(NoticeRef.objects.filter(notice=hook).values_list("ref", flat=True)) == {
        f"deposit:{deposit.pk}",
        f"incident:{deposit.incident_id}",
    }
    assert Notice.objects.filter(kind=NoticeKind.DEPOSIT_RECEIVED).count() == 2


def test_captures_keep_the_audit_chains_whole(capture, customer):
    deposits = [
        capture(
            client_uuid=uuid.uuid4(),
            reference=f"R-{n}",
            amount=Decimal(n + 1),
            customer=customer,
        )[0]
        for n in range(12)
    ]

    checked, broken = audit_verify()
    assert (checked, broken) == (12, None)
    for deposit in deposits:
        event = AuditEvent.objects.get(object_id=str(deposit.pk))
        assert event.data["receipt_number"] == deposit.receipt_number
    newest = AuditEvent.objects.order_by("-pk").first()
    assert AuditChainHead.objects.get(id=newest.chain).last_event_id == newest.pk


def test_capture_lookups_find_the_incident_and_customer_in_one_query(
    incident, customer, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert capture_lookups(incident=incident.reference, account="GB00001234") == (
            incident,
            customer,
        )
    with django_assert_num_queries(1):
        assert capture_lookups(incident="INC-NONE", account="GB-NONE") == (None, None)
