"""What every parser yields and reports: normalised records, row errors and warnings."""

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from outage_desk.money import currency_is_known, currency_places

ERROR_EMPTY = _("The file is empty.")
ERROR_NO_RECORDS = _("The file holds no records.")
ERROR_ENCODING = _("The file is not valid %(encoding)s text: %(detail)s.")
ERROR_MISSING_COLUMN = _("Column “%(column)s” is missing from the header.")
ERROR_REQUIRED = _("A value is required.")
ERROR_AMOUNT = _("“%(value)s” is not an amount.")
ERROR_DATE = _("“%(value)s” is not a date in the format %(format)s.")
ERROR_CURRENCY = _("Unknown currency code “%(value)s”.")
ERROR_DECIMALS = _("%(currency)s amounts have at most %(places)s decimal places.")
ERROR_FORMULA = _(
    "The cell starts with “%(char)s”, which a spreadsheet would run as a formula."
)
ERROR_TOO_LONG = _("At most %(max)s characters.")
ERROR_DUPLICATE_ID = _(
    "External id “%(value)s” appears again (first on line %(first)s)."
)
ERROR_BOTH_DEBIT_CREDIT = _("Both a debit and a credit amount are given.")
ERROR_NOT_XLSX = _("The file is not an Excel (XLSX) workbook: %(detail)s.")
ERROR_BAD_XML = _("The XML is not well formed or is cut short: %(detail)s.")
ERROR_NOT_CAMT = _("The file is not a CAMT.053 or CAMT.054 statement.")
ERROR_BAD_OFX = _("The file is not a readable OFX statement: %(detail)s.")
ERROR_BAD_MT940 = _("The file is not a readable MT940 statement: %(detail)s.")
ERROR_MT940_TRUNCATED = _(
    "Statement %(statement)s is cut short: it has no closing balance (:62F:)."
)
WARNING_BALANCE = _(
    "Statement %(statement)s: opening balance %(opening)s plus entries %(entries)s "
    "is %(computed)s, but the closing balance is %(closing)s."
)
WARNING_COUNT = _(
    "Statement %(statement)s declares %(declared)s entries but holds %(found)s."
)
WARNING_SUM = _(
    "Statement %(statement)s declares entries summing to %(declared)s but they sum to %(found)s."
)

FIELDS = (
    "external_id",
    "account",
    "amount",
    "currency",
    "value_date",
    "counterparty",
    "reference",
    "description",
)
TEXT_LIMITS = {
    "external_id": 140,
    "account": 34,
    "counterparty": 200,
    "reference": 140,
    "description": 2000,
}
# A cell starting with one of these runs as a formula when the file is opened in
# a spreadsheet (CSV injection); amounts are checked as numbers instead.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """One normalised system record as a parser yields it (negative amount = debit)."""

    line: int
    external_id: str
    account: str
    amount: Decimal
    currency: str
    value_date: dt.date
    counterparty: str = ""
    reference: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    """A bad row: where it is, which field, and why."""

    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.reason}"


class ImportRejected(Exception):
    """The file has bad rows; nothing was loaded."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors[:20]))


@dataclass
class ParseReport:
    """Errors and warnings a parse collects while it streams."""

    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_seen: int = 0

    def error(
        self, line: int, field_name: str, reason: object, **params: object
    ) -> None:
        text = str(reason) % params if params else str(reason)
        self.errors.append(RowError(line, field_name, text))

    def warn(self, message: object, **params: object) -> None:
        self.warnings.append(str(message) % params if params else str(message))


@dataclass(frozen=True)
class ProfileSpec:
    """A plain copy of an ImportProfile, so parsers never touch the database."""

    columns: dict[str, str] = field(default_factory=lambda: {f: f for f in FIELDS})
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    header_row: int = 1
    decimal_separator: str = "."
    thousands_separator: str = ""
    date_format: str = "%Y-%m-%d"
    sign: str = "credit_positive"
    default_currency: str = ""
    default_account: str = ""


def amount_parse(raw: str, spec: ProfileSpec) -> Decimal | None:
    """Read an amount written with the profile's separators; None when unreadable."""
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    if spec.thousands_separator:
        text = text.replace(spec.thousands_separator, "")
    if spec.decimal_separator != ".":
        text = text.replace(spec.decimal_separator, ".")
    if not _NUMBER.match(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already guards
        return None
    return -value if negative else value


def check_text(report: ParseReport, line: int, name: str, value: str) -> str:
    """Refuse formula-looking cells and over-long text; return the value stripped."""
    value = value.strip()
    if value and value.startswith(FORMULA_STARTS):
        report.error(line, name, ERROR_FORMULA, char=value[0].replace("\t", "\\t"))
    elif len(value) > TEXT_LIMITS.get(name, 2000):
        report.error(line, name, ERROR_TOO_LONG, max=TEXT_LIMITS[name])
    return value


def check_money(report: ParseReport, line: int, amount: Decimal, currency: str) -> bool:
    """The currency is ISO 4217 and the amount has no more decimals than it allows."""
    if not currency_is_known(currency):
        report.error(line, "currency", ERROR_CURRENCY, value=currency)
        return False
    places = currency_places(currency)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        report.error(line, "amount", ERROR_DECIMALS, currency=currency, places=places)
        return False
    return True
