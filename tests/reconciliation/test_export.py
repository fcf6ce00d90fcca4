import pytest

from reconciliation.export import EXPORT_COLUMNS, cell_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+44 20", "'+44 20"),
        ("-cmd", "'-cmd"),
        ("@import", "'@import"),
        ("\tR-1", "'\tR-1"),
        ("\rR-1", "'\rR-1"),
        ("-18.00", "-18.00"),
        ("-18\n", "'-18\n"),  # not a plain number
        ("-\u0661\u0662", "'-\u0661\u0662"),  # digits, but not ASCII ones
        ("R-1 R-2", "R-1 R-2"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert cell_safe(value) == expected


def test_the_export_columns_are_designs():
    assert ",".join(EXPORT_COLUMNS) == (
        "outcome,kind,receipt_numbers,external_ids,manual_amount,system_amount,"
        "difference,score,status"
    )


@pytest.fixture
def two_runs(tmp_path):
    """An incident with every kind of cell: formula-looking receipts, ids needing
    quotes, three currencies' decimals, splits, a confirmed match of an earlier run."""
    from reconciliation.loading import records_import
    from reconciliation.models import Match
    from reconciliation.services import match_confirm, run_create, run_execute
    from tests.reconciliation.factories import deposit_make, incident_make

    incident = incident_make()
    rows = [
        "TX-1,GB01,100.00,GBP,2026-03-02,Ann Lee,INV-1,",
        '"TX,2",GB02,250.50,GBP,2026-03-03,Bob Stone,,',
        '"TX ""3""",GB03,135.00,GBP,2026-03-02,Ann Lee,INV-3,',
        "é-4,GB04,1200,JPY,2026-03-02,Cy,,",
        "B-5,GB05,40.000,GBP,2026-03-02,,,",
        "a-6,GB05,60.000,GBP,2026-03-02,,,",
        '"TX\n7",GB06,0.125,BHD,2026-03-02,,,',
        "TX-8,GB09,12.00,GBP,2026-03-02,Dee,,",
    ]
    deposit_make(incident, receipt_number="R-1", amount="100.00", reference="INV-1")
    deposit_make(incident, receipt_number="R-2", amount="250.50", account="GB02")
    deposit_make(incident, receipt_number="=R-3", amount="153.00", account="GB03")
    deposit_make(
        incident, receipt_number="R-4", amount="1200", account="GB04", currency="JPY"
    )
    deposit_make(incident, receipt_number="R-5", amount="100.00", account="GB05")
    deposit_make(
        incident, receipt_number="R-7", amount="0.125", account="GB06", currency="BHD"
    )
    deposit_make(incident, receipt_number="+R-9", amount="70.00", account="GB07")
    deposit_make(incident, receipt_number="R-10", amount="70.00", account="GB07")
    path = tmp_path / "r.csv"
    header = "external_id,account,amount,currency,value_date,counterparty,reference,description\n"
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    records_import(path=path, incident=incident)
    first = run_execute(run=run_create(incident=incident))
    match_confirm(match=Match.objects.filter(run=first).first(), actor=None)
    second = run_execute(run=run_create(incident=incident))
    return first, second


@pytest.mark.django_db
def test_postgresql_writes_the_export_byte_for_byte_as_python_does(two_runs):
    import io

    from django.db import connection

    from reconciliation import export

    if connection.vendor != "postgresql":
        pytest.skip("COPY TO is PostgreSQL's")
    for run in two_runs:
        by_python, by_copy = io.StringIO(), io.StringIO()

        rows_python = export._export_python(run, by_python)
        rows_copy = export._export_postgres(run, by_copy)

        assert by_copy.getvalue() == by_python.getvalue()
        assert rows_copy == rows_python
    text = by_copy.getvalue()
    assert "'=R-3" in text and "'+R-9" in text and '"TX,2"' in text
    assert ",confirmed" in text and "matched,split" in text
    assert "1200,1200,0," in text and "0.125" in text


@pytest.mark.django_db
def test_an_external_id_with_a_carriage_return_is_written_by_python(two_runs):
    import io

    from django.db import connection

    from reconciliation import export
    from reconciliation.models import SystemRecord

    if connection.vendor != "postgresql":
        pytest.skip("COPY TO is PostgreSQL's")
    run = two_runs[1]
    SystemRecord.objects.filter(external_id="TX-8").update(external_id="TX\r8")
    by_python, written = io.StringIO(), io.StringIO()
    export._export_python(run, by_python)

    export.run_export(run=run, out=written)

    assert export._has_carriage_return(run)
    assert "TX\r8," in written.getvalue()
    assert written.getvalue() == by_python.getvalue()
