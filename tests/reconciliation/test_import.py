import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reconciliation.loading import records_import
from reconciliation.models import ImportBatch, ImportProfile, SystemRecord
from reconciliation.parsers import ImportRejected, RowError
from reconciliation.parsers import base as msg

from . import samples
from .factories import incident_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db):
    return incident_make()


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def reject(**kwargs):
    with pytest.raises(ImportRejected) as caught:
        records_import(**kwargs)
    assert SystemRecord.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    return caught.value.errors


def test_it_loads_the_canonical_csv(tmp_path, incident):
    path = write(tmp_path, "records.csv", samples.CANONICAL)

    outcome = records_import(path=path, incident=incident)

    assert outcome.already_imported is False
    assert outcome.batch.status == ImportBatch.Status.LOADED
    assert (outcome.batch.rows_seen, outcome.batch.rows_loaded) == (3, 3)
    record = SystemRecord.objects.get(external_id="TX-2")
    assert record.amount == Decimal("250.50")
    assert record.value_date == dt.date(2026, 3, 3)
    assert record.counterparty == "Bob Stone"
    assert SystemRecord.objects.get(external_id="TX-3").amount == Decimal("-40.00")


def test_the_same_file_twice_adds_nothing(tmp_path, incident):
    path = write(tmp_path, "records.csv", samples.CANONICAL)
    first = records_import(path=path, incident=incident)

    again = records_import(path=path, incident=incident)

    assert again.already_imported is True
    assert again.batch.pk == first.batch.pk
    assert SystemRecord.objects.count() == 3
    assert ImportBatch.objects.count() == 1


def test_external_ids_already_loaded_are_skipped(tmp_path, incident):
    records_import(path=write(tmp_path, "a.csv", samples.CANONICAL), incident=incident)
    more = samples.CANONICAL + "TX-4,GB00000004,9.99,GBP,2026-03-04,Cy,,\n"

    outcome = records_import(path=write(tmp_path, "b.csv", more), incident=incident)

    assert (outcome.batch.rows_seen, outcome.batch.rows_loaded) == (4, 1)
    assert outcome.batch.rows_skipped == 3
    assert SystemRecord.objects.count() == 4
    assert SystemRecord.objects.get(external_id="TX-4").batch == outcome.batch


def test_a_profile_reads_gbk_semicolons_decimal_commas_and_debit_credit_columns(
    tmp_path, incident
):
    profile = ImportProfile.objects.create(
        name="China bank",
        columns={
            "external_id": "流水号",
            "account": "账号",
            "debit": "借方",
            "credit": "贷方",
            "value_date": "日期",
            "counterparty": "对方户名",
            "reference": "摘要",
        },
        encoding="gbk",
        delimiter=";",
        header_row=2,
        decimal_separator=",",
        thousands_separator=".",
        date_format="%d.%m.%Y",
        sign=ImportProfile.Sign.DEBIT_CREDIT_COLUMNS,
        default_currency="CNY",
    )
    text = (
        "导出文件\n"
        "流水号;账号;借方;贷方;日期;对方户名;摘要\n"
        "A1;6222001;;1.234,50;02.03.2026;张三;存款\n"
        "A2;6222001;12,00;;03.03.2026;手续费;\n"
    )
    path = write(tmp_path, "gbk.csv", text, encoding="gbk")

    records_import(path=path, incident=incident, profile=profile)

    first = SystemRecord.objects.get(external_id="A1")
    assert (first.amount, first.currency, first.counterparty) == (
        Decimal("1234.50"),
        "CNY",
        "张三",
    )
    assert first.value_date == dt.date(2026, 3, 2)
    assert SystemRecord.objects.get(external_id="A2").amount == Decimal("-12.00")


def test_a_utf8_bom_header_is_read(tmp_path, incident):
    path = write(tmp_path, "bom.csv", samples.CANONICAL, encoding="utf-8-sig")

    records_import(path=path, incident=incident)

    assert SystemRecord.objects.count() == 3


def test_an_xlsx_sheet_is_read_through_a_profile(tmp_path, incident):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Id", "Amount", "Ccy", "Date", "Name"])
    sheet.append(["X1", 100.1, "USD", dt.datetime(2026, 3, 2), "Ann Lee"])  # noqa: DTZ001
    sheet.append(["X2", "-5.00", "USD", "2026-03-03", "Fee"])
    path = tmp_path / "records.xlsx"
    workbook.save(path)
    profile = ImportProfile.objects.create(
        name="Sheet",
        format="xlsx",
        columns={
            "external_id": "Id",
            "amount": "Amount",
            "currency": "Ccy",
            "value_date": "Date",
            "counterparty": "Name",
        },
    )

    records_import(path=path, incident=incident, profile=profile)

    assert SystemRecord.objects.get(external_id="X1").amount == Decimal("100.10")
    assert SystemRecord.objects.get(external_id="X2").value_date == dt.date(2026, 3, 3)


def test_an_ofx_statement_is_read(tmp_path, incident):
    path = write(tmp_path, "statement.ofx", samples.OFX)

    records_import(path=path, incident=incident, format="ofx")

    record = SystemRecord.objects.get(external_id="FIT-1")
    assert (record.account, record.amount, record.currency) == (
        "555001",
        Decimal("75.25"),
        "USD",
    )
    assert record.counterparty == "Ann Lee"


def test_a_camt053_statement_is_read_and_checked(tmp_path, incident):
    path = write(tmp_path, "s.xml", samples.CAMT053 % {"closing": "1090.00"})

    outcome = records_import(path=path, incident=incident, format="camt053")

    assert outcome.warnings == []
    record = SystemRecord.objects.get(external_id="BANK-REF-1")
    assert (record.amount, record.currency, record.reference) == (
        Decimal("120.00"),
        "EUR",
        "E2E-1",
    )
    assert record.account == "GB29NWBK60161331926819"
    assert SystemRecord.objects.get(external_id="BANK-REF-2").amount == Decimal(
        "-30.00"
    )


def test_a_camt053_balance_that_does_not_add_up_is_a_warning(tmp_path, incident):
    path = write(tmp_path, "s.xml", samples.CAMT053 % {"closing": "1100.00"})

    outcome = records_import(path=path, incident=incident, format="camt053")

    assert outcome.warnings == [
        str(msg.WARNING_BALANCE)
        % {
            "statement": "STMT-1",
            "opening": "1000.00",
            "entries": "90.00",
            "computed": "1090.00",
            "closing": "1100.00",
        }
    ]
    assert outcome.batch.warnings == outcome.warnings
    assert SystemRecord.objects.count() == 2


def test_an_mt940_statement_is_read_and_checked(tmp_path, incident):
    path = write(tmp_path, "s.sta", samples.MT940 % {"closing": "1000,00"})

    outcome = records_import(path=path, incident=incident, format="mt940")

    record = SystemRecord.objects.get(external_id="BREF-1")
    assert (record.amount, record.reference, record.value_date) == (
        Decimal("120.00"),
        "REF-A",
        dt.date(2026, 3, 2),
    )
    assert len(outcome.warnings) == 1
    assert "1090.00" in outcome.warnings[0]


def test_every_bad_row_is_reported_and_nothing_is_loaded(tmp_path, incident):
    text = (
        "external_id,account,amount,currency,value_date,counterparty,reference,description\n"
        "TX-1,GB1,12.x,GBP,2026-03-02,Ann,,\n"
        "TX-2,GB1,10.00,GBP,02/03/2026,Ann,,\n"
        "TX-3,GB1,10.001,GBP,2026-03-02,Ann,,\n"
        "TX-4,GB1,10.00,XXY,2026-03-02,Ann,,\n"
        'TX-5,GB1,10.00,GBP,2026-03-02,=HYPERLINK("x"),,\n'
        "TX-7,GB1,10.00,GBP,2026-03-02,Ann,,\n"
        "TX-7,GB1,10.00,GBP,2026-03-02,Ann,,\n"
    )

    errors = reject(path=write(tmp_path, "bad.csv", text), incident=incident)

    assert errors == [
        RowError(2, "amount", str(msg.ERROR_AMOUNT) % {"value": "12.x"}),
        RowError(
            3,
            "value_date",
            str(msg.ERROR_DATE) % {"value": "02/03/2026", "format": "%Y-%m-%d"},
        ),
        RowError(
            4, "amount", str(msg.ERROR_DECIMALS) % {"currency": "GBP", "places": 2}
        ),
        RowError(5, "currency", str(msg.ERROR_CURRENCY) % {"value": "XXY"}),
        RowError(6, "counterparty", str(msg.ERROR_FORMULA) % {"char": "="}),
        RowError(
            8,
            "external_id",
            str(msg.ERROR_DUPLICATE_ID) % {"value": "TX-7", "first": 7},
        ),
    ]


def test_a_missing_column_is_named(tmp_path, incident):
    text = "external_id,account,currency,value_date\nTX-1,GB1,GBP,2026-03-02\n"

    errors = reject(path=write(tmp_path, "bad.csv", text), incident=incident)

    assert errors == [
        RowError(1, "amount", str(msg.ERROR_MISSING_COLUMN) % {"column": "amount"})
    ]


def test_the_wrong_encoding_is_an_error(tmp_path, incident):
    text = samples.CANONICAL + "TX-9,GB1,1.00,GBP,2026-03-02,张三,,\n"

    errors = reject(
        path=write(tmp_path, "gbk.csv", text, encoding="gbk"), incident=incident
    )

    assert len(errors) == 1
    assert errors[0].field == "file"
    assert errors[0].reason.startswith("The file is not valid utf-8-sig text")


@pytest.mark.parametrize("text", ["", samples.CANONICAL.splitlines()[0] + "\n"])
def test_an_empty_file_is_an_error(tmp_path, incident, text):
    errors = reject(path=write(tmp_path, "empty.csv", text), incident=incident)

    assert [e.reason for e in errors] in (
        [str(msg.ERROR_EMPTY)],
        [str(msg.ERROR_NO_RECORDS)],
    )


def test_a_truncated_camt_file_is_an_error(tmp_path, incident):
    text = (samples.CAMT053 % {"closing": "1090.00"})[:1200]

    errors = reject(
        path=write(tmp_path, "cut.xml", text), incident=incident, format="camt053"
    )

    assert len(errors) == 1
    assert errors[0].reason.startswith("The XML is not well formed or is cut short")


def test_a_truncated_mt940_file_is_an_error(tmp_path, incident):
    text = (samples.MT940 % {"closing": "1090,00"}).split(":62F:")[0]

    errors = reject(
        path=write(tmp_path, "cut.sta", text), incident=incident, format="mt940"
    )

    assert [e.reason for e in errors] == [
        str(msg.ERROR_MT940_TRUNCATED) % {"statement": "STMT0001/1"}
    ]


def test_garbage_ofx_is_an_error(tmp_path, incident):
    errors = reject(
        path=write(tmp_path, "x.ofx", "<OFX>nope"), incident=incident, format="ofx"
    )

    assert len(errors) == 1
    assert errors[0].reason.startswith("The file is not a readable OFX statement")


def test_the_command_loads_a_file_and_reports_counts(tmp_path, incident):
    path = write(tmp_path, "records.csv", samples.CANONICAL)
    out = StringIO()

    call_command(
        "import_records", str(path), "--incident", incident.reference, stdout=out
    )
    call_command(
        "import_records", str(path), "--incident", incident.reference, stdout=out
    )

    batch = ImportBatch.objects.get()
    assert out.getvalue().splitlines() == [
        f"Batch {batch.pk}: 3 loaded, 0 skipped (already loaded).",
        f"Already imported as batch {batch.pk}; nothing added.",
    ]


def test_the_command_lists_bad_rows_and_fails(tmp_path, incident):
    path = write(tmp_path, "bad.csv", samples.CANONICAL.replace("250.50", "2x"))
    err = StringIO()

    with pytest.raises(CommandError, match=r"1 bad row\(s\); nothing was loaded."):
        call_command(
            "import_records", str(path), "--incident", incident.reference, stderr=err
        )

    assert err.getvalue() == f"line 3, amount: {msg.ERROR_AMOUNT % {'value': '2x'}}\n"
    assert SystemRecord.objects.count() == 0


def test_a_camt054_notification_is_read(tmp_path, incident):
    text = (
        (samples.CAMT053 % {"closing": "1090.00"})
        .replace("camt.053.001.02", "camt.054.001.02")
        .replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn")
        .replace("<Stmt>", "<Ntfctn>")
        .replace("</Stmt>", "</Ntfctn>")
    )

    records_import(
        path=write(tmp_path, "n.xml", text), incident=incident, format="camt053"
    )

    assert sorted(SystemRecord.objects.values_list("external_id", "amount")) == [
        ("BANK-REF-1", Decimal("120.000")),
        ("BANK-REF-2", Decimal("-30.000")),
    ]


def test_a_file_that_is_not_a_workbook_is_an_error(tmp_path, incident):
    profile = ImportProfile.objects.create(name="Sheet", format="xlsx")

    errors = reject(
        path=write(tmp_path, "fake.xlsx", samples.CANONICAL),
        incident=incident,
        profile=profile,
    )

    assert len(errors) == 1
    assert errors[0].reason.startswith("The file is not an Excel (XLSX) workbook")


def test_a_profile_for_another_format_is_refused(tmp_path, incident):
    profile = ImportProfile.objects.create(name="Sheet", format="xlsx")

    errors = reject(
        path=write(tmp_path, "r.csv", samples.CANONICAL),
        incident=incident,
        profile=profile,
        format="csv",
    )

    assert [e.field for e in errors] == ["format"]
