"""The canonical CSV on PostgreSQL is read by COPY and checked in SQL; every file it
cannot vouch for goes to the Python parser, so what is loaded (or refused, and why)
is the same either way."""

import pytest
from django.db import DatabaseError, connection, transaction

from reconciliation import loading
from reconciliation.loading import records_import
from reconciliation.models import ImportBatch, SystemRecord
from reconciliation.parsers import PARSERS, ImportRejected

from .factories import incident_make

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's"
    ),
]
HEADER = "external_id,account,amount,currency,value_date,counterparty,reference,description\n"
CLEAN = [
    "TX-1,GB01,100.00,GBP,2026-03-02,Ann Lee,INV-1,cash",
    'TX-2,GB02,+7.5,EUR,2026-02-28,"Stone, Bob",,"two\nlines"',
    "TX-3,GB03,-12,JPY,2024-02-29,李雷,,",
    "TX-4,GB04,0.125,BHD,2026-03-03,,REF 4,",
]


def write(tmp_path, rows, name="r.csv", bom=False):
    path = tmp_path / name
    path.write_bytes(
        (b"\xef\xbb\xbf" if bom else b"")
        + (HEADER + "".join(r + "\n" for r in rows)).encode()
    )
    return path


def stored(incident):
    return [
        (
            r.external_id,
            r.account,
            r.amount,
            r.currency,
            r.value_date,
            r.counterparty,
            r.reference,
            r.description,
        )
        for r in SystemRecord.objects.filter(incident=incident).order_by("pk")
    ]


def through_python(monkeypatch, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(loading, "_import_canonical", lambda **kw: None)
        return records_import(**kwargs)


def test_a_clean_canonical_file_is_loaded_by_the_database_alone(tmp_path, monkeypatch):
    path = write(tmp_path, CLEAN, bom=True)
    fast, slow = incident_make(), incident_make("Another")
    through_python(monkeypatch, path=path, incident=slow)

    def no_python(*args):
        raise AssertionError("the Python parser was used")

    monkeypatch.setitem(PARSERS, "csv", no_python)
    outcome = records_import(path=path, incident=fast)

    assert stored(fast) == stored(slow)
    assert len(stored(fast)) == 4
    assert (outcome.batch.rows_seen, outcome.batch.rows_loaded) == (4, 4)
    assert outcome.batch.status == ImportBatch.Status.LOADED
    assert set(outcome.batch.records.values_list("incident_id", flat=True)) == {fast.pk}


def test_the_database_reads_iso_dates_whatever_the_sessions_date_style(
    tmp_path, monkeypatch
):
    path = write(tmp_path, CLEAN)
    fast, slow = incident_make(), incident_make("Another")
    through_python(monkeypatch, path=path, incident=slow)
    monkeypatch.setitem(PARSERS, "csv", None)  # the Python parser is not used
    with connection.cursor() as cursor:
        cursor.execute("SET datestyle = 'SQL, DMY'")

    records_import(path=path, incident=fast)

    assert stored(fast) == stored(slow)


@pytest.mark.parametrize(
    "row",
    [
        "TX-9, GB09,10.00,GBP,2026-03-02,,,",  # a space the parser strips
        "TX-9,GB09,10.00,gbp,2026-03-02,,,",  # a currency it upper-cases
        "TX-9,GB09,(10.00),GBP,2026-03-02,,,",  # a negative in brackets
        "TX-9,GB09,10.00,GBP,2026-03-02,Ann\u00a0,,",  # a no-break space
        "TX-9,GB09,10.00,GBP,2026-03-02,\u3000Ann,,",  # an ideographic space
        "TX-9,GB09,0000000000000001.50,GBP,2026-03-02,,,",  # 16 digits, 15 zeros
        "TX-9,GB09,10.00,GBP,2026-3-02,,,",  # a date Python reads, not ISO's form
        "TX-9,GB09,10.00,GBP, 2026-03-02,,,",  # a date with a space it strips
        "TX-9,GB09,10.00,GBP,2026-03-02,,,,",  # a ninth column
        'TX-9,GB09,10.00,GBP,2026-03-02,,,"a\n\\.\nb"',  # COPY's end-of-data mark
        "",  # a blank line
    ],
)
def test_a_file_the_database_cannot_vouch_for_is_read_by_the_python_parser(
    tmp_path, monkeypatch, row
):
    path = write(tmp_path, [*CLEAN, row, "TX-10,GB10,1.00,GBP,2026-03-02,,,"])
    fast, slow = incident_make(), incident_make("Another")

    first = through_python(monkeypatch, path=path, incident=slow)
    outcome = records_import(path=path, incident=fast)

    assert stored(fast) == stored(slow)
    assert stored(fast)[-1][0] == "TX-10"
    assert outcome.batch.rows_loaded == first.batch.rows_loaded


@pytest.mark.parametrize(
    "row",
    [
        "TX-9,GB09,12.x,GBP,2026-03-02,,,",
        "TX-9,GB09,10.001,GBP,2026-03-02,,,",
        "TX-9,GB09,10.00,XXY,2026-03-02,,,",
        "TX-9,GB09,10.00,GBP,2026-02-30,,,",
        "TX-9,GB09,10.00,GBP,2026-13-02,,,",
        "TX-9,GB09,10.00,GBP,2026-03-02,,@SUM(A1),",
        "TX-9,GB09,1.2.3,GBP,2026-03-02,,,",
        "TX-9,GB09,10.00,GBP,0000-01-01,,,",
        "TX-9,GB09,10.00,GBP,20260302,,,",  # PostgreSQL reads it, Python does not
        "TX-9,GB09,10.00,GBP,2026-03-02 BC,,,",
        'TX-9,GB09,10.00,GBP,2026-03-02,=HYPERLINK("x"),,',
        "TX-9,GB09,10.00,GBP,2026-03-02,," + "r" * 141 + ",",
        ",GB09,10.00,GBP,2026-03-02,,,",
        "TX-1,GB09,10.00,GBP,2026-03-02,,,",  # the id of the first row again
    ],
)
def test_a_bad_row_gets_the_python_report_and_nothing_is_loaded(
    tmp_path, monkeypatch, row
):
    path = write(tmp_path, [*CLEAN, row])
    incident = incident_make()
    with pytest.raises(ImportRejected) as python:
        through_python(monkeypatch, path=path, incident=incident)

    with pytest.raises(ImportRejected) as caught:
        records_import(path=path, incident=incident)

    assert caught.value.errors == python.value.errors
    assert [e.line for e in caught.value.errors] == [7]
    assert SystemRecord.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_a_second_file_adds_only_new_external_ids(tmp_path):
    incident = incident_make()
    records_import(path=write(tmp_path, CLEAN[:2], "a.csv"), incident=incident)

    outcome = records_import(path=write(tmp_path, CLEAN, "b.csv"), incident=incident)

    assert (outcome.batch.rows_seen, outcome.batch.rows_loaded) == (4, 2)
    assert outcome.batch.rows_skipped == 2
    assert SystemRecord.objects.filter(batch=outcome.batch).count() == 2


def test_external_ids_compare_byte_by_byte_and_stay_distinct(tmp_path):
    """Migration 0006 gives the column the "C" collation (a cheaper unique index);
    ids that a locale might sort together are still different ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT collation_name FROM information_schema.columns"
            " WHERE table_name = %s AND column_name = 'external_id'",
            [SystemRecord._meta.db_table],
        )
        assert cursor.fetchone() == ("C",)
    incident = incident_make()
    ids = ["tx-1", "TX-1", "Tx-é", "Tx-e\u0301", "\u0422\u0425-1"]
    rows = [f'"{i}",GB01,1.00,GBP,2026-03-02,,,' for i in ids]
    records_import(path=write(tmp_path, rows), incident=incident)
    assert sorted(
        SystemRecord.objects.filter(incident=incident).values_list(
            "external_id", flat=True
        )
    ) == sorted(ids)
    again = records_import(
        path=write(tmp_path, rows[:2], name="again.csv"), incident=incident
    )
    assert again.batch.rows_loaded == 0


@pytest.mark.parametrize(
    "row",
    [
        "TX-9,GB09,10.00,GBP,20260302,,,",  # the cast reads it, the rules do not
        "TX-9,GB09,1e3,GBP,2026-03-02,,,",
        "TX-3,GB03,-12,JPY,2024-02-29,,,",  # an id of this very file again
    ],
)
def test_a_bad_row_in_a_later_file_leaves_the_first_as_it_was(tmp_path, row):
    incident = incident_make()
    records_import(path=write(tmp_path, CLEAN[:2], "a.csv"), incident=incident)
    before = stored(incident)

    with pytest.raises(ImportRejected) as caught:
        records_import(path=write(tmp_path, [*CLEAN, row], "b.csv"), incident=incident)

    assert [e.line for e in caught.value.errors] == [7]
    assert stored(incident) == before
    assert ImportBatch.objects.count() == 1


def backends():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("rows", [CLEAN, [*CLEAN, "TX-9,GB09,12.x,GBP,2026-03-02,,,"]])
def test_the_rules_checking_connection_is_closed_after_the_import(tmp_path, rows):
    incident = incident_make()
    open_before = backends()

    try:
        records_import(path=write(tmp_path, rows), incident=incident)
    except ImportRejected:
        pass

    assert backends() == open_before


def test_a_record_inserted_outside_an_import_must_name_its_batch_and_incident():
    """Migration 0007's defaults come from an import's own settings; elsewhere an
    insert that leaves them out fails instead of filing the row anywhere (a session
    that ran an import before knows the setting, empty: not a number either)."""
    with pytest.raises(
        DatabaseError, match=r"outage_desk\.import_batch|type bigint: \"\""
    ):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SystemRecord._meta.db_table} (external_id, account,"  # noqa: S608
                " amount, currency, value_date, counterparty, reference, description)"
                " VALUES ('TX-1', '', 1, 'GBP', '2026-03-02', '', '', '')"
            )
    assert SystemRecord.objects.count() == 0


def test_without_a_second_connection_the_python_parser_loads_the_file(
    tmp_path, monkeypatch
):
    path = write(tmp_path, CLEAN)
    fast, slow = incident_make(), incident_make("Another")
    through_python(monkeypatch, path=path, incident=slow)
    parsed = []
    real = PARSERS["csv"]
    monkeypatch.setitem(
        PARSERS, "csv", lambda *a, **k: parsed.append(1) or real(*a, **k)
    )

    def refused(params):
        raise OSError("too many connections")

    monkeypatch.setattr(connection, "get_new_connection", refused)
    outcome = records_import(path=path, incident=fast)

    assert parsed
    assert stored(fast) == stored(slow)
    assert outcome.batch.rows_loaded == 4
