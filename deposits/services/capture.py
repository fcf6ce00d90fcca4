"""Writes for deposits. Every state change appends an audit event in its transaction."""

import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Required, TypedDict, Unpack

import psycopg2.errorcodes
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    models,
    transaction,
)
from django.db.models import Case, Q, Sum, Value, When
from django.utils import timezone
from psycopg2.errors import DeadlockDetected, SerializationFailure

from incidents.models import Incident
from notifications.models import Channel, Notice, NoticeKind
from notifications.rendering import SUBJECT_MAX_LENGTH, prints_verbatim
from notifications.services import (
    NoticeLookups,
    Recipient,
    notice_lookups_parse,
    notice_lookups_sql,
    notices_insert_sql,
    notices_prepare,
    notices_written,
    notify,
    recipient_clean,
    webhook_event_publish,
)
from outage_desk import rawsql
from outage_desk.audit import (
    GENESIS_HASH,
    audit_append_sql,
    audit_chain_of,
    audit_event_build,
    audit_event_seal,
    audit_event_text,
    audit_head_lock_sql,
    audit_record,
)
from outage_desk.models import User
from outage_desk.money import money_round, money_validate

from ..errors import (
    ERROR_ACCOUNT_NOT_CUSTOMER,
    ERROR_IN_FUTURE,
    ERROR_INCIDENT_CLOSED,
    ERROR_NO_ACCOUNT,
    ERROR_NO_PAYER,
    ERROR_NOT_SUPERVISOR,
    ERROR_OTHER_BRANCH,
    ERROR_OUTSIDE_WINDOW,
    ERROR_UNKNOWN_CHANNEL,
    ERROR_UUID_INVALID,
    DepositConflictError,
    DuplicateSuspectedError,
)
from ..evidence import CheckedFile, evidence_check
from ..models import (
    ApprovalThreshold,
    Branch,
    Customer,
    Deposit,
    DepositConflict,
    DepositEvidence,
    ReceiptCounter,
)
from ..selectors import DUPLICATE_WINDOW, deposit_duplicates_q

# A device clock a little ahead of the server's is not "the future".
CLOCK_SKEW = dt.timedelta(minutes=1)
# The fields that make two submissions with one UUID "the same deposit".
CONTENT_FIELDS = (
    "incident_id",
    "branch_id",
    "channel",
    "customer_id",
    "account",
    "payer_name",
    "amount",
    "currency",
    "received_at",
    "reference",
    "note",
)

# Attempts of one capture when PostgreSQL rolls it back for a serialization failure
# or a deadlock, with a short, growing pause between them.
DB_ATTEMPTS = 4
DB_RETRY_PAUSE = 0.05

logger = logging.getLogger(__name__)


def uuid_parse(value: object) -> uuid.UUID:
    """A UUID from a string or UUID; a malformed one is a field error."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise ValidationError(
            {
                "client_uuid": ValidationError(
                    ERROR_UUID_INVALID, params={"value": value}, code="invalid"
                )
            }
        ) from None


def receipt_number_format(*, branch: Branch, number: int) -> str:
    return f"{branch.code}-{number:06d}"


def _receipt_counter_lock(*, branch: Branch) -> ReceiptCounter:
    """The branch's counter row, locked until the transaction ends."""
    counter, _created = ReceiptCounter.objects.select_for_update().get_or_create(
        branch=branch
    )
    return counter


def receipt_number_allocate(
    *, branch: Branch, counter: ReceiptCounter | None = None
) -> str:
    """The branch's next receipt number; the locked counter row makes it race-free."""
    counter = counter or _receipt_counter_lock(branch=branch)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return receipt_number_format(branch=branch, number=counter.last_number)


def _receipt_counter_raise_to(
    *, branch: Branch, counter: ReceiptCounter, receipt_number: str
) -> None:
    """An imported receipt in our own format moves the counter past it."""
    prefix = f"{branch.code}-"
    digits = receipt_number.removeprefix(prefix)
    if not receipt_number.startswith(prefix) or not digits.isdigit():
        return
    if int(digits) > counter.last_number:
        counter.last_number = int(digits)
        counter.save(update_fields=["last_number"])


_CHANNELS = frozenset(Deposit.Channel.values)  # built once: .values builds a list


def deposit_validate(
    *,
    incident: Incident,
    branch: Branch,
    recorded_by: User | None,
    channel: str,
    account: str,
    payer_name: str,
    amount: Decimal,
    currency: str,
    received_at: dt.datetime,
    customer: Customer | None,
) -> None:
    """Raise one ValidationError naming every bad field; writes nothing."""
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, error: ValidationError) -> None:
        errors.setdefault(field, []).append(error)

    try:
        money_validate(amount, currency)
    except ValidationError as exc:
        add("currency" if exc.code == "currency" else "amount", exc)
    if channel not in _CHANNELS:
        add(
            "channel", ValidationError(ERROR_UNKNOWN_CHANNEL, params={"value": channel})
        )
    if not account.strip():
        add("account", ValidationError(ERROR_NO_ACCOUNT, code="required"))
    elif customer is not None and customer.account != account:
        add(
            "account",
            ValidationError(ERROR_ACCOUNT_NOT_CUSTOMER, params={"account": account}),
        )
    if not payer_name.strip():
        add("payer_name", ValidationError(ERROR_NO_PAYER, code="required"))
    if recorded_by is not None and recorded_by.branch_id != branch.pk:
        add("branch", ValidationError(ERROR_OTHER_BRANCH, code="branch"))
    ref = {"ref": incident.reference}
    now = timezone.now()
    if not incident.capture_window_open(now):
        add("incident", ValidationError(ERROR_INCIDENT_CLOSED, params=ref))
    if received_at > now + CLOCK_SKEW:
        add("received_at", ValidationError(ERROR_IN_FUTURE, code="future"))
    elif not incident.accepts_received_at(received_at):
        add("received_at", ValidationError(ERROR_OUTSIDE_WINDOW, params=ref))
    if errors:
        raise ValidationError(errors)


def _content_differences(existing: Deposit, submitted: dict[str, Any]) -> list[str]:
    return [
        field.removesuffix("_id")
        for field in CONTENT_FIELDS
        if getattr(existing, field) != submitted[field]
    ]


def _replay_or_conflict(existing: Deposit, submitted: dict[str, Any]) -> Deposit:
    """The same UUID again: the same content is a replay, anything else a conflict."""
    if _content_differences(existing, submitted):
        raise DepositConflictError(deposit=existing)
    return existing


def _status_for(*, branch: Branch, amount: Decimal, currency: str) -> str:
    threshold = (
        ApprovalThreshold.objects.filter(branch=branch, currency=currency)
        .values_list("amount", flat=True)
        .first()
    )
    if threshold is not None and amount > threshold:
        return Deposit.Status.PENDING_APPROVAL
    return Deposit.Status.PROVISIONAL


def deposit_notice_recipients(customer: Customer | None) -> list[Recipient]:
    """Where a customer's deposit notices go: e-mail and/or SMS, in their language.

    An unusable address copied from the core system is skipped, never allowed to
    refuse the capture: the deposit matters more than its notice.
    """
    if customer is None:
        return []
    candidates = []
    if customer.email:
        candidates.append(Recipient(Channel.EMAIL, customer.email, customer.language))
    if customer.phone:
        candidates.append(Recipient(Channel.SMS, customer.phone, customer.language))
    recipients = []
    for recipient in candidates:
        try:
            recipients.append(recipient_clean(recipient))
        except ValidationError:
            logger.warning(
                "customer id=%s has an unusable %s address; no notice sent there",
                customer.pk,
                recipient.channel,
            )
    return recipients


def notice_time(value: dt.datetime, zone: dt.tzinfo) -> str:
    """A time as customers read it: local, to the minute, with the zone's short name
    ("2026-11-23 04:03 GMT"), which reads alike in English and Chinese."""
    local = value.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def deposit_notice_context(deposit: Deposit) -> dict[str, Any]:
    """What the deposit notices' templates print (notifications/placeholders.py):
    the amount to the currency's minor digits, times in the branch's zone.

    Runs inside a capture's locks: it reads only the branch, incident and customer
    the deposit already holds, never the database.
    """
    branch, incident, customer = deposit.branch, deposit.incident, deposit.customer
    return {
        "receipt_number": deposit.receipt_number,
        "amount": f"{money_round(deposit.amount, deposit.currency):f}",
        "currency": deposit.currency,
        "received_at": notice_time(deposit.received_at, branch.zone),
        "customer_name": customer.name if customer else "",
        "payer_name": deposit.payer_name,
        "account": deposit.account,
        "branch_name": branch.name,
        "incident_reference": incident.reference,
        # The earlier names, which webhook subscribers to these kinds may read.
        "branch": branch.name,
        "incident": incident.reference,
        "received_at_iso": deposit.received_at.isoformat(),
        "status": deposit.status,
    }


def _deposit_notice(
    deposit: Deposit, *, event: str, extra: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """notify()'s arguments for a notice to the deposit's customer; None if nowhere.

    ``extra``: what the kind adds to the deposit's context (a reversal's reason).
    """
    recipients = deposit_notice_recipients(deposit.customer)
    if not recipients:
        return None
    return {
        "recipients": recipients,
        "context": {**deposit_notice_context(deposit), **(extra or {})},
        "dedupe_key": f"deposit:{deposit.pk}:{event}",
        "subject_refs": [
            f"deposit:{deposit.pk}",
            f"incident:{deposit.incident_id}",
            f"customer:{deposit.customer_id}",
        ],
    }


def _deposit_notify(
    deposit: Deposit,
    *,
    kind: str,
    event: str,
    fresh: bool = False,
    extra: dict[str, Any] | None = None,
) -> None:
    notice = _deposit_notice(deposit, event=event, extra=extra)
    if notice:
        notify(fresh=fresh, kind=kind, **notice)


def _deposit_event(deposit: Deposit, *, event: str) -> dict[str, Any]:
    """webhook_event_publish()'s arguments for a deposit event (see below)."""
    return {
        "event": event,
        "data": {
            "id": deposit.pk,
            "receipt_number": deposit.receipt_number,
            "client_uuid": str(deposit.client_uuid),
            "incident": deposit.incident.reference,
            "branch": deposit.branch.code,
            "channel": deposit.channel,
            "account": deposit.account,
            "amount": f"{money_round(deposit.amount, deposit.currency):f}",
            "currency": deposit.currency,
            "status": deposit.status,
            "source": deposit.source,
            "received_at": deposit.received_at.isoformat(),
            "recorded_at": deposit.recorded_at.isoformat(),
        },
        "dedupe_key": f"deposit:{deposit.pk}:{event}",
        "subject_refs": [f"deposit:{deposit.pk}", f"incident:{deposit.incident_id}"],
    }


def deposit_event_publish(*, deposit: Deposit, event: str, fresh: bool = False) -> None:
    """Tell integrators' webhooks about a deposit (``deposit.recorded``, ``.confirmed``).

    The payload is what the API returns for a deposit, less the payer's name;
    ``fresh``: the deposit was inserted in this transaction (see ``notify()``).
    """
    webhook_event_publish(fresh=fresh, **_deposit_event(deposit, event=event))


def deposit_audit_data(deposit: Deposit) -> dict[str, Any]:
    return {
        "receipt_number": deposit.receipt_number,
        "client_uuid": str(deposit.client_uuid),
        "amount": str(deposit.amount),
        "currency": deposit.currency,
        "account": deposit.account,
        "status": deposit.status,
        "source": deposit.source,
        **({"hold_reason": deposit.hold_reason} if deposit.hold_reason else {}),
    }


@transaction.atomic(savepoint=False)
def deposit_insert(
    *,
    fields: dict[str, Any],
    recorded_by: User,
    receipt_number: str | None,
    evidence: Sequence[CheckedFile] = (),
    check_duplicates: bool = False,
    one_of_many: bool = False,
) -> tuple[Deposit, bool]:
    """Insert a validated deposit exactly once; the shared core of capture and import.

    ``one_of_many``: one row of a file loaded in one transaction, which takes no
    advisory locks (thousands would exhaust PostgreSQL's lock table) and relies
    on the unique constraint for a concurrent insert of its UUID.

    Runs inside the caller's transaction. Locks are narrow and taken late: a
    lock on the client UUID and on what makes two deposits alike (their account
    and amount, their reference) orders the submissions that could be one
    deposit, so a retry finds the first one committed and two clerks entering one
    deposit at once get the duplicate warning, while unrelated captures do not
    wait; the branch's receipt counter row is locked only from the number's
    allocation to the commit, and no number is taken by a submission that turns
    out to be a replay.
    """
    if (
        connection.vendor == "postgresql"
        and not one_of_many
        and receipt_number is None
        and not evidence
    ):
        return _deposit_insert_postgresql(
            fields=fields,
            recorded_by=recorded_by,
            check_duplicates=check_duplicates,
        )
    branch = fields["branch"]
    status = _status_for(
        branch=branch, amount=fields["amount"], currency=fields["currency"]
    )
    locked = not one_of_many and _capture_lock(
        fields, recorded_by=recorded_by, check_duplicates=check_duplicates
    )
    existing, candidates = _same_uuid_and_duplicates(fields, check_duplicates)
    if existing is not None:
        return _replay_or_conflict(existing, _submitted(fields)), False
    if candidates:
        raise DuplicateSuspectedError(candidates=candidates)
    hold = offline_hold(fields=fields, recorded_by=recorded_by)
    if hold:
        status = Deposit.Status.PENDING_APPROVAL
    deposit = Deposit(
        **fields, recorded_by=recorded_by, status=status, hold_reason=hold
    )
    if locked:
        # No one else can insert this UUID until we commit: no savepoint needed.
        deposit.receipt_number = _receipt_number_take(
            branch=branch, receipt_number=receipt_number
        )
        deposit.save(force_insert=True)
    else:
        try:
            with transaction.atomic():
                deposit.receipt_number = _receipt_number_take(
                    branch=branch, receipt_number=receipt_number
                )
                deposit.save(force_insert=True)
        except IntegrityError:
            existing = Deposit.objects.filter(client_uuid=fields["client_uuid"]).first()
            if existing is None:
                raise
            return _replay_or_conflict(existing, _submitted(fields)), False
    for checked in evidence:
        evidence_store(deposit=deposit, checked=checked, uploaded_by=recorded_by)
    # The deposit row is new in this transaction: no notice of it can exist yet.
    _deposit_notify(
        deposit, kind=NoticeKind.DEPOSIT_RECEIVED, event="received", fresh=True
    )
    deposit_event_publish(
        deposit=deposit, event=NoticeKind.EVENT_DEPOSIT_RECORDED, fresh=True
    )
    audit_record(
        action="deposit.recorded",
        obj=deposit,
        actor=recorded_by,
        data=deposit_audit_data(deposit),
    )
    return deposit, True


def _deposit_insert_postgresql(
    *,
    fields: dict[str, Any],
    recorded_by: User,
    check_duplicates: bool,
) -> tuple[Deposit, bool]:
    """``deposit_insert`` for a capture on PostgreSQL: the same steps in three round
    trips of SQL built once, no ORM query on the way.

    1. the capture's advisory locks, then (a statement of its own, so it sees what
       the lock waited for) the deposit with this UUID, the possible duplicates,
       the branch's approval threshold, the new deposit's id and what its notices
       are rendered from;
    2. the next receipt number and the audit chain's head, both locked to commit;
    3. the deposit, its notice and webhook rows with their refs, the audit event
       and the moved head.
    A replay, a conflict or a possible duplicate leaves by the ORM as before,
    before anything is written.
    """
    branch, customer = fields["branch"], fields["customer"]
    recipients = deposit_notice_recipients(customer)
    languages = sorted({r.language for r in recipients} | {settings.LANGUAGE_CODE})
    reference = fields["reference"] if check_duplicates else ""
    params: list[Any] = [fields["client_uuid"]]
    if check_duplicates:
        params += [
            branch.pk,
            Deposit.Status.REVERSED,
            fields["account"],
            fields["amount"],
            fields["currency"],
            fields["received_at"] - DUPLICATE_WINDOW,
            fields["received_at"] + DUPLICATE_WINDOW,
            *([reference] if reference else []),
        ]
    params += [branch.pk, fields["currency"], languages]
    with connection.cursor() as cursor:
        rawsql.execute(
            cursor,
            [
                (
                    _LOCK_SQL,
                    [_capture_lock_keys(fields, recorded_by, check_duplicates)],
                ),
                (_capture_checks_sql(check_duplicates, bool(reference)), params),
            ],
        )
        same_uuid, duplicates, threshold, pk, lookups = cursor.fetchone()
    if same_uuid:
        existing = Deposit.objects.get(pk=same_uuid[0])
        return _replay_or_conflict(existing, _submitted(fields)), False
    if duplicates:
        candidates = Deposit.objects.filter(pk__in=duplicates).order_by("received_at")
        raise DuplicateSuspectedError(candidates=list(candidates))
    deposit = _new_deposit(fields, recorded_by, pk=pk, threshold=threshold)
    chain = audit_chain_of(Deposit._meta.label_lower, str(pk))
    found = notice_lookups_parse(
        lookups, kind=NoticeKind.DEPOSIT_RECEIVED, languages=languages
    )
    # From here to the commit the branch's receipt counter is locked.
    with connection.cursor() as cursor:
        rawsql.execute(
            cursor, [(_capture_number_sql(), [branch.pk, chain, GENESIS_HASH])]
        )
        number, prev_hash = cursor.fetchone()
    deposit.receipt_number = receipt_number_format(branch=branch, number=number)
    notices = _capture_notices(deposit, found)
    event = audit_event_build(
        action="deposit.recorded",
        obj=deposit,
        actor=recorded_by,
        data=deposit_audit_data(deposit),
    )
    audit_event_seal(event, prev_hash=prev_hash)

    statements = [(_deposit_insert_sql(), rawsql.insert_params(deposit, with_pk=True))]
    if notices:
        statements.append(notices_insert_sql(notices.values()))
    statements.append(audit_append_sql(event))
    with connection.cursor() as cursor:
        rawsql.execute(cursor, statements)
    if notices:
        notices_written()
    deposit._state.adding = False
    deposit._state.db = connection.alias
    return deposit, True


def _new_deposit(
    fields: dict[str, Any],
    recorded_by: User,
    *,
    pk: int,
    threshold: Decimal | None,
) -> Deposit:
    """The unsaved deposit of a capture, its status from the branch's approval
    threshold (``threshold``) and its offline limits."""
    status = Deposit.Status.PROVISIONAL
    if threshold is not None and fields["amount"] > threshold:
        status = Deposit.Status.PENDING_APPROVAL
    hold = offline_hold(fields=fields, recorded_by=recorded_by)
    if hold:
        status = Deposit.Status.PENDING_APPROVAL
    return Deposit(
        pk=pk, **fields, recorded_by=recorded_by, status=status, hold_reason=hold
    )


def _capture_notices(deposit: Deposit, lookups: NoticeLookups) -> dict[str, Notice]:
    """A new deposit's notice rows, rendered: its customer's and the webhooks'."""
    notices: dict[str, Notice] = {}
    notice = _deposit_notice(deposit, event="received")
    if notice:
        notices |= notices_prepare(
            kind=NoticeKind.DEPOSIT_RECEIVED, lookups=lookups, **notice
        )
    webhook = _deposit_event(deposit, event=NoticeKind.EVENT_DEPOSIT_RECORDED)
    notices |= notices_prepare(
        kind=webhook.pop("event"),
        recipients=[],
        context=webhook.pop("data"),
        lookups=lookups,
        **webhook,
    )
    return notices


# A branch code that JSON, HTML escaping and the subject's whitespace folding all
# print as it is, so a receipt number can replace its sentinel in rendered text.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9_-]+")
# The Idempotency-Key was taken while the one call ran (see migration 0010).
_KEY_TAKEN = "ODK01"
_UNIQUE_VIOLATION = psycopg2.errorcodes.UNIQUE_VIOLATION
_ONE_CALL_SQL = (
    "SELECT deposits_capture_in_one_call("
    "%s::bigint[], %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _receipt_verbatim(notice: Notice) -> bool:
    """Whether the notice shows its receipt number only as given, so the number can
    replace its sentinel after rendering; a webhook's body is JSON of the context."""
    if notice.channel == Channel.WEBHOOK:
        return True
    version = notice.template_version
    return (
        version is not None
        and len(notice.subject) < SUBJECT_MAX_LENGTH  # not cut short
        and prints_verbatim(version.subject, "receipt_number", html=False)
        and prints_verbatim(version.body_text, "receipt_number", html=False)
        and prints_verbatim(version.body_html, "receipt_number", html=True)
    )


def deposit_capture_in_one_call(
    *,
    fields: dict[str, Any],
    recorded_by: User,
    pk: int,
    threshold: Decimal | None,
    lookups: NoticeLookups,
    keep: Callable[[Deposit], models.Model],
) -> Deposit | None:
    """Write a new, validated deposit in one database call; None: nothing was written
    and the caller takes the ordinary way (``deposit_record``).

    The API lane's capture: ``pk`` (taken from the deposit id sequence),
    ``threshold`` (the branch's approval threshold in the currency) and ``lookups``
    (notice templates and webhook endpoints) were read in the caller's statement;
    ``keep`` gives the row that keeps the request's answer (its Idempotency-Key
    record), written in the same call.

    The rows are built here as ``_deposit_insert_postgresql`` builds them, with
    sentinels where the receipt number and the audit chain's newest hash go; the
    database function (deposits migration 0010) takes the locks, makes the same
    checks, takes the number and the head, puts them in and hashes the audit
    event. A taken UUID or key, a possible duplicate, a branch code or a notice
    template that would not print the number as it is: None, nothing written.
    """
    branch = fields["branch"]
    if connection.vendor != "postgresql" or not _PLAIN_CODE.fullmatch(branch.code):
        return None
    mark = uuid.uuid4().hex
    receipt_mark, prev_mark = f"receipt{mark}", f"prevhash{mark}"
    deposit = _new_deposit(fields, recorded_by, pk=pk, threshold=threshold)
    deposit.receipt_number = receipt_mark
    notices = _capture_notices(deposit, lookups)
    if not all(_receipt_verbatim(notice) for notice in notices.values()):
        return None
    event = audit_event_build(
        action="deposit.recorded",
        obj=deposit,
        actor=recorded_by,
        data=deposit_audit_data(deposit),
    )
    event.prev_hash, event.hash = prev_mark, ""  # the function's to fill in
    rows = {
        "deposit": rawsql.insert_json(deposit, with_pk=True),
        "notices": [rawsql.insert_json(notice) for notice in notices.values()],
        "refs": [
            {"key": notice.dedupe_key, "ref": ref}
            for notice in notices.values()
            for ref in notice.subject_refs
        ],
        "audit": rawsql.insert_json(event),
        "answer": rawsql.insert_json(keep(deposit)),
    }
    window = fields["received_at"]
    params = [
        _capture_lock_keys(fields, recorded_by, check_duplicates=True),
        fields["client_uuid"],
        branch.pk,
        branch.code,
        fields["account"],
        fields["amount"],
        fields["currency"],
        window - DUPLICATE_WINDOW,
        window + DUPLICATE_WINDOW,
        fields["reference"],
        audit_chain_of(event.object_type, event.object_id),
        GENESIS_HASH,
        receipt_mark,
        prev_mark,
        json.dumps(rows),
        audit_event_text(event, prev_mark),
    ]
    try:
        receipt = _one_call(params)
    except DatabaseError as exc:
        # Rolled back whole: a key taken meanwhile, or a unique row another way
        # wrote meanwhile; the ordinary way answers. Anything else (a row the
        # function cannot write) is a fault, never a quiet detour.
        code = getattr(exc.__cause__, "pgcode", None)
        if code == _UNIQUE_VIOLATION:
            logger.warning("one-call capture met a unique row; taking the full way")
        if code in (_KEY_TAKEN, _UNIQUE_VIOLATION):
            return None
        raise
    if receipt is None:
        return None
    deposit.receipt_number = receipt
    deposit._state.adding = False
    deposit._state.db = connection.alias
    if notices:
        notices_written()
    return deposit


def _one_call(params: list[Any]) -> str | None:
    """Run the function: in autocommit it is its own transaction, committed in its
    one round trip; inside a caller's transaction (a test's), in a savepoint, so a
    refusal rolls back only the call."""
    with (
        transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    ):
        with connection.cursor() as cursor:
            rawsql.execute(cursor, [(_ONE_CALL_SQL, params)])
            (receipt,) = cursor.fetchone()
    return receipt


@functools.cache
def _capture_checks_sql(check_duplicates: bool, reference: bool) -> str:
    """The capture's checks, run after its locks (see _deposit_insert_postgresql)."""
    deposits = rawsql.table(Deposit)
    duplicates = "'{}'::bigint[]"
    if check_duplicates:
        close = (
            "account = %s AND amount = %s AND currency = %s"
            " AND received_at >= %s AND received_at <= %s"
        )
        if reference:
            close = f"({close}) OR reference = %s"
        # The same rule as selectors.deposit_duplicates_q (a test holds them equal).
        duplicates = (
            f"ARRAY(SELECT id FROM {deposits}"  # noqa: S608 (model names)
            f" WHERE branch_id = %s AND status <> %s AND ({close})"
            " ORDER BY received_at, id LIMIT 5)"
        )
    return (
        "SELECT"  # noqa: S608 (model names)
        f" ARRAY(SELECT id FROM {deposits} WHERE client_uuid = %s),"
        f" {duplicates},"
        f" (SELECT amount FROM {rawsql.table(ApprovalThreshold)}"
        "  WHERE branch_id = %s AND currency = %s),"
        f" nextval(pg_get_serial_sequence('{Deposit._meta.db_table}', 'id')),"
        f" {notice_lookups_sql(kind=NoticeKind.DEPOSIT_RECEIVED)}"
    )


@functools.cache
def _capture_number_sql() -> str:
    """The next receipt number and the audit chain's newest hash, both locked."""
    return (
        f"WITH counter AS ({_RECEIPT_NEXT_SQL}), head AS ({audit_head_lock_sql()})"  # noqa: S608
        " SELECT counter.last_number, head.last_hash FROM counter, head"
    )


@functools.cache
def _deposit_insert_sql() -> str:
    return rawsql.insert_sql(Deposit, with_pk=True)


def _receipt_number_take(*, branch: Branch, receipt_number: str | None) -> str:
    """The receipt number for a new deposit; its counter row stays locked to commit.

    A number of our own is the counter's next, taken in one statement; an imported
    number is kept as it is and moves the counter past it.
    """
    if receipt_number is not None:
        counter = _receipt_counter_lock(branch=branch)
        _receipt_counter_raise_to(
            branch=branch, counter=counter, receipt_number=receipt_number
        )
        return receipt_number
    with connection.cursor() as cursor:
        cursor.execute(_RECEIPT_NEXT_SQL, [branch.pk])
        (number,) = cursor.fetchone()
    return receipt_number_format(branch=branch, number=number)


# The branch's next receipt number in one statement; its counter row stays locked.
_RECEIPT_NEXT_SQL = (
    f"INSERT INTO {rawsql.table(ReceiptCounter)} AS c"  # noqa: S608 (model name)
    " (branch_id, last_number) VALUES (%s, 1)"
    " ON CONFLICT (branch_id) DO UPDATE SET last_number = c.last_number + 1"
    " RETURNING c.last_number"
)


def _capture_lock(
    fields: dict[str, Any], *, recorded_by: User, check_duplicates: bool
) -> bool:
    """Order the concurrent captures that could be one deposit; True if locked.

    Transaction-scoped advisory locks on the client UUID and, when duplicates are
    checked, on the branch's (account, amount, currency) and its reference: the
    second of two such captures waits for the first to commit, then its checks see
    it. An offline deposit also locks its clerk's offline total, so the offline
    limits count one clerk's deposits one at a time. PostgreSQL only (elsewhere
    writes are serialised anyway, and a lost UUID race is caught by the unique
    constraint).
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_SQL, [_capture_lock_keys(fields, recorded_by, check_duplicates)]
        )
    return True


_LOCK_SQL = "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k"


def _capture_lock_keys(
    fields: dict[str, Any], recorded_by: User, check_duplicates: bool
) -> list[int]:
    """The advisory lock keys of ``_capture_lock``, sorted."""
    branch = fields["branch"].pk
    names = [f"deposit-uuid:{fields['client_uuid']}"]
    if check_duplicates:
        amount = format(fields["amount"].normalize(), "f")  # 10.0 and 10.00 alike
        names.append(
            f"deposit:{branch}:{fields['account']}:{amount}:{fields['currency']}"
        )
        if fields["reference"]:
            names.append(f"deposit-ref:{branch}:{fields['reference']}")
    if fields["source"] == Deposit.Source.OFFLINE:
        names.append(f"deposit-offline:{branch}:{recorded_by.pk}")
    return sorted({_lock_key(name) for name in names})


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def offline_hold(*, fields: dict[str, Any], recorded_by: User) -> str:
    """Why an offline deposit must wait for a supervisor; "" within the limits.

    The branch's limits are in its currency: the most one offline deposit may be,
    and the most a clerk may hold taken offline and not yet sent. The server sees
    the latter as this deposit plus the clerk's offline deposits taken before it
    (device time) that had not reached the server when it was taken. Runs under
    the clerk's offline lock (``_capture_lock``), so one clerk's deposits are
    counted one at a time.
    """
    branch = fields["branch"]
    max_amount, max_total = branch.offline_max_amount, branch.offline_max_total
    if fields["source"] != Deposit.Source.OFFLINE or (
        max_amount is None and max_total is None
    ):
        return ""
    if fields["currency"] != branch.currency:
        return Deposit.HoldReason.OFFLINE_CURRENCY
    amount = fields["amount"]
    if max_amount is not None and amount > max_amount:
        return Deposit.HoldReason.OFFLINE_OVER_MAX
    if max_total is not None:
        taken = fields["device_time"] or fields["received_at"]
        held = (
            Deposit.objects.filter(
                branch=branch,
                recorded_by=recorded_by,
                source=Deposit.Source.OFFLINE,
                currency=branch.currency,
                recorded_at__gte=taken,
            )
            .filter(
                Q(device_time__lte=taken)
                | Q(device_time__isnull=True, received_at__lte=taken)
            )
            .exclude(status=Deposit.Status.REVERSED)
            .aggregate(total=Sum("amount"))["total"]
        )
        if (held or Decimal(0)) + amount > max_total:
            return Deposit.HoldReason.OFFLINE_OVER_TOTAL
    return ""


def _same_uuid_and_duplicates(
    fields: dict[str, Any], check_duplicates: bool
) -> tuple[Deposit | None, list[Deposit]]:
    """The deposit with this UUID, if any, and the possible duplicates, in one query.

    One round trip for both questions.
    """
    uuid_q = Q(client_uuid=fields["client_uuid"])
    if not check_duplicates:
        return Deposit.objects.filter(uuid_q).first(), []
    close = deposit_duplicates_q(
        branch=fields["branch"],
        account=fields["account"],
        amount=fields["amount"],
        currency=fields["currency"],
        received_at=fields["received_at"],
        reference=fields["reference"],
    )
    rows = list(
        Deposit.objects.filter(uuid_q | close).order_by(
            Case(When(uuid_q, then=Value(0)), default=Value(1)), "received_at"
        )[:6]
    )
    if rows and rows[0].client_uuid == fields["client_uuid"]:
        return rows[0], []
    return None, rows[:5]


def _submitted(fields: dict[str, Any]) -> dict[str, Any]:
    """The submitted content keyed like CONTENT_FIELDS."""
    customer = fields.get("customer")
    out = {name: fields[name] for name in CONTENT_FIELDS if not name.endswith("_id")}
    out["incident_id"] = fields["incident"].pk
    out["branch_id"] = fields["branch"].pk
    out["customer_id"] = customer.pk if customer else None
    return out


def evidence_store(
    *, deposit: Deposit, checked: CheckedFile, uploaded_by: User
) -> DepositEvidence:
    """Store one checked file under a random name. Runs in the caller's transaction.

    A rolled-back transaction can leave an orphan file behind, never a row
    pointing at a missing file.
    """
    return DepositEvidence.objects.create(
        deposit=deposit,
        file=checked.upload,
        content_type=checked.content_type,
        size=checked.size,
        original_name=(checked.upload.name or "")[:200],
        uploaded_by=uploaded_by,
    )


class CaptureArguments(TypedDict, total=False):
    """What a capture is given: ``capture_fields``' and ``deposit_record``'s arguments."""

    incident: Required[Incident]
    branch: Required[Branch]
    client_uuid: Required[uuid.UUID | str]
    channel: Required[str]
    account: Required[str]
    payer_name: Required[str]
    amount: Required[Decimal]
    currency: Required[str]
    received_at: Required[dt.datetime]
    source: Required[str]
    reference: str
    note: str
    customer: Customer | None
    device_time: dt.datetime | None
    duplicate_reason: str


def capture_fields(**capture: Unpack[CaptureArguments]) -> dict[str, Any]:
    """A capture's fields as it writes them: the UUID parsed, text trimmed, a blank
    account taken from the customer."""
    customer = capture.get("customer")
    return {
        "client_uuid": uuid_parse(capture["client_uuid"]),
        "incident": capture["incident"],
        "branch": capture["branch"],
        "channel": capture["channel"],
        "customer": customer,
        "account": capture["account"].strip() or (customer.account if customer else ""),
        "payer_name": capture["payer_name"].strip(),
        "amount": capture["amount"],
        "currency": capture["currency"],
        "received_at": capture["received_at"],
        "reference": capture.get("reference", "").strip(),
        "note": capture.get("note", "").strip(),
        "source": capture["source"],
        "device_time": capture.get("device_time"),
        "duplicate_reason": capture.get("duplicate_reason", "").strip(),
    }


def capture_fields_validate(fields: dict[str, Any], *, recorded_by: User) -> None:
    """``deposit_validate`` of ``capture_fields``."""
    deposit_validate(
        incident=fields["incident"],
        branch=fields["branch"],
        recorded_by=recorded_by,
        channel=fields["channel"],
        account=fields["account"],
        payer_name=fields["payer_name"],
        amount=fields["amount"],
        currency=fields["currency"],
        received_at=fields["received_at"],
        customer=fields["customer"],
    )


def deposit_record(
    *,
    recorded_by: User,
    receipt_number: str | None = None,
    evidence: Sequence[UploadedFile] = (),
    **capture: Unpack[CaptureArguments],
) -> tuple[Deposit, bool]:
    """Record a deposit exactly once by its client UUID; returns (deposit, created).

    The same UUID with the same content returns the first deposit; with other
    content it raises DepositConflictError after keeping the attempt for review.
    """
    fields = capture_fields(**capture)
    try:
        return _deposit_record_retrying(
            fields=fields,
            recorded_by=recorded_by,
            receipt_number=receipt_number,
            evidence=evidence,
        )
    except DepositConflictError as exc:
        # The refused attempt is kept in its own transaction, after the failed one.
        exc.conflict = deposit_conflict_record(
            deposit=exc.deposit, fields=fields, submitted_by=recorded_by
        )
        raise


def _retryable(exc: OperationalError) -> bool:
    """A serialization failure or a deadlock: the transaction was rolled back whole."""
    return isinstance(exc.__cause__, SerializationFailure | DeadlockDetected)


def _deposit_record_retrying(**kwargs: Any) -> tuple[Deposit, bool]:
    """Run the capture transaction again when PostgreSQL chose it as a victim.

    Nothing of a rolled-back attempt remains, and the client UUID makes a rerun
    after an attempt that did commit a replay, so retrying is always safe.
    """
    for attempt in range(1, DB_ATTEMPTS + 1):
        try:
            return _deposit_record(**kwargs)
        except OperationalError as exc:
            if attempt == DB_ATTEMPTS or not _retryable(exc):
                raise
            logger.warning(
                "capture attempt %s rolled back (%s); retrying",
                attempt,
                type(exc.__cause__).__name__,
            )
            time.sleep(DB_RETRY_PAUSE * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@transaction.atomic(durable=True)
def _deposit_record(
    *,
    fields: dict[str, Any],
    recorded_by: User,
    receipt_number: str | None,
    evidence: Sequence[UploadedFile],
) -> tuple[Deposit, bool]:
    try:
        capture_fields_validate(fields, recorded_by=recorded_by)
        checked = evidence_check(evidence)
    except ValidationError:
        # A retry of a deposit already saved gets its receipt back whatever changed
        # since (a reload after the capture window closed); deposit_insert answers
        # the retries of valid submissions.
        existing = Deposit.objects.filter(client_uuid=fields["client_uuid"]).first()
        if existing is not None:
            return _replay_or_conflict(existing, _submitted(fields)), False
        raise
    return deposit_insert(
        fields=fields,
        recorded_by=recorded_by,
        receipt_number=receipt_number,
        evidence=checked,
        check_duplicates=not fields["duplicate_reason"],
    )


@transaction.atomic(durable=True)
def deposit_conflict_record(
    *, deposit: Deposit, fields: dict[str, Any], submitted_by: User
) -> DepositConflict:
    """Keep a refused same-UUID attempt in the supervisors' conflicts queue."""
    submitted = _submitted(fields)
    payload = {k.removesuffix("_id"): v for k, v in submitted.items()}
    payload["source"] = fields["source"]
    payload = _jsonable(payload)
    # A retry of the same refused attempt (a double click) is one queue entry.
    repeated = DepositConflict.objects.filter(
        client_uuid=fields["client_uuid"],
        submitted_by=submitted_by,
        status=DepositConflict.Status.OPEN,
        payload=payload,
    ).first()
    if repeated is not None:
        return repeated
    conflict = DepositConflict.objects.create(
        client_uuid=fields["client_uuid"],
        deposit=deposit,
        branch=fields["branch"],
        submitted_by=submitted_by,
        source=fields["source"],
        payload=payload,
        differences=_content_differences(deposit, submitted),
    )
    audit_record(
        action="deposit.conflict",
        obj=conflict,
        actor=submitted_by,
        data={"client_uuid": str(conflict.client_uuid), "deposit": deposit.pk},
    )
    return conflict


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, dt.datetime):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal | uuid.UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def deposit_check_supervisor(*, deposit: Deposit, user: User) -> None:
    """Only a supervisor of the deposit's own branch may decide on it."""
    if not user.has_perm("deposits.approve_deposit") or (
        user.branch_id != deposit.branch_id and not user.is_superuser
    ):
        raise PermissionDenied(ERROR_NOT_SUPERVISOR)
