"""Load the deposit capture API and a floor view in one run; report the ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_deposits \\
        .venv/bin/python bench/deposits_capture.py [--duration 20] [--concurrency 16]

Starts gunicorn on PostgreSQL, then for each target runs `concurrency` client
processes for `duration` seconds in all: the floor (a bare Django view inserting
one row) and the full capture (`POST /api/v1/deposits/`: token auth,
Idempotency-Key, validation, exactly-once insert, receipt counter, notice rows,
audit event), in `--rounds` turns that alternate which goes first, so a change in
the machine's speed during the run falls on both alike. Prints requests per
second, p50/p99 latency and the server's CPU per request (gunicorn's workers and
their PostgreSQL backends) of each over all its turns, and the capture's share of
the floor (overall and per round), then one JSON line.

``--one-call`` adds a third target to each round: a thin view over
``bench/deposits_one_call.sql``, which writes what a lane capture writes in one
PL/pgSQL call. It is not the product's code; it sizes that design.
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


def setup_data(branches: int = 1, one_call: bool = False) -> tuple[list[str], str]:
    """Branches, a clerk with a token in each, an open incident, customers.

    Returns (one token per branch, incident reference).
    """
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from deposits.models import Branch, Customer
    from incidents.services import incident_open
    from outage_desk.models import User
    from outage_desk.roles import Role
    from outage_desk.tokens import api_token_create

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor "
            "(id bigserial PRIMARY KEY, body text, created_at timestamptz)"
        )
        if one_call:
            from bench.deposits_urls import ONE_CALL_SQL

            cursor.execute(ONE_CALL_SQL.read_text())
    tokens = []
    for b in range(branches):
        code = "BENCH" if b == 0 else f"BENCH{b}"
        branch, _ = Branch.objects.get_or_create(
            code=code, defaults={"name": f"Benchmark {b}", "currency": "GBP"}
        )
        user, _ = User.objects.get_or_create(
            username=f"bench-clerk-{code.lower()}", defaults={"branch": branch}
        )
        user.groups.set([Group.objects.get(name=Role.CLERK)])
        _token, key = api_token_create(user=user, name="bench")
        tokens.append(key)
    for n in range(CUSTOMERS):
        Customer.objects.get_or_create(
            account=f"BENCH{n:04d}",
            defaults={"name": f"Bench customer {n}", "email": f"bench{n}@example.com"},
        )
    incident = incident_open(title=f"Benchmark {uuid.uuid4().hex[:6]}")
    return tokens, incident.reference


CAPTURE_PATHS = {"capture": "/api/v1/deposits/", "one_call": "/bench/one-call/"}
RUN = int(time.time()) % 100_000  # keeps amounts unique across runs


def client(target, port, tokens, ref, deadline, worker, queue):
    token = tokens[worker % len(tokens)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, errors, n = [], 0, 0
    while time.monotonic() < deadline:
        n += 1
        if target == "floor":
            path, headers = "/bench/floor/", {"Content-Type": "application/json"}
            body = json.dumps({"n": n})
        else:
            path = CAPTURE_PATHS[target]
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used, from /proc (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(gunicorn_pid: int) -> tuple[list[int], list[int]]:
    """gunicorn's workers, and the PostgreSQL backends serving this database."""
    from django.db import connection

    with open(f"/proc/{gunicorn_pid}/task/{gunicorn_pid}/children") as children:
        workers = [int(pid) for pid in children.read().split()]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [pid for (pid,) in cursor.fetchall()]
    return workers, backends


def load(target, *, port, tokens, ref, duration, concurrency, gunicorn_pid=None):
    """Run the clients; the latencies, the errors and, with ``gunicorn_pid``, the
    CPU seconds the server side (gunicorn's workers and their PostgreSQL backends)
    spent, a figure that other work on the machine barely moves, unlike requests
    per second."""
    before = {}
    if gunicorn_pid is not None:
        workers, backends = server_pids(gunicorn_pid)
        before = {pid: _cpu_seconds(pid) for pid in workers + backends}
    queue = multiprocessing.Queue()
    deadline = time.monotonic() + duration
    procs = [
        multiprocessing.Process(
            target=client, args=(target, port, tokens, ref, deadline, w, queue)
        )
        for w in range(concurrency)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    spent = {}
    if gunicorn_pid is not None:
        workers, backends = server_pids(gunicorn_pid)
        for name, pids in (("app", workers), ("db", backends)):
            spent[name] = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in pids)
    return {
        "latencies": [x for lat, _ in results for x in lat],
        "errors": sum(e for _, e in results),
        "duration": duration,
        "cpu": spent,
    }


def summary(loads: list[dict]) -> dict:
    """One target's loads pooled: requests per second over their whole time,
    p50/p99 over every request, server CPU per request."""
    latencies = sorted(x for one in loads for x in one["latencies"])
    duration = sum(one["duration"] for one in loads)

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    result = {
        "requests": len(latencies),
        "errors": sum(one["errors"] for one in loads),
        "rps": round(len(latencies) / duration, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
    }
    if latencies and all(one["cpu"] for one in loads):
        for name in ("app", "db"):
            spent = sum(one["cpu"][name] for one in loads)
            result[f"{name}_cpu_ms"] = round(spent / len(latencies) * 1000, 2)
        result["server_cpu_ms"] = round(result["app_cpu_ms"] + result["db_cpu_ms"], 2)
    return result


def rounds_run(names, *, rounds, duration, **common) -> dict[str, list[dict]]:
    """Each target loaded for ``duration`` in all, in ``rounds`` turns that
    alternate the order (floor then capture, capture then floor, ...), so a
    change in the machine's speed during the run falls on every target alike."""
    loads: dict[str, list[dict]] = {name: [] for name in names}
    for turn in range(rounds):
        for name in names if turn % 2 == 0 else names[::-1]:
            loads[name].append(load(name, duration=duration / rounds, **common))
    return loads


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
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="split each target's time into this many turns, alternating the order",
    )
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--branches",
        type=int,
        default=1,
        help="spread the clients over this many branches (one clerk each)",
    )
    parser.add_argument(
        "--one-call",
        action="store_true",
        help="also load a thin view over bench/deposits_one_call.sql: the capture's"
        " writes in one database call, to size that design",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ.setdefault("ENV_FILE", "")
    sys.path.insert(0, str(ROOT))
    tokens, ref = setup_data(args.branches, args.one_call)
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
        common = {"port": args.port, "tokens": tokens, "ref": ref}
        load("capture", duration=2, concurrency=2, **common)  # warm up connections
        common["gunicorn_pid"] = gunicorn.pid
        names = ["floor", "capture"] + (["one_call"] if args.one_call else [])
        loads = rounds_run(
            names,
            rounds=args.rounds,
            duration=args.duration,
            concurrency=args.concurrency,
            **common,
        )
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=10)
    targets = {name: summary(runs) for name, runs in loads.items()}
    floor, capture = targets["floor"], targets["capture"]
    ratio = capture["rps"] / floor["rps"] if floor["rps"] else 0.0
    cpu_ratio = floor["server_cpu_ms"] / capture["server_cpu_ms"]
    turns = [
        round(len(c["latencies"]) / len(f["latencies"]), 3)
        for f, c in zip(loads["floor"], loads["capture"], strict=True)
    ]
    print(
        f"{'':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'cpu ms':>7}"
    )
    for name, row in targets.items():
        print(
            f"{name:10} {row['rps']:>8} {row['p50_ms']:>8} {row['p99_ms']:>8} "
            f"{row['errors']:>7} {row['server_cpu_ms']:>7}"
        )
    print(
        f"capture / floor: {ratio:.0%} (server CPU per request: {cpu_ratio:.0%};"
        f" per round: {', '.join(f'{t:.0%}' for t in turns)})"
    )
    result = {
        **targets,
        "ratio": round(ratio, 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "round_ratios": turns,
    }
    if args.one_call:
        one_call = targets["one_call"]
        result["one_call_ratio"] = round(one_call["rps"] / floor["rps"], 3)
        result["one_call_cpu_ratio"] = round(
            floor["server_cpu_ms"] / one_call["server_cpu_ms"], 3
        )
        print(
            f"one call / floor: {result['one_call_ratio']:.0%}"
            f" (server CPU per request: {result['one_call_cpu_ratio']:.0%})"
        )
    print(json.dumps({"branches": args.branches, **result}))


if __name__ == "__main__":
    main()
