import csv
import dataclasses
import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from deposits.models import Deposit
from notifications.models import Notice
from outage_desk.models import AuditEvent
from reconciliation import export
from reconciliation.export import run_export
from reconciliation.loading import records_import
from reconciliation.models import (
    Discrepancy,
    Match,
    MatchDeposit,
    MatchSettings,
    ReconciliationRun,
    RejectedPair,
)
from reconciliation.services import (
    ERROR_ALREADY_CONFIRMED,
    ERROR_NOT_PROPOSED,
    match_confirm,
    match_reject,
    run_create,
    run_execute,
)
from tests.factories import CustomerFactory

from .factories import START, deposit_make, incident_make

pytestmark = pytest.mark.django_db

HEADER = "external_id,account,amount,currency,value_date,counterparty,reference,description\n"


@pytest.fixture
def incident(db):
    return incident_make()


def load(tmp_path, incident, rows, name="records.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return records_import(path=path, incident=incident)


def reconcile(incident, *args):
    out = StringIO()
    call_command("reconcile", incident.reference, *args, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.fixture
def scenario(tmp_path, incident):
    customer = CustomerFactory(account="GB00000001", email="ann@example.com", phone="")
    deposits = {
        "ref": deposit_make(
            incident,
            receipt_number="R-1",
            amount="100.00",
            reference="INV-1",
            customer=customer,
        ),
        "cash": deposit_make(
            incident,
            receipt_number="R-2",
            amount="250.50",
            account="GB00000002",
            payer_name="Bob Stone",
        ),
        "missing": deposit_make(
            incident,
            receipt_number="=R-3",
            amount="70.00",
            account="GB00000003",
            payer_name="Cy Dee",
        ),
        "typo": deposit_make(
            incident,
            receipt_number="R-4",
            amount="153.00",
            account="GB00000004",
            reference="INV-4",
        ),
    }
    load(
        tmp_path,
        incident,
        [
            "TX-1,GB00000001,100.00,GBP,2026-03-02,Ann Lee,INV-1,",
            "TX-2,GB00000002,250.50,GBP,2026-03-03,Bob Stone,,",
            "TX-4,GB00000004,135.00,GBP,2026-03-02,Ann Lee,INV-4,",
            "TX-5,GB00000009,12.00,GBP,2026-03-02,Dee Ell,,",
            "TX-6,GB00000009,-12.00,GBP,2026-03-02,Debit,,",
            "TX-7,GB00000009,99.00,GBP,2026-01-05,Old,,",
        ],
    )
    return deposits


def test_reconcile_prints_counts_and_stores_the_outcome(scenario, incident):
    counts = reconcile(incident)

    run = ReconciliationRun.objects.get()
    assert counts == {
        "run": run.pk,
        "ambiguous": 0,
        "amount_mismatch": 1,
        "currency_mismatch": 0,
        "deposits": 4,
        "discrepancies": 3,
        "duplicate_manual": 0,
        "duplicate_system": 0,
        "matched": 2,
        "matched_account_amount_date": 1,
        "matched_fuzzy": 0,
        "matched_reference": 1,
        "matched_split": 0,
        "missing_in_system": 1,
        "missing_manual": 1,
        "records": 4,
    }
    assert run.counts == {k: v for k, v in counts.items() if k != "run"}
    assert run.status == ReconciliationRun.Status.FINISHED
    match = Match.objects.get(kind="reference")
    assert list(match.deposits.values_list("receipt_number", flat=True)) == ["R-1"]
    assert match.reasons["reference"] == "equal"
    mismatch = Discrepancy.objects.get(kind="amount_mismatch")
    assert (mismatch.difference, mismatch.hint) == (
        Decimal("-18.000"),
        "transposed digits",
    )


def test_the_export_has_one_row_per_outcome_in_the_design_columns(
    scenario, incident, tmp_path
):
    target = tmp_path / "out.csv"

    reconcile(incident, "--export", str(target))

    rows = list(csv.reader(target.open(encoding="utf-8")))
    score_ref = str(Match.objects.get(kind="reference").score)
    score_acct = str(Match.objects.get(kind="account_amount_date").score)
    assert rows == [
        [
            "outcome",
            "kind",
            "receipt_numbers",
            "external_ids",
            "manual_amount",
            "system_amount",
            "difference",
            "score",
            "status",
        ],
        [
            "matched",
            "reference",
            "R-1",
            "TX-1",
            "100.00",
            "100.00",
            "0.00",
            score_ref,
            "proposed",
        ],
        [
            "matched",
            "account_amount_date",
            "R-2",
            "TX-2",
            "250.50",
            "250.50",
            "0.00",
            score_acct,
            "proposed",
        ],
        [
            "discrepancy",
            "amount_mismatch",
            "R-4",
            "TX-4",
            "153.00",
            "135.00",
            "-18.00",
            "",
            "open",
        ],
        ["discrepancy", "missing_in_system", "'=R-3", "", "70.00", "", "", "", "open"],
        ["discrepancy", "missing_manual", "", "TX-5", "", "12.00", "", "", "open"],
    ]


def _export_text(run, stored=None):
    out = StringIO()
    rows = run_export(run=run, out=out, stored=stored)
    text = out.getvalue()
    assert rows == text.count("\n") - 1
    return text


def _not_read(run):
    raise AssertionError("the export read back what the run had just stored")


def test_the_export_of_a_run_just_stored_is_written_from_memory_byte_for_byte(
    scenario, incident, finance, tmp_path, monkeypatch
):
    """The outcome the run holds gives the bytes the stored rows give, with a
    split (ids sorted), a receipt made safe, an earlier run's confirmed match,
    auto-confirmed and rejected matches and a resolved discrepancy."""
    deposit_make(incident, receipt_number="R-9", amount="300.00", account="GB00000011")
    deposit_make(incident, receipt_number="R-7", amount="42.00", account="GB00000012")
    deposit_make(incident, receipt_number="R-8", amount="42.00", account="GB00000012")
    deposit_make(incident, receipt_number="R-12", amount="55.00", account="GB00000013")
    load(
        tmp_path,
        incident,
        [
            "TX-9b,GB00000011,200.00,GBP,2026-03-02,Ann Lee,,",
            "TX-9a,GB00000011,100.00,GBP,2026-03-02,Ann Lee,,",
            "TX-10,GB00000012,42.00,GBP,2026-03-02,Ann Lee,,",
            "TX-12,GB00000013,55.00,GBP,2026-03-03,Ann Lee,,",
        ],
        name="more.csv",
    )
    first = run_execute(run=run_create(incident=incident))
    match_confirm(match=Match.objects.get(run=first, kind="reference"), actor=finance)
    match_reject(
        match=Match.objects.get(run=first, deposits__receipt_number="R-2"),
        actor=finance,
    )
    MatchSettings.objects.create(incident=incident, auto_confirm_score=100)

    run = run_execute(run=run_create(incident=incident))
    match_reject(match=Match.objects.get(run=run, kind="split"), actor=finance)
    Discrepancy.objects.filter(run=run, kind="missing_manual").update(
        status=Discrepancy.Status.RESOLVED
    )
    read = _export_text(run)
    monkeypatch.setattr(export, "_rows_read", _not_read)
    written = _export_text(run, run.stored_outcome)

    assert written == read
    rows = list(csv.reader(StringIO(read)))
    assert {"confirmed", "rejected", "resolved", "proposed", "open"} <= {
        row[-1] for row in rows
    }
    assert ["matched", "split", "R-9", "TX-9a TX-9b"] in [row[:4] for row in rows]
    assert "'=R-3" in {row[2] for row in rows}
    assert rows[1][:4] == ["matched", "reference", "R-1", "TX-1"]  # the first run's


def test_an_outcome_naming_rows_the_run_did_not_read_is_exported_from_the_database(
    scenario, incident, monkeypatch
):
    run = run_execute(run=run_create(incident=incident))
    stored = run.stored_outcome
    partial = dataclasses.replace(stored, manual=stored.manual[1:])
    read = _export_text(run)
    called = []
    rows_read = export._rows_read
    monkeypatch.setattr(
        export, "_rows_read", lambda run: called.append(run) or rows_read(run)
    )

    assert _export_text(run, partial) == read
    assert called == [run]


def test_confirming_a_match_confirms_the_deposit_and_tells_the_customer(
    scenario, incident, finance
):
    reconcile(incident)
    match = Match.objects.get(kind="reference")

    match_confirm(match=match, actor=finance)

    match.refresh_from_db()
    assert match.status == Match.Status.CONFIRMED
    assert Deposit.objects.get(receipt_number="R-1").status == Deposit.Status.CONFIRMED
    assert Deposit.objects.get(receipt_number="R-2").status == (
        Deposit.Status.AWAITING_CONFIRMATION
    )
    notice = Notice.objects.get()
    assert (notice.kind, notice.recipient) == ("deposit_confirmed", "ann@example.com")
    event = AuditEvent.objects.get(action="reconciliation.match_confirmed")
    assert event.data["deposits"] == ["R-1"]


def test_a_decided_match_cannot_be_decided_again(scenario, incident, finance):
    reconcile(incident)
    match = Match.objects.get(kind="reference")
    match_confirm(match=match, actor=finance)

    with pytest.raises(ValidationError) as caught:
        match_reject(match=match, actor=finance)

    assert caught.value.messages == [str(ERROR_NOT_PROPOSED)]
    assert RejectedPair.objects.count() == 0


def test_a_rerun_keeps_confirmed_matches_and_never_reproposes_rejected_pairs(
    scenario, incident, finance, tmp_path
):
    reconcile(incident)
    match_confirm(match=Match.objects.get(kind="reference"), actor=finance)
    match_reject(match=Match.objects.get(kind="account_amount_date"), actor=finance)

    counts = reconcile(incident, "--export", str(tmp_path / "again.csv"))

    assert (counts["deposits"], counts["records"]) == (3, 3)
    assert counts["matched"] == 0
    assert (counts["missing_in_system"], counts["missing_manual"]) == (2, 2)
    rows = list(csv.reader((tmp_path / "again.csv").open(encoding="utf-8")))
    assert rows[1][:4] == ["matched", "reference", "R-1", "TX-1"]
    assert rows[1][-1] == "confirmed"


def test_a_deposit_cannot_be_in_two_confirmed_matches(scenario, incident, finance):
    reconcile(incident)
    first = Match.objects.get(kind="reference")
    match_confirm(match=first, actor=finance)
    # A stale proposal for the same deposit from an earlier run.
    stale = Match.objects.create(
        run=ReconciliationRun.objects.create(incident=incident),
        kind="manual",
        manual_amount=Decimal("100"),
        system_amount=Decimal("100"),
        currency="GBP",
    )
    MatchDeposit.objects.create(match=stale, deposit=scenario["ref"])

    with pytest.raises(ValidationError) as caught:
        match_confirm(match=stale, actor=finance)

    assert caught.value.messages == [str(ERROR_ALREADY_CONFIRMED)]
    stale.refresh_from_db()
    assert stale.status == Match.Status.PROPOSED
    assert (
        MatchDeposit.objects.filter(deposit=scenario["ref"], confirmed=True).count()
        == 1
    )


def test_a_dry_run_stores_no_matches_and_counts_changes(scenario, incident):
    reconcile(incident)
    deposit_make(
        incident,
        receipt_number="R-9",
        amount="12.00",
        account="GB00000009",
        payer_name="Dee Ell",
    )

    counts = reconcile(incident, "--dry-run")

    assert (counts["new_matches"], counts["dropped_matches"]) == (1, 0)
    dry = ReconciliationRun.objects.get(dry_run=True)
    assert dry.matches.count() == 0
    assert dry.discrepancies.count() == 0


def test_a_partitioned_run_stores_the_same_outcome(scenario, incident):
    single = reconcile(incident)

    partitioned = reconcile(incident, "--partitions", "3")

    assert {k: v for k, v in single.items() if k != "run"} == {
        k: v for k, v in partitioned.items() if k != "run"
    }


def test_a_run_executes_once(scenario, incident):
    run = run_create(incident=incident)
    run_execute(run=run)

    with pytest.raises(ValidationError):
        run_execute(run=run)

    assert Match.objects.count() == 2


def test_received_dates_are_taken_in_the_branch_time_zone(tmp_path, incident):
    from tests.factories import BranchFactory

    shanghai = BranchFactory(
        code="SH", name="Shanghai", timezone="Asia/Shanghai", currency="CNY"
    )
    # 20:00 UTC on Monday is already Tuesday in Shanghai.
    deposit_make(
        incident,
        receipt_number="S-1",
        amount="10.00",
        currency="CNY",
        account="CN1",
        branch=shanghai,
        received_at=dt.datetime(2026, 3, 2, 20, tzinfo=dt.UTC),
    )
    load(tmp_path, incident, ["C-1,CN1,10.00,CNY,2026-03-03,,,"])

    reconcile(incident)

    match = Match.objects.get()
    assert match.reasons["date"] == "same day"
    assert START.date() == dt.date(2026, 3, 2)


def test_a_rule_confirms_matches_at_or_above_a_score(scenario, incident):
    from reconciliation.models import MatchSettings

    MatchSettings.objects.create(incident=incident, auto_confirm_score=100)

    reconcile(incident)

    confirmed = Match.objects.filter(status=Match.Status.CONFIRMED)
    assert list(confirmed.values_list("kind", flat=True)) == ["reference"]
    assert Match.objects.get(kind="account_amount_date").status == "proposed"
    assert list(
        Deposit.objects.filter(status=Deposit.Status.CONFIRMED).values_list(
            "receipt_number", flat=True
        )
    ) == ["R-1"]
    assert Notice.objects.get().recipient == "ann@example.com"
    event = AuditEvent.objects.get(action="reconciliation.auto_confirmed")
    assert event.data == {"matches": 1, "min_score": 100, "deposits": 1}


def test_a_partitioned_run_merged_twice_stores_once(scenario, incident):
    # What the Celery chord runs, in this process: partitions, then the merge;
    # a redelivered merge finds the run finished and stores nothing again.
    from reconciliation.models import ReconciliationRun
    from reconciliation.services import _run_claim, run_merge, run_partition

    single = run_execute(run=run_create(incident=incident))
    run = run_create(incident=incident)
    _run_claim(run)
    run.refresh_from_db()
    parts = [run_partition(run=run, index=i, count=3) for i in range(3)]

    run_merge(run=run, partitions=parts)
    again = ReconciliationRun.objects.get(pk=run.pk)
    run_merge(run=again, partitions=parts)

    again.refresh_from_db()
    assert again.status == ReconciliationRun.Status.FINISHED
    assert again.counts == single.counts
    assert Match.objects.filter(run=again).count() == single.matches.count()
    assert Discrepancy.objects.filter(run=again).count() == (
        single.discrepancies.count()
    )


def test_a_failed_partition_marks_the_run_failed(scenario, incident):
    from reconciliation.services import _run_claim
    from reconciliation.tasks import reconciliation_failed_task

    run = run_create(incident=incident)
    _run_claim(run)

    reconciliation_failed_task(run.pk)

    run.refresh_from_db()
    assert run.status == ReconciliationRun.Status.FAILED
    assert run.finished_at is not None
