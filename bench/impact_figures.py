"""Benchmark: the impact figures and charts of one large incident, against a floor.

    python bench/impact_figures.py [--deposits 20000]

Builds one incident with N deposits (5 branches, 5 channels, 3 currencies, a quarter of
them confirmed), one notice per deposit and 30 public updates, then times
impact_figures() and impact_charts() (best of 5) against the floor: one aggregate query
(count and sum per currency) over the same deposits. Its own scratch database.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_desk.settings_test")

import django

django.setup()

import datetime as dt  # noqa: E402
import uuid  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.db import connection  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def build(n: int):
    from deposits.models import Branch, Deposit
    from incidents.models import Incident, IncidentUpdate
    from notifications.models import Notice, NoticeRef
    from outage_desk.models import User

    t0 = dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
    user = User.objects.create(username="bench")
    incident = Incident.objects.create(
        reference="INC-2026-0001",
        title="Bench",
        status="resolved",
        impact_started_at=t0,
        restored_at=t0 + dt.timedelta(hours=6),
    )
    branches = [
        Branch.objects.create(code=f"B{i}", name=f"B{i}", currency="GBP")
        for i in range(5)
    ]
    channels = [c for c, _label in Deposit.Channel.choices]
    currencies = ["GBP", "CNY", "USD"]
    Deposit.objects.bulk_create(
        Deposit(
            client_uuid=uuid.uuid4(),
            incident=incident,
            branch=branches[i % 5],
            receipt_number=f"R{i}",
            channel=channels[i % 5],
            account=f"ACC{i % (n // 2 or 1)}",
            payer_name="x",
            amount=Decimal("10.25"),
            currency=currencies[i % 3],
            received_at=t0 + dt.timedelta(seconds=i),
            status="confirmed" if i % 4 == 0 else "provisional",
            recorded_by=user,
        )
        for i in range(n)
    )
    notices = Notice.objects.bulk_create(
        Notice(
            kind="deposit_received",
            channel="email",
            recipient=f"c{i}@example.com",
            dedupe_key=f"b:{i}",
            body="x",
            status="sent" if i % 10 else "failed",
            created_at=t0 + dt.timedelta(seconds=i),
        )
        for i in range(n)
    )
    NoticeRef.objects.bulk_create(
        NoticeRef(notice=notice, ref=f"incident:{incident.pk}") for notice in notices
    )
    IncidentUpdate.objects.bulk_create(
        IncidentUpdate(
            incident=incident,
            audience="public",
            status="investigating",
            texts={"en": "x"},
            created_at=t0 + dt.timedelta(minutes=10 * k),
            next_update_due_at=t0 + dt.timedelta(minutes=10 * k + 8),
        )
        for k in range(30)
    )
    return incident


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deposits", type=int, default=20000)
    args = parser.parse_args()
    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = (
        f"bench_{connection.settings_dict['NAME']}"
        if connection.vendor == "postgresql"
        else None
    )
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=False
    )
    try:
        from deposits.models import Deposit
        from impact.selectors import impact_charts, impact_figures

        incident = build(args.deposits)
        if connection.vendor == "postgresql":
            # As autovacuum would after a bulk load: fresh tables have no statistics,
            # and the planner then nests loops over 20 000 notices.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

        def floor() -> None:
            list(
                Deposit.objects.filter(incident=incident)
                .values("currency")
                .annotate(n=Count("pk"), s=Sum("amount"))
            )

        base = _best(floor)
        figures = _best(lambda: impact_figures(incident=incident))
        charts = _best(lambda: impact_charts(incident=incident))
        print(f"{connection.vendor}, {args.deposits} deposits and notices")
        print(f"floor (one aggregate): {base * 1000:.1f} ms")
        print(f"impact_figures: {figures * 1000:.1f} ms ({figures / base:.1f}x)")
        print(f"impact_charts: {charts * 1000:.1f} ms ({charts / base:.1f}x)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
