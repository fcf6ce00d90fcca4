"""End-to-end speed of import + reconcile + export on PostgreSQL, next to a floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_reconciliation \\
        .venv/bin/python -m bench.reconciliation_speed --deposits 100000 --records 1000000

The floor, measured in the same run: PostgreSQL COPY of the same file into a
bare table, plus a plain in-memory hash join of deposits and records on
(account, amount). It is measured before the job and again after it, and the job
is compared with the mean of the two, so a change in the machine's speed during
the run weighs on both sides. The job runs as the real commands in child processes, so
their peak memory is measured on their own. Accuracy is scored from the export.
"""

import argparse
import csv
import datetime as dt
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_desk.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.reconciliation_generate import (  # noqa: E402
    START,
    WINDOW_DAYS,
    DataSet,
    generate,
    score,
)
from deposits.models import Branch, Deposit  # noqa: E402
from incidents.models import Incident  # noqa: E402
from incidents.services import incident_open  # noqa: E402
from outage_desk.models import User  # noqa: E402
from reconciliation.engine import business_days_add, gc_paused  # noqa: E402

HEADER = [
    "external_id",
    "account",
    "amount",
    "currency",
    "value_date",
    "counterparty",
    "reference",
    "description",
]


def write_records(data: DataSet, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for s in data.system:
            writer.writerow(
                [
                    s.external_id,
                    s.account,
                    s.amount,
                    s.currency,
                    s.value_date.isoformat(),
                    s.counterparty,
                    s.reference,
                    "",
                ]
            )


def setup_incident(data: DataSet) -> Incident:
    """An incident and its deposits, written in bulk (setup, not timed)."""
    tag = uuid.uuid4().hex[:6].upper()
    branch = Branch.objects.create(
        code=f"B{tag}", name="Bench", timezone="UTC", currency="GBP"
    )
    user = User.objects.create(username=f"bench-{tag}")
    begins = dt.datetime.combine(START, dt.time(0), tzinfo=dt.UTC)
    incident = incident_open(title=f"Bench {tag}", starts_at=begins)
    last = business_days_add(START, WINDOW_DAYS - 1)
    Incident.objects.filter(pk=incident.pk).update(
        restored_at=dt.datetime.combine(last, dt.time(18), tzinfo=dt.UTC),
        capture_grace=dt.timedelta(0),
    )
    incident.refresh_from_db()
    rows = [
        Deposit(
            client_uuid=uuid.uuid4(),
            incident=incident,
            branch=branch,
            receipt_number=m.receipt_number,
            channel="cash",
            account=m.account,
            payer_name=m.payer_name,
            amount=m.amount,
            currency=m.currency,
            received_at=dt.datetime.combine(m.received_on, dt.time(12), tzinfo=dt.UTC),
            reference=m.reference,
            status="awaiting_confirmation",
            recorded_by=user,
        )
        for m in data.manual
    ]
    Deposit.objects.bulk_create(rows, batch_size=5000)
    return incident


def floor(data: DataSet, path: Path) -> dict[str, float]:
    began = time.perf_counter()
    with connection.cursor() as cursor, path.open(encoding="utf-8") as handle:
        cursor.execute(
            "CREATE TEMP TABLE floor_copy (external_id text, account text, amount "
            "numeric, currency text, value_date date, counterparty text, "
            "reference text, description text)"
        )
        cursor.copy_expert(
            "COPY floor_copy FROM STDIN WITH (FORMAT csv, HEADER)", handle
        )
        cursor.execute("DROP TABLE floor_copy")
    # The join runs with the cycle collector paused, as the matcher does: otherwise
    # whether a full collection over the data set's millions of objects falls inside
    # it (about half a second) depends on what the process allocated before.
    gc.collect()
    copied = time.perf_counter()
    with gc_paused():
        index: dict[tuple[str, object], list[int]] = {}
        for s in data.system:
            index.setdefault((s.account, s.amount), []).append(s.id)
        pairs = sum(1 for m in data.manual if (m.account, m.amount) in index)
    joined = time.perf_counter()
    return {"copy": copied - began, "hash_join": joined - copied, "pairs": pairs}


# Runs manage.py in the child and reports the child's own peak RSS (VmHWM starts
# afresh at exec, unlike ru_maxrss, which counts the fork of this big process).
WRAPPER = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM'):\n"
    "            sys.stderr.write('\\nVmHWM ' + line.split()[1] + '\\n')\n"
    "atexit.register(peak)\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def run_child(args: list[str]) -> tuple[float, int, str, str]:
    """Run a command; its wall time, its own peak RSS (KiB), stdout and stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, str(ROOT / "manage.py"), *args],
            stdout=out,
            stderr=err,
        )
        # wait4 reaps this one child and returns its own resource usage.
        _pid, status, _usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise SystemExit(f"{args[0]} failed: {stderr[-2000:]}")
    lines = stderr.strip().splitlines()
    peak = int(lines[-1].split()[1]) if lines and lines[-1].startswith("VmHWM") else 0
    rest = "\n".join(lines[:-1])
    return took, peak, stdout, rest


def score_export(data: DataSet, path: Path) -> dict[str, object]:
    """Map the export's receipt numbers and external ids back to generator ids."""
    from reconciliation.engine import DiscrepancyResult, MatchResult

    m_ids = {m.receipt_number: m.id for m in data.manual}
    s_ids = {s.external_id: s.id for s in data.system}
    matches, discrepancies = [], []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ms = tuple(sorted(m_ids[r] for r in row["receipt_numbers"].split()))
            ss = tuple(sorted(s_ids[x] for x in row["external_ids"].split()))
            if row["outcome"] == "matched":
                matches.append(MatchResult(row["kind"], ms, ss, 0, {}, 0, 0, ""))
            else:
                discrepancies.append(DiscrepancyResult(row["kind"], ms, ss))
    return score(data, matches, discrepancies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deposits", type=int, default=10000)
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep-export", type=Path, help="copy the export here (to compare bytes)"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True
    )
    data = generate(args.deposits, args.records, args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        records = Path(scratch) / "records.csv"
        export = Path(scratch) / "export.csv"
        write_records(data, records)
        incident = setup_incident(data)
        before = floor(data, records)
        connection.close()
        t_import, m_import, out_i, _ = run_child(
            ["import_records", str(records), "--incident", incident.reference]
        )
        t_rec, m_rec, out_r, err_r = run_child(
            ["reconcile", incident.reference, "--export", str(export), "-v", "2"]
        )
        stages = json.loads(err_r.strip().splitlines()[-1])["seconds"]
        after = floor(data, records)
        accuracy = score_export(data, export)
        if args.keep_export:
            shutil.copyfile(export, args.keep_export)
    floors = [one["copy"] + one["hash_join"] for one in (before, after)]
    floor_total = sum(floors) / 2
    job = t_import + t_rec
    print(
        f"deposits {len(data.manual)}  records {len(data.system)}  file {records.name}"
    )
    for name, one, total in zip(
        ("before", "after"), (before, after), floors, strict=True
    ):
        print(
            f"floor {name} the job: COPY {one['copy']:.2f}s + hash join"
            f" {one['hash_join']:.2f}s = {total:.2f}s"
        )
    print(f"floor: mean {floor_total:.2f}s")
    print(f"job: import {t_import:.2f}s ({out_i.strip()})")
    print(f"     reconcile+export {t_rec:.2f}s  stages {stages}")
    print(f"     total {job:.2f}s = {job / floor_total:.1f}x floor")
    print(
        f"peak memory: import {m_import / 1024:.0f} MiB, "
        f"reconcile {m_rec / 1024:.0f} MiB"
    )
    print(f"counts: {out_r.strip()}")
    print(
        f"accuracy: precision {accuracy['precision']:.5f} recall "
        f"{accuracy['recall']:.5f} discrepancy types "
        f"{accuracy['discrepancy_type_accuracy']:.5f} {accuracy['per_kind']}"
    )


if __name__ == "__main__":
    main()
