"""Bank statement formats: CAMT.053/054 (lxml, streamed), OFX (ofxtools), MT940 (mt-940)."""

import datetime as dt
import logging
import re
from collections.abc import Generator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from .base import (
    ERROR_BAD_MT940,
    ERROR_BAD_OFX,
    ERROR_BAD_XML,
    ERROR_EMPTY,
    ERROR_MT940_TRUNCATED,
    ERROR_NOT_CAMT,
    WARNING_BALANCE,
    WARNING_COUNT,
    WARNING_SUM,
    ParsedRecord,
    ParseReport,
    ProfileSpec,
    check_money,
    check_text,
)


def _integrity(
    report: ParseReport,
    statement: str,
    *,
    opening: Decimal | None,
    closing: Decimal | None,
    entries: Decimal,
    count: int,
    declared_count: int | None = None,
    declared_sum: Decimal | None = None,
    total_abs: Decimal | None = None,
) -> None:
    """Opening + entries = closing, and the declared counts and sums: warnings only."""
    if opening is not None and closing is not None and opening + entries != closing:
        report.warn(
            WARNING_BALANCE,
            statement=statement,
            opening=opening,
            entries=entries,
            computed=opening + entries,
            closing=closing,
        )
    if declared_count is not None and declared_count != count:
        report.warn(
            WARNING_COUNT, statement=statement, declared=declared_count, found=count
        )
    if declared_sum is not None and total_abs is not None and declared_sum != total_abs:
        report.warn(
            WARNING_SUM, statement=statement, declared=declared_sum, found=total_abs
        )


# ---- CAMT.053 / CAMT.054 -------------------------------------------------------


def _text(elem: Any, path: str) -> str:
    found = elem.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _signed(elem: Any, amount_path: str = "{*}Amt") -> tuple[Decimal | None, str]:
    amt = elem.find(amount_path)
    if amt is None or not (amt.text or "").strip():
        return None, ""
    try:
        value = Decimal(amt.text.strip())
    except ArithmeticError:
        return None, amt.get("Ccy", "")
    if _text(elem, "{*}CdtDbtInd") == "DBIT":
        value = -value
    return value, amt.get("Ccy", "")


def _camt_entry(
    entry: Any, account: str, report: ParseReport, sequence: str
) -> ParsedRecord | None:
    line = entry.sourceline or 0
    before = len(report.errors)
    amount, currency = _signed(entry)
    if amount is None:
        report.error(
            line, "Amt", ERROR_BAD_XML, detail="the entry has no readable amount"
        )
        return None
    date_text = _text(entry, "{*}ValDt/{*}Dt") or _text(entry, "{*}ValDt/{*}DtTm")[:10]
    date_text = (
        date_text
        or _text(entry, "{*}BookgDt/{*}Dt")
        or _text(entry, "{*}BookgDt/{*}DtTm")[:10]
    )
    try:
        value_date = dt.date.fromisoformat(date_text)
    except ValueError:
        report.error(
            line, "ValDt", ERROR_BAD_XML, detail=f"“{date_text}” is not a date"
        )
        return None
    tx = entry.find("{*}NtryDtls/{*}TxDtls")
    tx = tx if tx is not None else entry
    external_id = (
        _text(entry, "{*}AcctSvcrRef")
        or _text(tx, "{*}Refs/{*}AcctSvcrRef")
        or _text(entry, "{*}NtryRef")
        or sequence
    )
    counterparty = (
        _text(tx, "{*}RltdPties/{*}Dbtr/{*}Nm")
        or _text(tx, "{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm")
        or _text(tx, "{*}RltdPties/{*}Cdtr/{*}Nm")
        or _text(tx, "{*}RltdPties/{*}Cdtr/{*}Pty/{*}Nm")
    )
    reference = _text(tx, "{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref") or _text(
        tx, "{*}Refs/{*}EndToEndId"
    ).replace("NOTPROVIDED", "")
    description = _text(tx, "{*}RmtInf/{*}Ustrd") or _text(entry, "{*}AddtlNtryInf")
    values = {
        "external_id": check_text(report, line, "external_id", external_id),
        "counterparty": check_text(report, line, "counterparty", counterparty[:200]),
        "reference": check_text(report, line, "reference", reference[:140]),
        "description": check_text(report, line, "description", description[:2000]),
    }
    check_money(report, line, amount, currency)
    if len(report.errors) > before:
        return None
    return ParsedRecord(
        line=line,
        account=account,
        amount=amount,
        currency=currency,
        value_date=value_date,
        **values,
    )


def parse_camt(
    path: Path, spec: ProfileSpec, report: ParseReport
) -> Iterator[ParsedRecord]:
    """Stream CAMT.053 statements (or CAMT.054 notifications) entry by entry."""
    from lxml import etree

    if path.stat().st_size == 0:
        report.error(0, "file", ERROR_EMPTY)
        return
    events = etree.iterparse(
        str(path),
        events=("end",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
    )
    state: dict[str, Any] = {}
    seen_statement = False
    try:
        for _event, elem in events:
            tag = etree.QName(elem).localname
            if tag == "Ntry":
                report.rows_seen += 1
                state["count"] = state.get("count", 0) + 1
                record = _camt_entry(
                    elem,
                    state.get("account", ""),
                    report,
                    f"{state.get('id', 'stmt')}:{state['count']}",
                )
                if record is not None:
                    state["entries"] = state.get("entries", Decimal(0)) + record.amount
                    state["abs"] = state.get("abs", Decimal(0)) + abs(record.amount)
                    yield record
                # Drop the entry and earlier siblings: memory stays flat however long.
                elem.clear()
                parent = elem.getparent()
                while parent is not None and elem.getprevious() is not None:
                    del parent[0]
            elif tag == "Acct" and etree.QName(elem.getparent()).localname in (
                "Stmt",
                "Ntfctn",
            ):
                state["account"] = _text(elem, "{*}Id/{*}IBAN") or _text(
                    elem, "{*}Id/{*}Othr/{*}Id"
                )
            elif tag == "Id" and etree.QName(elem.getparent()).localname in (
                "Stmt",
                "Ntfctn",
            ):
                state["id"] = (elem.text or "").strip()
            elif tag == "Bal":
                amount, _ccy = _signed(elem)
                code = _text(elem, "{*}Tp/{*}CdOrPrtry/{*}Cd")
                if code in ("OPBD", "PRCD"):
                    state["opening"] = amount
                elif code == "CLBD":
                    state["closing"] = amount
            elif tag == "TtlNtries":
                count = _text(elem, "{*}NbOfNtries")
                total = _text(elem, "{*}Sum")
                state["declared_count"] = int(count) if count.isdigit() else None
                state["declared_sum"] = Decimal(total) if total else None
            elif tag in ("Stmt", "Ntfctn"):
                seen_statement = True
                _integrity(
                    report,
                    state.get("id", "?"),
                    opening=state.get("opening"),
                    closing=state.get("closing"),
                    entries=state.get("entries", Decimal(0)),
                    count=state.get("count", 0),
                    declared_count=state.get("declared_count"),
                    declared_sum=state.get("declared_sum"),
                    total_abs=state.get("abs", Decimal(0)),
                )
                state = {}
                elem.clear()
    except etree.XMLSyntaxError as exc:
        report.error(exc.lineno or 0, "file", ERROR_BAD_XML, detail=exc.msg)
        return
    if not seen_statement:
        report.error(0, "file", ERROR_NOT_CAMT)


# ---- OFX -------------------------------------------------------------------------


_OFX_CHUNK = 64 * 1024  # characters read at a time
_OFX_HEAD = 64 * 1024  # bytes read to check the header
_OFX_SKELETON_MAX = 4 << 20  # what is not a transaction: headers, balances
_STMTTRN_OPEN = "<STMTTRN>"
_STMTTRN_CLOSE = "</STMTTRN>"
_OFX_STATEMENT = re.compile(r"<(?:STMTRS|CCSTMTRS)>")
_OFX_CURDEF = re.compile(r"<CURDEF>\s*([^<\s]+)")
_OFX_ACCTID = re.compile(r"<ACCTID>\s*([^<]*?)\s*(?:<|$)")


class _OFXError(Exception):
    pass


def _ofx_body(path: Path) -> Any:
    """A text stream of the body (from ``<OFX>``), after ofxtools checked the header."""
    import io

    from ofxtools.header import parse_header

    with path.open("rb") as raw:
        head = raw.read(_OFX_HEAD)
    if len(head) == _OFX_HEAD:
        # Cut the sample at a tag: "<" is one byte in every OFX encoding, so the
        # cut never splits a character.
        head = head[: max(head.rfind(b"<"), 1)]
    header, _body = parse_header(io.BytesIO(head))
    first = head.find(b"<OFX>")
    if first < 0:
        raise _OFXError("no <OFX> element")
    raw = path.open("rb")
    raw.seek(first)
    return io.TextIOWrapper(raw, encoding=header.codec, newline="")


def _ofx_pieces(stream: Any) -> Iterator[tuple[str, str]]:
    """("skeleton", text) and ("STMTTRN", text) pieces of the body, in file order,
    reading a chunk at a time: one transaction in memory, however long the file."""
    buffer = ""
    while True:
        chunk = stream.read(_OFX_CHUNK)
        buffer += chunk
        while True:
            start = buffer.find(_STMTTRN_OPEN)
            if start < 0:
                keep = len(_STMTTRN_OPEN) - 1 if chunk else 0
                if len(buffer) > keep:
                    yield "skeleton", buffer[: len(buffer) - keep]
                    buffer = buffer[len(buffer) - keep :]
                break
            if start:
                # Whitespace between two tags means nothing: not kept.
                if buffer[:start].strip():
                    yield "skeleton", buffer[:start]
                buffer = buffer[start:]
            end = buffer.find(_STMTTRN_CLOSE)
            if end < 0:
                if not chunk:  # the file ends inside a transaction
                    yield "skeleton", buffer
                    buffer = ""
                break
            end += len(_STMTTRN_CLOSE)
            yield "STMTTRN", buffer[:end]
            buffer = buffer[end:]
        if not chunk:
            return


def _ofx_element(text: str) -> Any:
    from ofxtools.models.base import Aggregate
    from ofxtools.Parser import TreeBuilder

    builder = TreeBuilder()
    builder.feed(text)
    return Aggregate.from_etree(builder.close())


def parse_ofx(
    path: Path, spec: ProfileSpec, report: ParseReport
) -> Iterator[ParsedRecord]:
    """OFX 1.x (SGML) and 2.x (XML) bank and card statements through ofxtools,
    streamed: each ``<STMTTRN>`` is converted on its own as it is read, and the
    rest of the document (headers, accounts, balances: small) is checked whole by
    ofxtools at the end, so a truncated or malformed file is still refused."""
    # ofxtools logs every element it converts at INFO.
    logging.getLogger("ofxtools").setLevel(logging.WARNING)
    if path.stat().st_size == 0:
        report.error(0, "file", ERROR_EMPTY)
        return
    skeleton: list[str] = []
    size = 0
    used: list[tuple[str, str]] = []  # (account, currency) of each statement
    number = 0
    try:
        with _ofx_body(path) as stream:
            for kind, text in _ofx_pieces(stream):
                if kind == "skeleton":
                    size += len(text)
                    if size > _OFX_SKELETON_MAX:
                        raise _OFXError("too much content outside transactions")
                    skeleton.append(text)
                    continue
                number += 1
                report.rows_seen += 1
                if not used or len(used) < _ofx_statements(skeleton):
                    used.append(_ofx_statement_head(skeleton))
                account, curdef = used[-1]
                tx = _ofx_element(text)
                record = _ofx_record(tx, number, account, curdef, report)
                if record is not None:
                    yield record
        ofx = _ofx_element("".join(skeleton))
        found = [
            (getattr(stmt.account, "acctid", "") or "", stmt.curdef)
            for stmt in ofx.statements
        ]
        if number and found[: len(used)] != used:
            raise _OFXError("statement accounts could not be read")
        if not found:
            raise _OFXError("no statement")
    except Exception as exc:  # ofxtools raises many kinds; all mean "unreadable"
        report.error(
            0, "file", ERROR_BAD_OFX, detail=str(exc)[:200] or type(exc).__name__
        )


def _ofx_statements(skeleton: list[str]) -> int:
    return sum(len(_OFX_STATEMENT.findall(text)) for text in skeleton)


def _ofx_statement_head(skeleton: list[str]) -> tuple[str, str]:
    """Account id and default currency of the statement being read (they come
    before its transactions)."""
    text = "".join(skeleton)
    opening = list(_OFX_STATEMENT.finditer(text))
    head = text[opening[-1].end() :] if opening else text
    curdef = _OFX_CURDEF.search(head)
    acctid = _OFX_ACCTID.search(head)
    return (acctid.group(1) if acctid else ""), (curdef.group(1) if curdef else "")


def _ofx_record(
    tx: Any, number: int, account: str, curdef: str, report: ParseReport
) -> ParsedRecord | None:
    before = len(report.errors)
    currency = (getattr(tx, "currency", None) and tx.currency.cursym) or curdef
    values = {
        "external_id": check_text(report, number, "external_id", tx.fitid or ""),
        "counterparty": check_text(
            report, number, "counterparty", (tx.name or "")[:200]
        ),
        "reference": check_text(
            report, number, "reference", tx.refnum or tx.checknum or ""
        ),
        "description": check_text(report, number, "description", tx.memo or ""),
    }
    check_money(report, number, tx.trnamt, currency)
    if len(report.errors) > before:
        return None
    return ParsedRecord(
        line=number,
        account=account,
        amount=tx.trnamt,
        currency=currency,
        value_date=tx.dtposted.date(),
        **values,
    )


# ---- MT940 -----------------------------------------------------------------------


def _mt940_blocks(
    path: Path, encoding: str, report: ParseReport
) -> Iterator[tuple[str, list[int]]]:
    """The file's statement blocks (each from a ``:20:`` line to the next), one at a
    time, with the line numbers of their ``:61:`` entries: only one block in memory.

    ``mt940.parse_statements`` splits a whole file at the same lines, so parsing
    the blocks one by one gives the same statements.
    """
    block: list[str] = []
    entries: list[int] = []
    try:
        with path.open(encoding=encoding, newline=None) as lines:
            for number, line in enumerate(lines, start=1):
                if line.startswith(":20:") and block:
                    yield "".join(block), entries
                    block, entries = [], []
                block.append(line)
                if line.startswith(":61:"):
                    entries.append(number)
    except UnicodeDecodeError as exc:
        report.error(0, "file", ERROR_BAD_MT940, detail=str(exc))
        return
    if block:
        yield "".join(block), entries


def parse_mt940(
    path: Path, spec: ProfileSpec, report: ParseReport
) -> Iterator[ParsedRecord]:
    """SWIFT MT940 through the mt-940 package, streamed one statement block at a time."""
    import mt940

    # mt-940 logs every tag it reads at DEBUG.
    logging.getLogger("mt940").setLevel(logging.INFO)
    if path.stat().st_size == 0:
        report.error(0, "file", ERROR_EMPTY)
        return
    encoding = spec.encoding if spec.encoding else "utf-8-sig"
    number = 0
    blank = True
    opened = False  # a :60F: (or :60M:) opening balance somewhere in the file
    for text, lines in _mt940_blocks(path, encoding, report):
        blank = blank and not text.strip()
        opened = opened or ":60F:" in text or ":60M:" in text
        if not text.lstrip().startswith(":20:"):
            continue  # a header before the first statement, as parse_statements skips
        try:
            statements = mt940.parse_statements(text)
        except Exception as exc:  # the library raises plain exceptions on bad fields
            report.error(0, "file", ERROR_BAD_MT940, detail=str(exc)[:200])
            return
        for statement in statements:
            number += 1
            if not (yield from _mt940_statement(statement, number, lines, report)):
                return
            # Each entry points back at its statement: break the cycle so the
            # block is freed now, not at the next full garbage collection.
            statement.transactions.clear()
    if report.errors:
        return
    if blank:
        report.error(0, "file", ERROR_EMPTY)
    elif not number or not opened:
        report.error(0, "file", ERROR_BAD_MT940, detail="no :20: or :60F: field")


def _mt940_statement(
    statement: Any, number: int, lines: list[int], report: ParseReport
) -> Generator[ParsedRecord, None, bool]:
    """One statement's records and integrity; returns False when it is cut short."""
    data = statement.data
    ref = str(data.get("transaction_reference", "") or number)
    name = f"{ref}/{data.get('statement_number', number)}"
    closing = data.get("final_closing_balance")
    if closing is None:
        report.error(
            lines[0] if lines else 0, ":62F:", ERROR_MT940_TRUNCATED, statement=name
        )
        return False
    total = Decimal(0)
    index = 0
    for index, tx in enumerate(statement, start=1):
        line = lines[index - 1] if index <= len(lines) else 0
        report.rows_seen += 1
        record = _mt940_record(tx.data, name, index, line, data, report)
        if record is not None:
            total += record.amount
            yield record
    opening = data.get("final_opening_balance")
    _integrity(
        report,
        name,
        opening=opening.amount.amount if opening else None,
        closing=closing.amount.amount,
        entries=total,
        count=index if statement.transactions else 0,
    )
    return True


def _mt940_record(
    tx: dict[str, Any],
    statement: str,
    index: int,
    line: int,
    data: dict[str, Any],
    report: ParseReport,
) -> ParsedRecord | None:
    before = len(report.errors)
    amount = tx["amount"].amount
    currency = tx["amount"].currency or data.get("currency", "")
    bank_ref = (tx.get("bank_reference") or "").strip()
    customer_ref = (tx.get("customer_reference") or "").strip()
    details = re.sub(r"\s+", " ", tx.get("transaction_details") or "").strip()
    external_id = (
        bank_ref if bank_ref and bank_ref != "NONREF" else f"{statement}/{index}"
    )
    values = {
        "external_id": check_text(report, line, "external_id", external_id),
        "reference": check_text(
            report, line, "reference", "" if customer_ref == "NONREF" else customer_ref
        ),
        "description": check_text(report, line, "description", details[:2000]),
    }
    check_money(report, line, amount, currency)
    if len(report.errors) > before:
        return None
    return ParsedRecord(
        line=line,
        account=str(data.get("account_identification", ""))[:34],
        amount=amount,
        currency=currency,
        value_date=dt.date(tx["date"].year, tx["date"].month, tx["date"].day),
        counterparty="",
        **values,
    )
