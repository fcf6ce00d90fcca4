"""Seed an incident with N open discrepancy items (bulk inserts), for the queue screens.

    python -m bench.reconciliation_queue_seed --items 10000

creates an incident, N deposits and system records, a finished run whose outcome is
a mix of discrepancy kinds plus some confirmed matches spread over a few days, and
opens a case per discrepancy (``cases_open``). ``seed()`` is also used by the
browser tests.
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KINDS = [
    ("missing_in_system", 45),
    ("missing_manual", 25),
    ("amount_mismatch", 15),
    ("duplicate_manual", 8),
    ("duplicate_system", 4),
    ("currency_mismatch", 2),
    ("ambiguous", 1),
]


def seed(*, items: int = 10_000, seed_value: int = 7):  # type: ignore[no-untyped-def]
    from django.db import transaction
    from django.utils import timezone

    from deposits.models import Branch, Deposit
    from incidents.services import incident_open
    from outage_desk.models import User
    from reconciliation.models import (
        Discrepancy,
        ImportBatch,
        Match,
        MatchDeposit,
        MatchRecord,
        ReconciliationRun,
        SystemRecord,
    )
    from reconciliation.resolutions import cases_open

    rng = random.Random(seed_value)
    now = timezone.now()
    start = now - dt.timedelta(days=12)
    with transaction.atomic():
        incident = incident_open(title="Core banking outage", starts_at=start)
        branches = [
            Branch.objects.get_or_create(
                code=code, defaults={"name": name, "timezone": "UTC", "currency": "GBP"}
            )[0]
            for code, name in [
                ("HQ", "Head office"),
                ("NORTH", "North"),
                ("EAST", "East"),
            ]
        ]
        recorder = User.objects.filter(is_active=True).order_by("pk").first()
        if recorder is None:
            recorder = User.objects.create(username="seed-recorder")
        channels = [c for c, _l in Deposit.Channel.choices]
        deposits = []
        for i in range(items):
            received = start + dt.timedelta(minutes=rng.randrange(0, 11 * 24 * 60))
            deposits.append(
                Deposit(
                    client_uuid=uuid.uuid4(),
                    incident=incident,
                    branch=rng.choice(branches),
                    receipt_number=f"S-{i:06d}",
                    channel=rng.choice(channels),
                    account=f"GB{rng.randrange(10**8):08d}",
                    payer_name=f"Payer {i}",
                    amount=Decimal(
                        rng.choice(
                            [
                                rng.randrange(1, 500),
                                rng.randrange(500, 20000),
                                rng.randrange(20000, 250000),
                            ]
                        )
                    )
                    + Decimal("0.50"),
                    currency=rng.choice(["GBP", "GBP", "GBP", "EUR", "USD"]),
                    received_at=received,
                    reference=f"INV-{i}" if i % 3 else "",
                    status=Deposit.Status.PROVISIONAL,
                    recorded_by=recorder,
                )
            )
        Deposit.objects.bulk_create(deposits, batch_size=2000)
        batch = ImportBatch.objects.create(
            incident=incident,
            file_name="seed.csv",
            sha256=uuid.uuid4().hex * 2,
            format="csv",
            status="loaded",
            rows_seen=items,
            rows_loaded=items,
        )
        records = [
            SystemRecord(
                batch=batch,
                incident=incident,
                external_id=f"TX-{i:06d}",
                account=d.account,
                amount=d.amount + (Decimal(9) if i % 7 == 0 else 0),
                currency=d.currency,
                value_date=d.received_at.date(),
                counterparty=d.payer_name,
                reference=d.reference,
            )
            for i, d in enumerate(deposits)
        ]
        SystemRecord.objects.bulk_create(records, batch_size=2000)
        run = ReconciliationRun.objects.create(
            incident=incident,
            status="finished",
            finished_at=now,
            counts={
                "deposits": items + items // 5,
                "matched": items // 5,
                "discrepancies": items,
            },
        )
        weights = [w for _k, w in KINDS]
        kinds = [k for k, _w in KINDS]
        discrepancies = []
        for i, d in enumerate(deposits):
            kind = rng.choices(kinds, weights)[0]
            rec = records[i]
            diff = rec.amount - d.amount if kind == "amount_mismatch" else None
            discrepancies.append(
                Discrepancy(
                    run=run,
                    kind=kind,
                    manual_amount=None if kind == "missing_manual" else d.amount,
                    system_amount=None
                    if kind in ("missing_in_system", "duplicate_manual")
                    else rec.amount,
                    difference=diff,
                    currency=d.currency,
                    hint="transposed digits"
                    if kind == "amount_mismatch" and i % 2
                    else "",
                )
            )
        Discrepancy.objects.bulk_create(discrepancies, batch_size=2000)
        through_d = Discrepancy.deposits.through
        through_r = Discrepancy.records.through
        links_d, links_r = [], []
        for i, disc in enumerate(discrepancies):
            if disc.kind != "missing_manual":
                links_d.append(
                    through_d(discrepancy_id=disc.pk, deposit_id=deposits[i].pk)
                )
            if disc.kind not in ("missing_in_system", "duplicate_manual"):
                links_r.append(
                    through_r(discrepancy_id=disc.pk, systemrecord_id=records[i].pk)
                )
        through_d.objects.bulk_create(links_d, batch_size=5000)
        through_r.objects.bulk_create(links_r, batch_size=5000)
        cases_open(run=run)
        # A few days of confirmed matches and resolutions, for the chart.
        extra = []
        for day in range(10):
            for _n in range(rng.randrange(40, 160)):
                extra.append((day, rng.choice(["GBP", "EUR"])))
        matches = [
            Match(
                run=run,
                kind="reference",
                score=100,
                status="confirmed",
                manual_amount=Decimal("100.00"),
                system_amount=Decimal("100.00"),
                currency=cur,
                decided_at=start + dt.timedelta(days=day + 1, hours=3),
            )
            for day, cur in extra
        ]
        Match.objects.bulk_create(matches, batch_size=2000)
        del MatchDeposit, MatchRecord
        from reconciliation.finance_models import Case

        resolved = list(Case.objects.filter(run=run).order_by("pk")[: items // 12])
        for case in resolved:
            case.state = "resolved"
            case.resolution = "posted"
            # Resolved one to four days after it opened, and not after now.
            case.resolved_at = min(
                case.opened_at + dt.timedelta(days=rng.randrange(1, 5)), now
            )
        Case.objects.bulk_update(
            resolved, ["state", "resolution", "resolved_at"], batch_size=2000
        )
    return incident


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_desk.settings")
    import django

    django.setup()
    began = time.perf_counter()
    incident = seed(items=args.items)
    print(
        f"{incident.reference}: {args.items} items in {time.perf_counter() - began:.1f} s"
    )


if __name__ == "__main__":
    main()
