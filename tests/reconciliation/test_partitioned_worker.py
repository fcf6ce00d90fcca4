"""A run fanned out over Celery workers (one task per partition, then a merge) stores
exactly what a single-process run stores, through a real worker on the broker."""

import io
import time
import uuid

import pytest
from django.conf import settings

from reconciliation.engine import partition
from reconciliation.export import run_export
from reconciliation.loading import records_import
from reconciliation.models import ReconciliationRun
from reconciliation.services import run_create, run_execute, run_plan
from reconciliation.tasks import reconciliation_run_task
from tests.workers import celery_worker_start, celery_worker_stop

from .factories import deposit_make, incident_make

HEADER = "external_id,account,amount,currency,value_date,counterparty,reference,description\n"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.BROKER_IS_EMBEDDED,
        reason="a chord needs a shared result backend: set CELERY_BROKER_URL (Redis)",
    ),
]


@pytest.fixture
def worker():
    queue = f"reconciliation-test-{uuid.uuid4().hex[:8]}"
    proc = celery_worker_start(
        queue, pool="prefork", env={"RECONCILIATION_TASK_QUEUE": queue}
    )
    yield queue
    celery_worker_stop(proc)


@pytest.fixture
def incident(tmp_path):
    incident = incident_make()
    rows = []
    for i in range(40):  # exact matches by reference, by account, by name
        amount = f"{100 + i * 7}.{i:02d}"
        deposit_make(
            incident,
            receipt_number=f"R-{i}",
            amount=amount,
            account=f"GB{i:08d}",
            reference=f"INV-{i}" if i % 3 == 0 else "",
            payer_name=f"Payer {i}",
        )
        account = f"GB{i:08d}" if i % 5 else f"GB{i:08d}"[:-1] + "9"  # a typo
        rows.append(
            f"TX-{i},{account},{amount},GBP,2026-03-0{2 + i % 3},Payer {i},"
            f"{'INV-' + str(i) if i % 3 == 0 else ''},"
        )
    # a split, a transposed amount, a deposit entered twice, a credit nobody recorded
    deposit_make(incident, receipt_number="S-1", amount="300.00", account="GB77")
    rows += [
        "TX-S1,GB77,100.00,GBP,2026-03-02,,,",
        "TX-S2,GB77,200.00,GBP,2026-03-02,,,",
    ]
    deposit_make(incident, receipt_number="T-1", amount="153.00", account="GB78")
    rows.append("TX-T1,GB78,135.00,GBP,2026-03-02,Ann Lee,,")
    for receipt in ("D-1", "D-2"):
        deposit_make(incident, receipt_number=receipt, amount="42.00", account="GB79")
    rows += [
        "TX-D1,GB79,42.00,GBP,2026-03-02,Ann Lee,,",
        "TX-X,GB80,9.99,GBP,2026-03-03,,,",
    ]
    deposit_make(incident, receipt_number="M-1", amount="61.00", account="GB81")
    path = tmp_path / "records.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    records_import(path=path, incident=incident)
    return incident


def _export(run) -> str:
    out = io.StringIO()
    run_export(run=run, out=out)
    return out.getvalue()


def test_a_run_fanned_out_over_workers_stores_exactly_the_single_run(worker, incident):
    single = run_execute(run=run_create(incident=incident))
    parts = [run_plan(incident=incident, part=(i, 3)) for i in range(3)]
    assert sum(len(p.manual) for p in parts) == single.counts["deposits"] == 45
    assert sum(len(p.system) for p in parts) == single.counts["records"]
    assert sum(1 for p in parts if p.manual) >= 2  # the partitions share the work
    # the database selects each partition's rows by the engine's own hash
    whole = run_plan(incident=incident)
    expected = partition(whole.manual, whole.system, 3, whole.config)
    assert [({m.id for m in p.manual}, {s.id for s in p.system}) for p in parts] == [
        ({m.id for m in ms}, {s.id for s in ss}) for ms, ss in expected
    ]

    fanned = run_create(incident=incident)
    reconciliation_run_task.apply_async((fanned.pk, 3), queue=worker)

    deadline = time.monotonic() + 120
    while fanned.status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
        fanned.refresh_from_db()
    assert fanned.status == ReconciliationRun.Status.FINISHED
    assert "merge" in fanned.params["seconds"]  # merged from partitions
    assert fanned.counts == single.counts
    assert single.counts["matched_split"] == 1
    assert single.counts["amount_mismatch"] == 1
    assert single.counts["duplicate_manual"] == 1
    assert _export(fanned) == _export(single)
    assert [
        (m.kind, m.score, m.reasons, sorted(m.deposits.values_list("pk", flat=True)))
        for m in fanned.matches.order_by("pk")
    ] == [
        (m.kind, m.score, m.reasons, sorted(m.deposits.values_list("pk", flat=True)))
        for m in single.matches.order_by("pk")
    ]
