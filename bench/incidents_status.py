"""Benchmarks for the incidents app, as ratios against a floor.

    python bench/incidents_status.py

1. Status page snapshot: a cold build (30 incidents x 10 public updates) against a cached
   read; the cache is what the public page serves while many customers refresh.
2. Subscriber fan-out: notify() once per subscriber (each notice carries its own
   unsubscribe link) against one bulk insert of the same number of outbox rows.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_desk.settings_test")

import django

django.setup()

import datetime as dt  # noqa: E402

from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

INCIDENTS = 30
UPDATES = 10
SUBSCRIBERS = 500


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_snapshot() -> None:
    from incidents.models import Component, Incident, IncidentUpdate
    from incidents.selectors import _build_snapshot, status_snapshot

    components = [Component.objects.create(name=f"Service {n}") for n in range(6)]
    now = timezone.now()
    for n in range(INCIDENTS):
        incident = Incident.objects.create(
            reference=f"INC-2026-{n + 1:04d}",
            title=f"Outage {n}",
            status="investigating" if n < 3 else "resolved",
            impact_started_at=now - dt.timedelta(days=n + 1),
            restored_at=None if n < 3 else now - dt.timedelta(days=n),
        )
        incident.components.set(components[: n % 6 + 1])
        IncidentUpdate.objects.bulk_create(
            IncidentUpdate(
                incident=incident,
                audience="public",
                status=incident.status,
                texts={"en": f"Update {u}", "zh-hans": f"更新 {u}"},
            )
            for u in range(UPDATES)
        )
    cold = _best(lambda: _build_snapshot("en", 20))
    cache.clear()
    status_snapshot(language="en")
    warm = _best(lambda: status_snapshot(language="en"), repeat=50)
    print(
        f"status snapshot: cold build {cold * 1000:.1f} ms, cached read {warm * 1000:.3f} ms, "
        f"ratio {cold / warm:.0f}x"
    )


def bench_fan_out() -> None:
    from incidents.models import Incident, Subscriber
    from incidents.services.common import incident_notify_subscribers
    from notifications.models import Notice

    Subscriber.objects.bulk_create(
        Subscriber(
            channel="email", address=f"s{n}@example.com", confirmed_at=timezone.now()
        )
        for n in range(SUBSCRIBERS)
    )
    incident = Incident.objects.filter(status="investigating").first()
    assert incident is not None

    def fan_out(event: str) -> None:
        with transaction.atomic():
            incident_notify_subscribers(
                incident=incident, kind="eta_update", event=event
            )

    counter = iter(range(100))
    per_subscriber = _best(lambda: fan_out(f"bench:{next(counter)}"), repeat=3)

    def floor() -> None:
        with transaction.atomic():
            Notice.objects.bulk_create(
                Notice(
                    kind="eta_update",
                    channel="email",
                    recipient=f"s{n}@example.com",
                    dedupe_key=f"floor:{time.perf_counter_ns()}:{n}",
                    body="x",
                )
                for n in range(SUBSCRIBERS)
            )

    bulk = _best(floor, repeat=3)
    print(
        f"fan-out to {SUBSCRIBERS} subscribers: {per_subscriber * 1000:.0f} ms "
        f"({per_subscriber / SUBSCRIBERS * 1e6:.0f} us each), bulk-insert floor {bulk * 1000:.0f} ms, "
        f"ratio {per_subscriber / bulk:.1f}x"
    )


def main() -> None:
    setup_test_environment()
    # Its own scratch database, so it never meets a test run's.
    connection.settings_dict["TEST"]["NAME"] = (
        f"bench_{connection.settings_dict['NAME']}"
        if connection.vendor == "postgresql"
        else None
    )
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=False
    )
    try:
        bench_snapshot()
        bench_fan_out()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
