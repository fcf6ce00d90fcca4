"""The API lane's capture in one database call writes what the ordinary capture
writes, refuses what it refuses, and writes nothing when it refuses."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deposits.models import Deposit, ReceiptCounter
from deposits.selectors import deposit_duplicates_q
from deposits.services import deposit_record
from deposits.services.capture import (
    _capture_notices,
    capture_fields,
    deposit_audit_data,
    deposit_capture_in_one_call,
    receipt_number_format,
)
from notifications.models import (
    Notice,
    NoticeKind,
    NoticeRef,
    NoticeTemplate,
    NoticeTemplateVersion,
    WebhookEndpoint,
)
from notifications.rendering import prints_verbatim
from notifications.services import (
    notice_lookups_parse,
    notice_lookups_sql,
    templates_load_defaults,
)
from outage_desk.audit import audit_verify
from outage_desk.idempotency import idempotency_record_for
from outage_desk.models import AuditEvent, IdempotencyRecord
from outage_desk.roles import Role
from tests.factories import BranchFactory, UserFactory

from .helpers import row_counts

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the one call is PostgreSQL's"
    ),
]
LANGUAGES = ["en", "zh-hans"]
# What differs between two captures of the same content: the deposit, its number.
NOTICE_FIELDS = (
    "kind",
    "channel",
    "recipient",
    "language",
    "dedupe_key",
    "template_version_id",
    "webhook_endpoint_id",
    "subject",
    "body",
    "body_html",
    "context",
    "subject_refs",
    "supersede_key",
    "status",
    "attempts",
    "last_error",
)


@pytest.fixture
def webhook(db):
    return WebhookEndpoint.objects.create(
        name="ledger",
        url="https://ledger.example/hooks",
        secret="s3cret",
        events=[NoticeKind.EVENT_DEPOSIT_RECORDED],
    )


def fields_for(incident, branch, customer=None, **overrides):
    values = {
        "incident": incident,
        "branch": branch,
        "customer": customer,
        "client_uuid": uuid.uuid4(),
        "channel": Deposit.Channel.BANK_TRANSFER,
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": Decimal("125.50"),
        "currency": "GBP",
        "received_at": timezone.now() - dt.timedelta(minutes=10),
        "source": Deposit.Source.API,
        "reference": "",
        "note": "",
        **overrides,
    }
    return capture_fields(**values)


def lookups():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + notice_lookups_sql(kind=NoticeKind.DEPOSIT_RECEIVED),
            [LANGUAGES],
        )
        (value,) = cursor.fetchone()
    return notice_lookups_parse(
        value, kind=NoticeKind.DEPOSIT_RECEIVED, languages=LANGUAGES
    )


def one_call(fields, clerk, *, key=None, threshold=None):
    """The lane's call with what its first statement would have read."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('deposits_deposit', 'id'))"
        )
        (pk,) = cursor.fetchone()
    return deposit_capture_in_one_call(
        fields=fields,
        recorded_by=clerk,
        pk=pk,
        threshold=threshold,
        lookups=lookups(),
        keep=lambda deposit: idempotency_record_for(
            user=clerk,
            key=key or str(uuid.uuid4()),
            method="POST",
            path="/api/v1/deposits/",
            request_hash="fingerprint",
            status=201,
            body={"receipt_number": deposit.receipt_number, "id": deposit.pk},
        ),
    )


def counts():
    return {
        **row_counts(),
        "refs": NoticeRef.objects.count(),
        "answers": IdempotencyRecord.objects.count(),
    }


def test_the_one_call_writes_what_the_ordinary_capture_would(
    incident, branch, clerk, customer, webhook
):
    # given: a receipt counter and an audit chain that already have history
    deposit_record(recorded_by=clerk, **fields_for(incident, branch, customer))

    # when
    deposit = one_call(
        fields_for(incident, branch, customer, amount=Decimal("99.10")),
        clerk,
        key="k-1",
        threshold=Decimal("50"),
    )

    # then: the deposit row
    assert deposit is not None
    stored = Deposit.objects.select_related("branch", "incident", "customer").get(
        pk=deposit.pk
    )
    assert stored.receipt_number == deposit.receipt_number == "HQ-000002"
    assert stored.status == Deposit.Status.PENDING_APPROVAL  # over the threshold
    assert (stored.amount, stored.account, stored.recorded_by) == (
        Decimal("99.10"),
        "GB00001234",
        clerk,
    )
    assert stored.recorded_at == deposit.recorded_at  # microseconds kept
    # its notices: the customer's e-mail and SMS and the webhook's, each field as
    # the ordinary capture renders it for this deposit
    expected = _capture_notices(stored, lookups())
    written = {n.dedupe_key: n for n in Notice.objects.filter(dedupe_key__in=expected)}
    assert sorted(written) == sorted(expected) and len(expected) == 3
    for key, notice in expected.items():
        for name in NOTICE_FIELDS:
            assert getattr(written[key], name) == getattr(notice, name), (key, name)
        assert "HQ-000002" in written[key].body
        refs = NoticeRef.objects.filter(notice=written[key]).values_list(
            "ref", flat=True
        )
        assert sorted(refs) == sorted(notice.subject_refs)
    # its audit event, linked into the chain with Python's hash
    event = AuditEvent.objects.get(object_id=str(stored.pk))
    assert event.data == deposit_audit_data(deposit)  # the amount as submitted
    assert audit_verify() == (AuditEvent.objects.count(), None)
    # the key's answer, with the number in it
    answer = IdempotencyRecord.objects.get(key="k-1")
    assert answer.response_body == {"receipt_number": "HQ-000002", "id": stored.pk}


@pytest.mark.parametrize(
    "case", ["same uuid", "same account and amount", "same reference", "key taken"]
)
def test_a_refused_one_call_writes_nothing(case, incident, branch, clerk, customer):
    # given
    first = fields_for(incident, branch, customer, reference="SLIP-7")
    deposit_record(recorded_by=clerk, **first)
    one_call(
        fields_for(incident, branch, customer, amount=Decimal("1.00")),
        clerk,
        key="used",
    )
    second = {
        "same uuid": {"client_uuid": first["client_uuid"]},
        "same account and amount": {},
        "same reference": {"amount": Decimal("7.00"), "reference": "SLIP-7"},
        "key taken": {"amount": Decimal("8.00")},
    }[case]
    before = counts()

    # when
    deposit = one_call(
        {**first, "client_uuid": uuid.uuid4(), "reference": "", **second},
        clerk,
        key="used" if case == "key taken" else None,
    )

    # then
    assert deposit is None
    assert counts() == before
    assert audit_verify()[1] is None


@pytest.mark.parametrize(
    "existing",
    [
        {},
        {"received_at": dt.timedelta(minutes=29)},
        {"received_at": dt.timedelta(minutes=31)},
        {"received_at": -dt.timedelta(minutes=31)},
        {"amount": Decimal("125.5")},
        {"amount": Decimal("125.51")},
        {"currency": "EUR"},
        {"account": "GB99999999", "reference": "SLIP-1"},
        {"account": "GB99999999", "reference": "SLIP-2"},
        {"status": Deposit.Status.REVERSED},
        {"branch": "other"},
    ],
    ids=lambda existing: ",".join(existing) or "same",
)
def test_the_one_calls_duplicate_rule_is_the_captures(
    existing, incident, branch, clerk
):
    # given: one deposit like the new one but for ``existing``
    at = timezone.now() - dt.timedelta(hours=1)
    other = BranchFactory(code="EAST")
    values = {
        "amount": Decimal("125.50"),
        "currency": "GBP",
        "account": "GB00001234",
        "reference": "",
        **existing,
    }
    Deposit.objects.create(
        client_uuid=uuid.uuid4(),
        incident=incident,
        branch=other if values.pop("branch", None) else branch,
        receipt_number=f"OLD-{uuid.uuid4().hex[:6]}",
        channel=Deposit.Channel.CASH,
        payer_name="Someone",
        received_at=at + values.pop("received_at", dt.timedelta(0)),
        recorded_by=clerk,
        source=Deposit.Source.API,
        **values,
    )
    fields = fields_for(incident, branch, received_at=at, reference="SLIP-1")
    expected = Deposit.objects.filter(
        deposit_duplicates_q(
            branch=branch,
            account=fields["account"],
            amount=fields["amount"],
            currency=fields["currency"],
            received_at=at,
            reference="SLIP-1",
        )
    ).exists()

    # when
    deposit = one_call(fields, clerk)

    # then
    assert (deposit is None) == expected


def test_a_receipt_number_past_six_digits_is_formatted_as_python_does(
    incident, branch, clerk
):
    # given
    ReceiptCounter.objects.create(branch=branch, last_number=999_999)

    # when
    deposit = one_call(fields_for(incident, branch), clerk)

    # then
    assert deposit.receipt_number == receipt_number_format(branch=branch, number=10**6)
    assert Deposit.objects.get(pk=deposit.pk).receipt_number == "HQ-1000000"


def test_a_branch_code_that_text_would_change_takes_the_ordinary_way(incident, roles):
    # given: "&" is escaped in HTML, so its number cannot replace a sentinel there
    branch = BranchFactory(code="H&Q")
    clerk = UserFactory(username="hq-clerk", branch=branch, roles=[Role.CLERK])
    before = counts()

    # when
    deposit = one_call(fields_for(incident, branch), clerk)

    # then
    assert deposit is None
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "verbatim"),
    [
        ("Receipt {{ receipt_number }}.", True),
        ("No number here.", True),
        ("{{ receipt_number|lower }}", False),
        ("{{ receipt_number|default:'none' }}", False),
        ("{% if receipt_number %}{{ receipt_number }}{% endif %}", False),
        ("{{ amount|default:receipt_number }}", False),
    ],
)
def test_prints_verbatim_accepts_only_bare_uses(body, verbatim):
    assert prints_verbatim(body, "receipt_number", html=False) is verbatim


def test_a_template_that_reshapes_the_number_takes_the_ordinary_way(
    incident, branch, clerk, customer
):
    # given: an approved English e-mail that prints the number in lower case
    templates_load_defaults(kinds=[NoticeKind.DEPOSIT_RECEIVED])
    template = NoticeTemplate.objects.get(
        kind=NoticeKind.DEPOSIT_RECEIVED, channel="email", language="en"
    )
    NoticeTemplateVersion.objects.create(
        template=template,
        number=99,
        subject="Deposit {{ receipt_number|lower }}",
        body_text="Received: {{ receipt_number|lower }}",
        body_html="",
        status=NoticeTemplateVersion.Status.APPROVED,
        approved_at=timezone.now(),
    )
    before = counts()

    # when
    refused = one_call(fields_for(incident, branch, customer), clerk)
    deposit, _created = deposit_record(
        recorded_by=clerk, **fields_for(incident, branch, customer)
    )

    # then
    assert refused is None
    assert counts()["deposits"] == before["deposits"] + 1
    email = Notice.objects.get(
        dedupe_key__startswith=f"deposit:{deposit.pk}:", channel="email"
    )
    assert email.subject == "Deposit hq-000001"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    payer=st.text(
        st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
    ).filter(str.strip),
    note=st.text(
        st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        max_size=40,
    ),
)
def test_any_text_reaches_the_rows_and_the_hash_as_python_writes_it(
    payer, note, incident, branch, clerk, customer
):
    # when
    deposit = one_call(
        fields_for(
            incident,
            branch,
            customer,
            payer_name=payer,
            note=note,
            amount=Decimal(uuid.uuid4().int % 10**6) / 100 + 1,
        ),
        clerk,
    )

    # then
    assert deposit is not None
    stored = Deposit.objects.get(pk=deposit.pk)
    assert (stored.payer_name, stored.note) == (payer.strip(), note.strip())
    email = Notice.objects.get(
        dedupe_key=f"deposit:{deposit.pk}:received:email:{customer.email}"
    )
    assert email.context["payer_name"] == payer.strip()
    assert audit_verify()[1] is None


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_taken_key_rolls_the_whole_call_back(
    incident, branch, clerk, customer
):
    # given: the lane's call runs in autocommit, as under gunicorn
    assert not connection.in_atomic_block
    one_call(fields_for(incident, branch, customer), clerk, key="taken")
    before = counts()

    # when
    deposit = one_call(
        fields_for(incident, branch, customer, amount=Decimal("3.00")),
        clerk,
        key="taken",
    )

    # then: the deposit, notices, audit event and counter of the call are gone
    assert deposit is None
    assert counts() == before
    assert ReceiptCounter.objects.get(branch=branch).last_number == 1
    assert audit_verify()[1] is None


def test_a_constraint_the_call_meets_rolls_it_back_and_leaves_it_to_the_full_way(
    incident, branch, clerk
):
    # given: a deposit holding the number the counter gives next (written around
    # the counter, as no way of the app does)
    Deposit.objects.create(
        client_uuid=uuid.uuid4(),
        incident=incident,
        branch=branch,
        receipt_number="HQ-000001",
        channel=Deposit.Channel.CASH,
        account="GB55555555",
        payer_name="Someone",
        amount=Decimal("1.00"),
        currency="GBP",
        received_at=timezone.now(),
        recorded_by=clerk,
        source=Deposit.Source.API,
    )
    before = counts()

    # when
    deposit = one_call(fields_for(incident, branch), clerk)

    # then
    assert deposit is None
    assert counts() == before


def test_a_row_the_function_cannot_write_is_a_fault_not_a_detour(
    monkeypatch, incident, branch, clerk
):
    # given: the deposit's row goes without its payer (NOT NULL), as a model
    # change the rows were not built for would send it
    from django.db import IntegrityError

    from outage_desk import rawsql

    real = rawsql.insert_json

    def without_payer(obj, **kwargs):
        row = real(obj, **kwargs)
        if isinstance(obj, Deposit):
            row.pop("payer_name")
        return row

    monkeypatch.setattr(rawsql, "insert_json", without_payer)
    before = counts()

    # when / then
    with pytest.raises(IntegrityError):
        one_call(fields_for(incident, branch), clerk)
    assert counts() == before
