"""CSV and XLSX through an import profile: column mapping, separators, dates, signs."""

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from outage_desk.money import currency_is_known, currency_places

from .base import (
    ERROR_AMOUNT,
    ERROR_BOTH_DEBIT_CREDIT,
    ERROR_DATE,
    ERROR_EMPTY,
    ERROR_ENCODING,
    ERROR_MISSING_COLUMN,
    ERROR_NOT_XLSX,
    ERROR_REQUIRED,
    FORMULA_STARTS,
    TEXT_LIMITS,
    ParsedRecord,
    ParseReport,
    ProfileSpec,
    amount_parse,
    check_money,
    check_text,
)

FORMULA_CHARS = frozenset(FORMULA_STARTS)

Cell = str | int | float | Decimal | dt.date | dt.datetime | None


def _required_fields(spec: ProfileSpec) -> list[str]:
    needed = ["external_id", "value_date"]
    if spec.sign == "columns":
        needed += ["debit", "credit"]
    else:
        needed.append("amount")
    if not spec.default_currency:
        needed.append("currency")
    return needed


def _column_index(
    header: Sequence[Cell], spec: ProfileSpec, report: ParseReport, line: int
) -> dict[str, int] | None:
    """Map each profile field to a column position; report every missing column."""
    names = [str(c).strip() if c is not None else "" for c in header]
    index: dict[str, int] = {}
    for field_name, column in spec.columns.items():
        if not column:
            continue
        if spec.header_row == 0:
            index[field_name] = int(column) - 1
        elif column in names:
            index[field_name] = names.index(column)
        elif column.isdigit():
            index[field_name] = int(column) - 1
    missing = [f for f in _required_fields(spec) if f not in index]
    for field_name in missing:
        report.error(
            line,
            field_name,
            ERROR_MISSING_COLUMN,
            column=spec.columns.get(field_name) or field_name,
        )
    return None if missing else index


def _cell_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Spreadsheet numbers arrive as binary floats; their shortest repr is what
        # the user typed, and Decimal takes it from there.
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value)


def _cell_amount(
    value: Cell, name: str, line: int, spec: ProfileSpec, report: ParseReport
) -> Decimal | None:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = _cell_text(value).strip()
    if not text:
        return None
    amount = amount_parse(text, spec)
    if amount is None:
        report.error(line, name, ERROR_AMOUNT, value=text)
    return amount


def _cell_date(
    value: Cell, line: int, spec: ProfileSpec, report: ParseReport
) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _cell_text(value).strip()
    if not text:
        report.error(line, "value_date", ERROR_REQUIRED)
        return None
    try:
        if (
            spec.date_format == "%Y-%m-%d"
            and len(text) == 10
            and text[4] == text[7] == "-"
        ):
            return dt.date.fromisoformat(text)
        return dt.datetime.strptime(text, spec.date_format).date()  # noqa: DTZ007
    except ValueError:
        report.error(
            line, "value_date", ERROR_DATE, value=text, format=spec.date_format
        )
        return None


def _signed_amount(
    cells: Sequence[Cell],
    index: dict[str, int],
    line: int,
    spec: ProfileSpec,
    report: ParseReport,
) -> Decimal | None:
    def cell(name: str) -> Cell:
        pos = index.get(name)
        return cells[pos] if pos is not None and pos < len(cells) else None

    if spec.sign == "columns":
        before = len(report.errors)
        debit = _cell_amount(cell("debit"), "debit", line, spec, report)
        credit = _cell_amount(cell("credit"), "credit", line, spec, report)
        if len(report.errors) > before:
            return None
        if debit and credit:
            report.error(line, "credit", ERROR_BOTH_DEBIT_CREDIT)
            return None
        if debit is None and credit is None:
            report.error(line, "amount", ERROR_REQUIRED)
            return None
        return credit if credit else -abs(debit or Decimal(0))
    raw = cell("amount")
    if raw is None or _cell_text(raw).strip() == "":
        report.error(line, "amount", ERROR_REQUIRED)
        return None
    amount = _cell_amount(raw, "amount", line, spec, report)
    if amount is not None and spec.sign == "credit_negative":
        amount = -amount
    return amount


def rows_to_records(
    rows: Iterable[tuple[int, Sequence[Cell]]], spec: ProfileSpec, report: ParseReport
) -> Iterator[ParsedRecord]:
    """Turn (line, cells) rows into records; bad rows land in the report."""
    reader: _RowReader | None = None
    if spec.header_row == 0:
        index = _column_index([], spec, report, 0)
        if index is None:
            return
        reader = _RowReader(index, spec, report)
    for line, cells in rows:
        if reader is None:
            if line < spec.header_row:
                continue
            index = _column_index(cells, spec, report, line)
            if index is None:
                return
            reader = _RowReader(index, spec, report)
            continue
        if not cells or (
            cells[0] in (None, "") and not any(_cell_text(c).strip() for c in cells)
        ):
            continue  # blank line
        report.rows_seen += 1
        record = reader.read(line, cells)
        if record is not None:
            yield record
    if reader is None and not report.errors:
        report.error(0, "file", ERROR_EMPTY)


_TEXT_FIELDS = ("external_id", "account", "counterparty", "reference", "description")


class _RowReader:
    """Reads rows with column positions and caches worked out once (the hot path)."""

    def __init__(self, index: dict[str, int], spec: ProfileSpec, report: ParseReport):
        self.index = index
        self.spec = spec
        self.report = report
        self.text_at = [
            (name, index.get(name), TEXT_LIMITS[name]) for name in _TEXT_FIELDS
        ]
        self.currency_at = index.get("currency")
        self.date_at = index.get("value_date")
        self.dates: dict[str, dt.date | None] = {}
        self.places: dict[str, int | None] = {}

    def read(self, line: int, cells: Sequence[Cell]) -> ParsedRecord | None:
        report, spec = self.report, self.spec
        before = len(report.errors)
        size = len(cells)
        texts: dict[str, str] = {}
        for name, pos, limit in self.text_at:
            raw = cells[pos] if pos is not None and pos < size else None
            value = (raw if isinstance(raw, str) else _cell_text(raw)).strip()
            if value and (value[0] in FORMULA_CHARS or len(value) > limit):
                value = check_text(report, line, name, value)
            texts[name] = value
        if not texts["external_id"]:
            report.error(line, "external_id", ERROR_REQUIRED)
        pos = self.currency_at
        raw_ccy = cells[pos] if pos is not None and pos < size else None
        currency = _cell_text(raw_ccy).strip().upper() or spec.default_currency
        amount = _signed_amount(cells, self.index, line, spec, report)
        value_date = self._date(line, cells)
        if amount is not None:
            self._money(line, amount, currency)
        if len(report.errors) > before or amount is None or value_date is None:
            return None
        return ParsedRecord(
            line,
            texts["external_id"],
            texts["account"] or spec.default_account,
            amount,
            currency,
            value_date,
            texts["counterparty"],
            texts["reference"],
            texts["description"],
        )

    def _date(self, line: int, cells: Sequence[Cell]) -> dt.date | None:
        pos = self.date_at
        raw = cells[pos] if pos is not None and pos < len(cells) else None
        if not isinstance(raw, str):
            return _cell_date(raw, line, self.spec, self.report)
        # Restored files repeat a handful of dates: parse each text once.
        if raw in self.dates:
            value = self.dates[raw]
        else:
            before = len(self.report.errors)
            value = _cell_date(raw, line, self.spec, self.report)
            if len(self.report.errors) == before and len(self.dates) < 100_000:
                self.dates[raw] = value
            return value
        return value

    def _money(self, line: int, amount: Decimal, currency: str) -> None:
        places = self.places.get(currency, -1)
        if places == -1:
            places = currency_places(currency) if currency_is_known(currency) else None
            self.places[currency] = places
        exponent = amount.as_tuple().exponent
        if places is None or not isinstance(exponent, int) or -exponent > places:
            check_money(self.report, line, amount, currency)


def parse_csv(
    path: Path, spec: ProfileSpec, report: ParseReport
) -> Iterator[ParsedRecord]:
    """Stream a CSV file in the profile's encoding; a decoding error stops the parse."""
    if path.stat().st_size == 0:
        report.error(0, "file", ERROR_EMPTY)
        return
    with path.open("rb") as handle:
        reader = csv.reader(
            _decoded_lines(handle, spec, report), delimiter=spec.delimiter or ","
        )
        numbered = ((reader.line_num, row) for row in reader)
        try:
            yield from rows_to_records(numbered, spec, report)
        except csv.Error as exc:
            report.error(reader.line_num, "file", str(exc))


def _decoded_lines(
    handle: BinaryIO, spec: ProfileSpec, report: ParseReport
) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported with its line number."""
    decoder = codecs.getincrementaldecoder(spec.encoding)(errors="strict")
    for number, raw in enumerate(handle, start=1):
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError as exc:
            report.error(
                number,
                "file",
                ERROR_ENCODING,
                encoding=spec.encoding,
                detail=f"byte 0x{exc.object[exc.start]:02x} at column {exc.start + 1}",
            )
            return


def parse_xlsx(
    path: Path, spec: ProfileSpec, report: ParseReport
) -> Iterator[ParsedRecord]:
    """Stream the first sheet of a workbook with openpyxl's read-only mode."""
    from openpyxl import load_workbook

    if path.stat().st_size == 0:
        report.error(0, "file", ERROR_EMPTY)
        return
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        report.error(0, "file", ERROR_NOT_XLSX, detail=str(exc) or type(exc).__name__)
        return
    try:
        sheet = workbook.worksheets[0]
        rows = (
            (number, list(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        yield from rows_to_records(rows, spec, report)
    finally:
        workbook.close()
