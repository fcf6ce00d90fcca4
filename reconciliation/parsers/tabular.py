"""CSV and XLSX through an import profile: column mapping, separators, dates, signs."""

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from .base import (
    ERROR_AMOUNT,
    ERROR_BOTH_DEBIT_CREDIT,
    ERROR_DATE,
    ERROR_EMPTY,
    ERROR_ENCODING,
    ERROR_MISSING_COLUMN,
    ERROR_NOT_XLSX,
    ERROR_REQUIRED,
    ParsedRecord,
    ParseReport,
    ProfileSpec,
    amount_parse,
    check_money,
    check_text,
)

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
    index: dict[str, int] | None = None
    header_seen = spec.header_row == 0
    if header_seen:
        index = _column_index([], spec, report, 0)
        if index is None:
            return
    for line, cells in rows:
        if not header_seen:
            if line < spec.header_row:
                continue
            header_seen = True
            index = _column_index(cells, spec, report, line)
            if index is None:
                return
            continue
        if not any(_cell_text(c).strip() for c in cells):
            continue  # blank line
        if index is None:  # pragma: no cover - set with the header
            return
        report.rows_seen += 1
        record = _row_to_record(line, cells, index, spec, report)
        if record is not None:
            yield record
    if not header_seen and not report.errors:
        report.error(0, "file", ERROR_EMPTY)


def _row_to_record(
    line: int,
    cells: Sequence[Cell],
    index: dict[str, int],
    spec: ProfileSpec,
    report: ParseReport,
) -> ParsedRecord | None:
    before = len(report.errors)

    def text(name: str) -> str:
        pos = index.get(name)
        value = cells[pos] if pos is not None and pos < len(cells) else None
        return check_text(report, line, name, _cell_text(value))

    external_id = text("external_id")
    if not external_id:
        report.error(line, "external_id", ERROR_REQUIRED)
    currency = (
        _cell_text(cells[index["currency"]])
        if "currency" in index and index["currency"] < len(cells)
        else ""
    ).strip().upper() or spec.default_currency
    amount = _signed_amount(cells, index, line, spec, report)
    pos = index.get("value_date")
    value_date = _cell_date(
        cells[pos] if pos is not None and pos < len(cells) else None, line, spec, report
    )
    account = text("account") or spec.default_account
    counterparty, reference, description = (
        text("counterparty"),
        text("reference"),
        text("description"),
    )
    if amount is not None:
        check_money(report, line, amount, currency)
    if len(report.errors) > before or amount is None or value_date is None:
        return None
    return ParsedRecord(
        line=line,
        external_id=external_id,
        account=account,
        amount=amount,
        currency=currency,
        value_date=value_date,
        counterparty=counterparty,
        reference=reference,
        description=description,
    )


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
