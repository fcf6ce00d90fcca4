"""OFX and MT940 files stream: memory stays far below the file size, the records are
the ones a whole-file parse gives, and a truncated file is refused with nothing loaded."""

import datetime as dt
import tracemalloc
from decimal import Decimal

import pytest

from reconciliation.loading import records_import
from reconciliation.models import ImportBatch, SystemRecord
from reconciliation.parsers import ImportRejected, ParseReport, ProfileSpec, statements
from reconciliation.parsers import base as msg
from reconciliation.parsers.statements import parse_mt940, parse_ofx

from .factories import incident_make

OFX_HEAD = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>
<DTSERVER>20260304080000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1>
"""
MEMO = "Cash deposit at the counter " * 8


def ofx_text(per_statement: int, statements: int = 2) -> str:
    parts = [OFX_HEAD]
    for st in range(statements):
        parts.append(
            f"<STMTTRNRS><TRNUID>{st}<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
            f"<STMTRS><CURDEF>{'USD' if st % 2 == 0 else 'EUR'}\n"
            f"<BANKACCTFROM><BANKID>121000248<ACCTID>55500{st}"
            "<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
            "<BANKTRANLIST><DTSTART>20260301<DTEND>20260304\n"
        )
        for i in range(per_statement):
            currency = "<CURRENCY><CURRATE>1.1<CURSYM>GBP</CURRENCY>" if i == 3 else ""
            parts.append(
                f"<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>2026030{2 + i % 3}120000"
                f"<TRNAMT>{10 + i}.{i % 100:02d}<FITID>F-{st}-{i}<NAME>Payer {i}"
                f"<MEMO>{MEMO}{i}{currency}</STMTTRN>\n"
            )
        parts.append(
            "</BANKTRANLIST>\n<LEDGERBAL><BALAMT>0.00<DTASOF>20260304</LEDGERBAL>\n"
            "</STMTRS></STMTTRNRS>\n"
        )
    parts.append("</BANKMSGSRSV1>\n</OFX>\n")
    return "".join(parts)


def mt940_text(statements: int, per_statement: int) -> str:
    parts = []
    for st in range(1, statements + 1):
        parts.append(
            f":20:STMT{st:04d}\n:25:12345678/0001\n:28C:{st}/1\n:60F:C260301EUR0,00\n"
        )
        total = Decimal(0)
        for i in range(per_statement):
            amount = Decimal(10 + i) + Decimal(st % 100) / 100
            total += amount
            parts.append(
                f":61:2603020302C{str(amount).replace('.', ',')}NTRFREF-{st}-{i}"
                f"//B-{st}-{i}\n:86:{MEMO}{i}\n"
            )
        parts.append(f":62F:C260303EUR{str(total).replace('.', ',')}\n")
    return "".join(parts)


def parse(parser, path):
    report = ParseReport()
    records = list(parser(path, ProfileSpec(encoding=""), report))
    return records, report


def peak_while_parsing(parser, path, sample) -> tuple[int, int]:
    warm = path.with_suffix(".warm")  # imports and caches before measuring
    warm.write_text(sample, encoding="ascii")
    parse(parser, warm)
    report = ParseReport()
    tracemalloc.start()
    try:
        count = sum(1 for _ in parser(path, ProfileSpec(encoding=""), report))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.errors == []
    return count, peak


def whole_file_ofx(path):
    """What the parser read before it streamed: ofxtools over the whole file."""
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    tree.parse(str(path))
    found = []
    for stmt in tree.convert().statements:
        for tx in stmt.banktranlist:
            currency = (getattr(tx, "currency", None) and tx.currency.cursym) or (
                stmt.curdef
            )
            found.append(
                (
                    tx.fitid,
                    stmt.account.acctid,
                    tx.trnamt,
                    currency,
                    tx.dtposted.date(),
                    tx.name,
                    tx.memo,
                )
            )
    return found


def test_an_ofx_file_read_in_small_chunks_gives_the_whole_file_records(
    tmp_path, monkeypatch
):
    path = tmp_path / "s.ofx"
    path.write_text(ofx_text(150), encoding="ascii")
    monkeypatch.setattr(statements, "_OFX_CHUNK", 37)  # tags cut at every place

    records, report = parse(parse_ofx, path)

    assert report.errors == []
    assert [
        (
            r.external_id,
            r.account,
            r.amount,
            r.currency,
            r.value_date,
            r.counterparty,
            r.description,
        )
        for r in records
    ] == whole_file_ofx(path)
    assert len(records) == 300
    assert {r.account for r in records} == {"555000", "555001"}
    assert {r.currency for r in records} == {"USD", "EUR"}


def test_a_large_ofx_file_streams_with_memory_far_below_its_size(tmp_path):
    path = tmp_path / "big.ofx"
    path.write_text(ofx_text(2500), encoding="ascii")
    size = path.stat().st_size
    assert size > 1_500_000

    count, peak = peak_while_parsing(parse_ofx, path, ofx_text(3))

    assert count == 5000
    print(f"peak {peak:,} bytes for a {size:,}-byte file")
    assert peak < size / 5, (peak, size)


def test_an_mt940_file_read_block_by_block_gives_the_whole_file_records(tmp_path):
    import mt940

    path = tmp_path / "s.sta"
    text = mt940_text(30, 7)
    path.write_text(text, encoding="utf-8")

    records, report = parse(parse_mt940, path)

    assert report.errors == [] and report.warnings == []
    whole = [
        (tx.data["bank_reference"], tx.data["amount"].amount, tx.data["date"])
        for statement in mt940.parse_statements(text)
        for tx in statement
    ]
    assert [(r.external_id, r.amount, r.value_date) for r in records] == [
        (ref, amount, dt.date(day.year, day.month, day.day))
        for ref, amount, day in whole
    ]
    assert len(records) == 210
    lines = text.splitlines()
    assert all(lines[r.line - 1].startswith(":61:") for r in records)


def test_a_large_mt940_file_streams_with_memory_far_below_its_size(tmp_path):
    path = tmp_path / "big.sta"
    path.write_text(mt940_text(250, 20), encoding="utf-8")
    size = path.stat().st_size
    assert size > 1_300_000

    count, peak = peak_while_parsing(parse_mt940, path, mt940_text(2, 2))

    assert count == 5000
    print(f"peak {peak:,} bytes for a {size:,}-byte file")
    assert peak < size / 5, (peak, size)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        (
            "cut.ofx",
            ofx_text(400)[:-3000],
            "The file is not a readable OFX statement",
        ),
        (
            "cut.sta",
            mt940_text(40, 5).rsplit(":62F:", 1)[0],
            str(msg.ERROR_MT940_TRUNCATED) % {"statement": "STMT0040/40"},
        ),
    ],
)
def test_a_large_truncated_statement_is_refused_and_nothing_is_loaded(
    tmp_path, name, text, reason
):
    path = tmp_path / name
    path.write_text(text, encoding="ascii")

    with pytest.raises(ImportRejected) as caught:
        records_import(path=path, incident=incident_make())

    assert [e.reason[: len(reason)] for e in caught.value.errors] == [reason]
    assert SystemRecord.objects.count() == 0
    assert ImportBatch.objects.count() == 0
