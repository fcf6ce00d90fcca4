"""The link tables have no database foreign keys: the store checks instead."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError

from reconciliation import engine
from reconciliation.finance_models import Case
from reconciliation.models import (
    Discrepancy,
    Match,
    MatchDeposit,
    MatchRecord,
    ReconciliationRun,
    SystemRecord,
)
from reconciliation.services import run_create, run_execute
from reconciliation.storage import ERROR_OUTCOME_ITEMS

from .factories import deposit_make, incident_make
from .test_reconcile import incident, load, reconcile, scenario  # noqa: F401

pytestmark = pytest.mark.django_db


def _tamper(monkeypatch, extra):
    """The matcher's result, plus one outcome item naming what ``extra`` gives."""
    real = engine.reconcile

    def tampered(*args, **kwargs):
        result = real(*args, **kwargs)
        extra(result)
        return result

    monkeypatch.setattr(engine, "reconcile", tampered)


def _nothing_stored(run):
    run.refresh_from_db()
    assert run.status == ReconciliationRun.Status.FAILED
    assert Match.objects.count() == 0
    assert MatchDeposit.objects.count() == 0
    assert MatchRecord.objects.count() == 0
    assert Discrepancy.objects.count() == 0
    assert Discrepancy.deposits.through.objects.count() == 0
    assert Discrepancy.records.through.objects.count() == 0
    assert Case.objects.count() == 0


def test_an_outcome_naming_another_incidents_deposit_stores_nothing(
    scenario,  # noqa: F811
    incident,  # noqa: F811
    monkeypatch,
):
    # given
    other = deposit_make(
        incident_make("Another outage"), receipt_number="X-1", amount="100.00"
    )
    _tamper(
        monkeypatch,
        lambda result: result.discrepancies.append(
            engine.DiscrepancyResult(
                "missing_in_system", (other.pk,), (), Decimal("100.00"), currency="GBP"
            )
        ),
    )
    run = run_create(incident=incident)

    # when
    with pytest.raises(IntegrityError, match=str(ERROR_OUTCOME_ITEMS)):
        run_execute(run=run)

    # then
    _nothing_stored(run)


def test_an_outcome_naming_a_record_that_does_not_exist_stores_nothing(
    scenario,  # noqa: F811
    incident,  # noqa: F811
    monkeypatch,
):
    # given
    missing = (SystemRecord.objects.order_by("-pk").values_list("pk", flat=True)[0]) + 1
    deposit = scenario["missing"]
    _tamper(
        monkeypatch,
        lambda result: result.matches.append(
            engine.MatchResult(
                "reference",
                (deposit.pk,),
                (missing,),
                90,
                {},
                deposit.amount,
                deposit.amount,
                "GBP",
            )
        ),
    )
    run = run_create(incident=incident)

    # when
    with pytest.raises(IntegrityError, match=str(ERROR_OUTCOME_ITEMS)):
        run_execute(run=run)

    # then
    _nothing_stored(run)


def test_every_stored_link_points_at_a_row_of_the_runs_incident(
    scenario,  # noqa: F811
    incident,  # noqa: F811
):
    # when
    reconcile(incident)

    # then
    assert MatchDeposit.objects.count() == 2
    assert MatchRecord.objects.count() == 2
    assert not MatchDeposit.objects.exclude(deposit__incident=incident).exists()
    assert not MatchRecord.objects.exclude(record__incident=incident).exists()
    links_d = Discrepancy.deposits.through.objects
    links_r = Discrepancy.records.through.objects
    assert links_d.count() == 2
    assert links_r.count() == 2
    assert not links_d.exclude(deposit__incident=incident).exists()
    assert not links_r.exclude(systemrecord__incident=incident).exists()


def test_the_outcome_of_a_run_deleted_meanwhile_is_not_stored(
    scenario,  # noqa: F811
    incident,  # noqa: F811
    monkeypatch,
):
    # given: the run's row goes away while it matches (matches and discrepancies
    # have no database foreign key to their run)
    run = run_create(incident=incident)
    _tamper(
        monkeypatch,
        lambda result: ReconciliationRun.objects.filter(pk=run.pk).delete(),
    )

    # when
    with pytest.raises(DatabaseError):
        run_execute(run=run)

    # then
    assert not ReconciliationRun.objects.filter(pk=run.pk).exists()
    assert Match.objects.count() == 0
    assert MatchDeposit.objects.count() == 0
    assert MatchRecord.objects.count() == 0
    assert Discrepancy.objects.count() == 0
    assert Case.objects.count() == 0
