"""A small reconciled incident for the finance tests: two matches and three items."""

import pytest

from deposits.models import Deposit
from reconciliation.finance_models import Case
from reconciliation.loading import records_import
from reconciliation.services import run_create, run_execute
from tests.factories import CustomerFactory

from .factories import deposit_make, incident_make

HEADER = "external_id,account,amount,currency,value_date,counterparty,reference,description\n"


def load(tmp_path, incident, rows, name="records.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return records_import(path=path, incident=incident)


def reconcile(incident):
    return run_execute(run=run_create(incident=incident))


@pytest.fixture
def incident(db):
    return incident_make()


@pytest.fixture
def world(tmp_path, incident):
    customer = CustomerFactory(account="GB00000004", email="ann@example.com", phone="")
    deposits = {
        "ref": deposit_make(
            incident, receipt_number="R-1", amount="100.00", reference="INV-1"
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
            receipt_number="R-3",
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
            customer=customer,
        ),
        "big": deposit_make(
            incident,
            receipt_number="R-5",
            amount="50000.00",
            account="GB00000005",
            payer_name="Big Co",
        ),
    }
    Deposit.objects.filter(pk__in=[d.pk for d in deposits.values()]).update(
        status=Deposit.Status.PROVISIONAL
    )
    load(
        tmp_path,
        incident,
        [
            "TX-1,GB00000001,100.00,GBP,2026-03-02,Ann Lee,INV-1,",
            "TX-2,GB00000002,250.50,GBP,2026-03-03,Bob Stone,,",
            "TX-4,GB00000004,135.00,GBP,2026-03-02,Ann Lee,INV-4,",
            "TX-5,GB00000009,12.00,GBP,2026-03-02,Dee Ell,,",
            "TX-8,GB00000077,50000.00,GBP,2026-03-02,Someone Else,,",
        ],
    )
    run = reconcile(incident)
    return {"run": run, **deposits}


def case_of(kind, **filters):
    return Case.objects.filter(kind=kind, **filters).order_by("-pk").first()
