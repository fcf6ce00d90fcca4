"""Load the deposit capture API and a floor view in one run; report the ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_deposits \\
        .venv/bin/python bench/deposits_capture.py [--duration 20] [--concurrency 16]

Starts gunicorn on PostgreSQL, then for each target runs `concurrency` client
processes for `duration` seconds: first the floor (a bare Django view inserting
one row), then the full capture (`POST /api/v1/deposits/`: token auth,
Idempotency-Key, validation, exactly-once insert, receipt counter, notice rows,
audit event). Prints requests per second and p50/p99 latency of each, and the
capture's share of the floor, then one JSON line.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.deposits_settings"
CUSTOMERS = 100


def setup_data() -> tuple[str, str]:
    """Branch, clerk with token, open incident, customers; returns (token, ref)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from deposits.models import Branch, Customer
    from incidents.services import incident_open
    from outage_desk.models import User
    from outage_desk.roles import Role

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor "
            "(id bigserial PRIMARY KEY, body text, created_at timestamptz)"
        )
    branch, _ = Branch.objects.get_or_create(
        code="BENCH", defaults={"name": "Benchmark", "currency": "GBP"}
    )
    user, _ = User.objects.get_or_create(
        username="bench-clerk", defaults={"branch": branch}
    )
    from django.contrib.auth.models import Group

    user.groups.set([Group.objects.get(name=Role.CLERK)])
    token, _ = Token.objects.get_or_create(user=user)
    for n in range(CUSTOMERS):
        Customer.objects.get_or_create(
            account=f"BENCH{n:04d}",
            defaults={"name": f"Bench customer {n}", "email": f"bench{n}@example.com"},
        )
    incident = incident_open(title=f"Benchmark {uuid.uuid4().hex[:6]}")
    return token.key, incident.reference


RUN = int(time.time()) % 100_000  # keeps amounts unique across runs


def client(target, port, token, ref, deadline, worker, queue):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, errors, n = [], 0, 0
    while time.monotonic() < deadline:
        n += 1
        if target == "floor":
            path, headers = "/bench/floor/", {"Content-Type": "application/json"}
            body = json.dumps({"n": n})
        else:
            path = "/api/v1/deposits/"
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Token {token}",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            cents = random.randrange(10**12)
            body = json.dumps(
                {
                    "client_uuid": str(uuid.uuid4()),
                    "incident": ref,
                    "channel": "cash",
                    "account": f"BENCH{n % CUSTOMERS:04d}",
                    "payer_name": "Bench payer",
                    "amount": f"{cents // 100}.{cents % 100:02d}",
                    "currency": "GBP",
                }
            )
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 201:
                errors += 1
                if errors <= 2:
                    print(target, response.status, data[:300], file=sys.stderr)
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
        latencies.append(time.perf_counter() - started)
    queue.put((latencies, errors))


def load(target, *, port, token, ref, duration, concurrency):
    queue = multiprocessing.Queue()
    deadline = time.monotonic() + duration
    procs = [
        multiprocessing.Process(
            target=client, args=(target, port, token, ref, deadline, w, queue)
        )
        for w in range(concurrency)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / duration, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
    }


def wait_ready(port, proc):
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit("gunicorn exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ.setdefault("ENV_FILE", "")
    sys.path.insert(0, str(ROOT))
    token, ref = setup_data()
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "outage_desk.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ,
    )
    try:
        wait_ready(args.port, gunicorn)
        common = {"port": args.port, "token": token, "ref": ref}
        load("capture", duration=2, concurrency=2, **common)  # warm up connections
        floor = load(
            "floor", duration=args.duration, concurrency=args.concurrency, **common
        )
        capture = load(
            "capture", duration=args.duration, concurrency=args.concurrency, **common
        )
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=10)
    ratio = capture["rps"] / floor["rps"] if floor["rps"] else 0.0
    print(f"{'':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in (("floor", floor), ("capture", capture)):
        print(
            f"{name:10} {row['rps']:>8} {row['p50_ms']:>8} {row['p99_ms']:>8} "
            f"{row['errors']:>7}"
        )
    print(f"capture / floor: {ratio:.0%}")
    print(json.dumps({"floor": floor, "capture": capture, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
