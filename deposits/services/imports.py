"""CSV imports: branches, customers and a branch's deposit log.

Every row is validated before anything is written; one bad row means nothing
changes, and every bad row is reported with its line, column and reason.
"""

import csv
import datetime as dt
import io
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from outage_desk.audit import audit_record
from outage_desk.models import User
from outage_desk.money import currency_is_known, money_parse, money_validate

from ..errors import DepositConflictError
from ..models import Branch, Customer, Deposit, ImportLog
from .capture import CLOCK_SKEW, deposit_insert

BRANCH_COLUMNS = ["code", "name", "timezone", "currency"]
CUSTOMER_COLUMNS = ["account", "name", "tier", "language", "email", "phone", "branch"]
DEPOSIT_COLUMNS = [
    "receipt_number",
    "branch",
    "channel",
    "account",
    "payer_name",
    "amount",
    "currency",
    "received_at",
    "reference",
    "note",
]
# Imported rows get a UUID derived from branch and receipt, so a second import of
# the same log maps every row onto the deposit it already made.
IMPORT_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4f7b-9a51-0d5e2b7c4a10")
IMPORT_USERNAME = "import"

ERROR_HEADER = _("The header must be: %(columns)s")
ERROR_REQUIRED = _("is required")
ERROR_TOO_LONG = _("is longer than %(max)s characters")
ERROR_UNKNOWN_TZ = _("unknown time zone “%(value)s”")
ERROR_UNKNOWN_CURRENCY = _("unknown currency “%(value)s”")
ERROR_UNKNOWN_BRANCH = _("unknown branch “%(value)s”")
ERROR_UNKNOWN_CHOICE = _("“%(value)s” is not one of %(choices)s")
ERROR_BAD_EMAIL = _("“%(value)s” is not an e-mail address")
ERROR_REPEATED = _("“%(value)s” appears more than once in the file")
ERROR_BAD_DATETIME = _("“%(value)s” is not an ISO 8601 time with an offset")
ERROR_OUTSIDE = _("is outside the capture window of incident %(ref)s")
ERROR_FUTURE = _("is in the future")
ERROR_NOT_OWN_BRANCH = _("is not your branch")
ERROR_NOT_UTF8 = _("The file is not UTF-8 text.")
ERROR_OFFLINE_SENT_OTHERWISE = _(
    "this offline deposit was already sent with other content (receipt %(receipt)s)"
)
WARNING_LOOKS_LIKE = _(
    "line %(line)s: looks like deposit %(receipt)s (same account, amount and reference)"
)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class ImportRefused(Exception):
    """The file has bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    log: ImportLog | None = None


def csv_rows(
    source: IO[bytes] | IO[str], columns: list[str]
) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a UTF-8 CSV whose header is exactly ``columns``."""
    raw = source.read()
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRefused([RowError(1, "-", str(ERROR_NOT_UTF8))]) from None
    reader = csv.DictReader(io.StringIO(raw))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if header != columns:
        message = str(ERROR_HEADER % {"columns": ",".join(columns)})
        raise ImportRefused([RowError(1, "header", message)])
    reader.fieldnames = header
    return [
        (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
        for row in reader
    ]


class _Errors:
    def __init__(self) -> None:
        self.items: list[RowError] = []

    def add(self, line: int, column: str, message: Any, **params: Any) -> None:
        self.items.append(
            RowError(line, column, str(message % params if params else message))
        )

    def raise_any(self) -> None:
        if self.items:
            raise ImportRefused(self.items)


def _check_required(
    errors: _Errors,
    line: int,
    row: dict[str, str],
    names: Iterable[str],
    limits: dict[str, int],
) -> None:
    for name in names:
        if not row[name]:
            errors.add(line, name, ERROR_REQUIRED)
    for name, limit in limits.items():
        if len(row[name]) > limit:
            errors.add(line, name, ERROR_TOO_LONG, max=limit)


def _check_unique(
    errors: _Errors, rows: list[tuple[int, dict[str, str]]], key: str
) -> None:
    seen: set[str] = set()
    for line, row in rows:
        if row[key] and row[key] in seen:
            errors.add(line, key, ERROR_REPEATED, value=row[key])
        seen.add(row[key])


def _log(
    kind: str, result: ImportResult, *, file_name: str, user: User | None
) -> ImportLog:
    log = ImportLog.objects.create(
        kind=kind,
        file_name=file_name[:255],
        created=result.created,
        updated=result.updated,
        skipped=result.skipped,
        warnings=result.warnings[:200],
        imported_by=user,
    )
    audit_record(
        action=f"import.{kind}",
        obj=log,
        actor=user,
        data={
            "created": result.created,
            "updated": result.updated,
            "skipped": result.skipped,
            "file": log.file_name,
        },
    )
    return log


@transaction.atomic(durable=True)
def branches_import(
    *, source: IO[bytes] | IO[str], file_name: str = "", imported_by: User | None = None
) -> ImportResult:
    """Upsert branches by code from `code,name,timezone,currency`."""
    rows = csv_rows(source, BRANCH_COLUMNS)
    errors = _Errors()
    zones = zoneinfo.available_timezones()
    for line, row in rows:
        _check_required(errors, line, row, BRANCH_COLUMNS, {"code": 20, "name": 200})
        if row["timezone"] and row["timezone"] not in zones:
            errors.add(line, "timezone", ERROR_UNKNOWN_TZ, value=row["timezone"])
        if row["currency"] and not currency_is_known(row["currency"]):
            errors.add(line, "currency", ERROR_UNKNOWN_CURRENCY, value=row["currency"])
    _check_unique(errors, rows, "code")
    errors.raise_any()
    now = timezone.now()
    existing = {
        b.code: b
        for b in Branch.objects.select_for_update().filter(
            code__in=[r["code"] for _, r in rows]
        )
    }
    result = ImportResult()
    for _line, row in rows:
        values = {
            "name": row["name"],
            "timezone": row["timezone"],
            "currency": row["currency"],
            "refreshed_at": now,
        }
        branch = existing.get(row["code"])
        if branch is None:
            Branch.objects.create(code=row["code"], **values)
            result.created += 1
        else:
            Branch.objects.filter(pk=branch.pk).update(**values)
            result.updated += 1
    result.log = _log(
        ImportLog.Kind.BRANCHES, result, file_name=file_name, user=imported_by
    )
    return result


def _customer_errors(
    rows: list[tuple[int, dict[str, str]]], branches: dict[str, int]
) -> _Errors:
    errors = _Errors()
    languages = [code for code, _name in settings.LANGUAGES]
    tiers = Customer.Tier.values
    for line, row in rows:
        _check_required(
            errors,
            line,
            row,
            ["account", "name"],
            {"account": 34, "name": 200, "phone": 20},
        )
        if row["tier"] and row["tier"] not in tiers:
            errors.add(
                line,
                "tier",
                ERROR_UNKNOWN_CHOICE,
                value=row["tier"],
                choices=", ".join(tiers),
            )
        if row["language"] and row["language"] not in languages:
            errors.add(
                line,
                "language",
                ERROR_UNKNOWN_CHOICE,
                value=row["language"],
                choices=", ".join(languages),
            )
        if row["email"]:
            try:
                validate_email(row["email"])
            except ValidationError:
                errors.add(line, "email", ERROR_BAD_EMAIL, value=row["email"])
        if row["branch"] and row["branch"] not in branches:
            errors.add(line, "branch", ERROR_UNKNOWN_BRANCH, value=row["branch"])
    _check_unique(errors, rows, "account")
    return errors


@transaction.atomic(durable=True)
def customers_import(
    *, source: IO[bytes] | IO[str], file_name: str = "", imported_by: User | None = None
) -> ImportResult:
    """Upsert customers by account from `account,name,tier,language,email,phone,branch`."""
    rows = csv_rows(source, CUSTOMER_COLUMNS)
    branches = dict(Branch.objects.values_list("code", "pk"))
    _customer_errors(rows, branches).raise_any()
    now = timezone.now()
    existing = dict(
        Customer.objects.filter(
            account__in=[r["account"] for _, r in rows]
        ).values_list("account", "pk")
    )
    new: list[Customer] = []
    changed: list[Customer] = []
    for _line, row in rows:
        customer = Customer(
            pk=existing.get(row["account"]),
            account=row["account"],
            name=row["name"],
            tier=row["tier"] or Customer.Tier.STANDARD,
            language=row["language"] or "en",
            email=row["email"],
            phone=row["phone"],
            branch_id=branches.get(row["branch"]),
            refreshed_at=now,
        )
        (changed if customer.pk else new).append(customer)
    Customer.objects.bulk_create(new, batch_size=2000)
    fields = ["name", "tier", "language", "email", "phone", "branch", "refreshed_at"]
    Customer.objects.bulk_update(changed, fields, batch_size=2000)
    result = ImportResult(created=len(new), updated=len(changed))
    result.log = _log(
        ImportLog.Kind.CUSTOMERS, result, file_name=file_name, user=imported_by
    )
    return result


def import_user() -> User:
    """The inactive account imports are recorded under when no person is named."""
    user, created = User.objects.get_or_create(
        username=IMPORT_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _parse_received(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _deposit_row_errors(
    errors: _Errors,
    line: int,
    row: dict[str, str],
    *,
    incident: Incident,
    branches: dict[str, Branch],
    only_branch: Branch | None,
) -> dict[str, Any] | None:
    """Check one log row; return its parsed values, or None when it has errors."""
    before = len(errors.items)
    _check_required(
        errors,
        line,
        row,
        [
            "receipt_number",
            "branch",
            "channel",
            "account",
            "payer_name",
            "amount",
            "currency",
            "received_at",
        ],
        {"receipt_number": 40, "account": 34, "payer_name": 200, "reference": 140},
    )
    branch = branches.get(row["branch"])
    if row["branch"] and branch is None:
        errors.add(line, "branch", ERROR_UNKNOWN_BRANCH, value=row["branch"])
    elif branch is not None and only_branch is not None and branch.pk != only_branch.pk:
        errors.add(line, "branch", ERROR_NOT_OWN_BRANCH)
    if row["channel"] and row["channel"] not in Deposit.Channel.values:
        errors.add(
            line,
            "channel",
            ERROR_UNKNOWN_CHOICE,
            value=row["channel"],
            choices=", ".join(Deposit.Channel.values),
        )
    amount: Decimal | None = None
    if row["amount"] and row["currency"]:
        try:
            amount = money_parse(row["amount"])
            money_validate(amount, row["currency"])
        except ValidationError as exc:
            column = "currency" if exc.code == "currency" else "amount"
            errors.add(line, column, " ".join(exc.messages))
    received = _parse_received(row["received_at"]) if row["received_at"] else None
    if row["received_at"] and received is None:
        errors.add(line, "received_at", ERROR_BAD_DATETIME, value=row["received_at"])
    elif received is not None and received > timezone.now() + CLOCK_SKEW:
        errors.add(line, "received_at", ERROR_FUTURE)
    elif received is not None and not incident.accepts_received_at(received):
        errors.add(line, "received_at", ERROR_OUTSIDE, ref=incident.reference)
    if len(errors.items) != before:
        return None
    return {"branch": branch, "amount": amount, "received_at": received}


@transaction.atomic(durable=True)
def deposits_import(
    *,
    source: IO[bytes] | IO[str],
    incident: Incident,
    file_name: str = "",
    imported_by: User | None = None,
    only_branch: Branch | None = None,
) -> ImportResult:
    """Load a branch's paper or spreadsheet log; rows keep their receipt numbers.

    A receipt already imported for its branch is skipped, so the same file twice
    adds nothing. A row that looks like another deposit is kept with a warning:
    finding true duplicates is reconciliation's job.
    """
    rows = csv_rows(source, DEPOSIT_COLUMNS)
    branches = {
        b.code: b
        for b in Branch.objects.filter(code__in={r["branch"] for _, r in rows})
    }
    errors = _Errors()
    parsed = [
        (
            line,
            row,
            _deposit_row_errors(
                errors,
                line,
                row,
                incident=incident,
                branches=branches,
                only_branch=only_branch,
            ),
        )
        for line, row in rows
    ]
    seen: set[tuple[str, str]] = set()
    for line, row, _values in parsed:
        key = (row["branch"], row["receipt_number"])
        if row["receipt_number"] and key in seen:
            errors.add(
                line, "receipt_number", ERROR_REPEATED, value=row["receipt_number"]
            )
        seen.add(key)
    errors.raise_any()
    user = imported_by or import_user()
    customers = {
        c.account: c
        for c in Customer.objects.filter(account__in={r["account"] for _, r in rows})
    }
    result = ImportResult()
    for line, row, values in parsed:
        if values is None:  # unreachable: any row error raised above
            continue
        _deposit_import_row(
            line,
            row,
            values,
            incident=incident,
            user=user,
            customers=customers,
            result=result,
        )
    result.log = _log(ImportLog.Kind.DEPOSITS, result, file_name=file_name, user=user)
    return result


def _deposit_import_row(
    line: int,
    row: dict[str, str],
    values: dict[str, Any],
    *,
    incident: Incident,
    user: User,
    customers: dict[str, Customer],
    result: ImportResult,
) -> None:
    branch = values["branch"]
    if Deposit.objects.filter(
        branch=branch, receipt_number=row["receipt_number"]
    ).exists():
        result.skipped += 1
        return
    if row["reference"]:
        twin = (
            Deposit.objects.filter(
                branch=branch,
                account=row["account"],
                amount=values["amount"],
                reference=row["reference"],
            )
            .exclude(status=Deposit.Status.REVERSED)
            .values_list("receipt_number", flat=True)
            .first()
        )
        if twin:
            result.warnings.append(
                str(WARNING_LOOKS_LIKE % {"line": line, "receipt": twin})
            )
    customer = customers.get(row["account"])
    offline_uuid = _offline_uuid(row["receipt_number"])
    fields = {
        "client_uuid": offline_uuid
        or uuid.uuid5(IMPORT_NAMESPACE, f"{branch.code}:{row['receipt_number']}"),
        "incident": incident,
        "branch": branch,
        "channel": row["channel"],
        "customer": customer,
        "account": row["account"],
        "payer_name": row["payer_name"],
        "amount": values["amount"],
        "currency": row["currency"],
        "received_at": values["received_at"],
        "reference": row["reference"],
        "note": row["note"],
        "source": Deposit.Source.IMPORT,
        "device_time": None,
        "duplicate_reason": "",
    }
    try:
        _deposit, created = deposit_insert(
            fields=fields,
            recorded_by=user,
            receipt_number=None if offline_uuid else row["receipt_number"],
            one_of_many=True,
        )
    except DepositConflictError as exc:
        message = ERROR_OFFLINE_SENT_OTHERWISE % {"receipt": exc.deposit.receipt_number}
        raise ImportRefused([RowError(line, "receipt_number", str(message))]) from None
    if created:
        result.created += 1
    else:
        result.skipped += 1


def _offline_uuid(receipt_number: str) -> uuid.UUID | None:
    """A receipt "number" that is a UUID comes from a clerk's offline export.

    It is that deposit's client UUID, so importing the export and the device
    sending the same deposit later record it once; it gets a real receipt number.
    """
    if len(receipt_number) != 36:
        return None
    try:
        return uuid.UUID(receipt_number)
    except ValueError:
        return None
