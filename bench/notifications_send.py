"""Notices per second through the real worker path, next to a floor from the same run.

    .venv/bin/python bench/notifications_send.py [--notices 10000] [--workers 2]

1. Starts an SMTP server (aiosmtpd) on 127.0.0.1.
2. Floor: a plain loop builds the same messages and sends them over ONE SMTP
   connection with Django's backend.
3. Worker path: notify() writes the notices (not timed), then Celery worker
   processes on the configured broker claim and send them in batches; timed from
   the first enqueue until the last notice is marked sent in the database.
Prints one JSON line with both rates and their ratio, and checks every notice
arrived exactly once. Uses DATABASE_URL and CELERY_BROKER_URL when set (use a
scratch database: the bench empties the notice tables), else SQLite and the
embedded broker under a temporary folder.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VAR = Path(tempfile.gettempdir()) / "outage-desk-bench-notifications"
os.environ.setdefault("OUTAGE_DESK_VAR_DIR", str(VAR))
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
os.environ["ENV_FILE"] = ""
os.environ["DJANGO_SETTINGS_MODULE"] = "outage_desk.settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """An SMTP handler that appends each message's Message-ID to a file."""

    def __init__(self, path: str):
        self.out = open(path, "ab", buffering=0)

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content
        start = content.find(b"Message-ID: ")
        end = content.find(b"\r\n", start)
        self.out.write((content[start + 12 : end] if start >= 0 else b"-") + b"\n")
        return "250 OK"


def smtp_server(port: int, path: str) -> None:
    """Run in its own process, so the server never shares a GIL with a sender."""
    from aiosmtpd.controller import Controller

    controller = Controller(Recorder(path), hostname="127.0.0.1", port=port)
    controller.start()
    threading.Event().wait()


class Received:
    def __init__(self, path: Path):
        self.path = path

    def ids(self) -> list[bytes]:
        return self.path.read_bytes().splitlines() if self.path.exists() else []

    def clear(self) -> None:
        self.path.write_bytes(b"")


def start_smtp_server() -> tuple[subprocess.Popen, int, Received]:
    port = free_port()
    path = VAR / f"smtp-{port}.ids"
    VAR.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--smtp-server", str(port), str(path)]
    )
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    return proc, port, Received(path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smtp-server", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_server:
        smtp_server(int(args.smtp_server[0]), args.smtp_server[1])
        return 0

    server, port, received = start_smtp_server()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    queue = f"notices-bench-{uuid.uuid4().hex[:8]}"
    os.environ["NOTICE_TASK_QUEUE"] = queue
    # notify()'s on-commit nudge goes nowhere, so nothing is sent before the timer.
    os.environ["NOTICE_NUDGE_BROKER_URL"] = f"redis://127.0.0.1:{free_port()}/0"

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        result = run(args, received, queue)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result))
    return 0 if result["arrived_once"] else 1


def run(args, received, queue) -> dict:
    from django.conf import settings
    from django.core.mail import get_connection

    from notifications.delivery import _email_message
    from notifications.models import DeliveryAttempt, Notice, NoticeRef
    from notifications.services import Recipient, notify

    DeliveryAttempt.objects.all().delete()
    NoticeRef.objects.all().delete()
    Notice.objects.all().delete()
    n = args.notices

    # The notices (capture side, not timed).
    for start in range(0, n, 500):
        notify(
            kind="eta_update",
            recipients=[
                Recipient("email", f"c{i}@example.com", "en" if i % 3 else "zh-hans")
                for i in range(start, min(start + 500, n))
            ],
            context={"incident_reference": "INC-2026-0001", "eta": "14:00 UTC"},
            dedupe_key=f"bench:{start}",
            subject_refs=["incident:INC-2026-0001"],
        )
    notices = list(Notice.objects.order_by("pk"))
    assert len(notices) == n

    # Floor: the same messages, built and sent in a plain loop over one connection.
    conn = get_connection()
    conn.open()
    started = time.perf_counter()
    for notice in notices:
        conn.send_messages([_email_message(notice, conn)])
    floor_seconds = time.perf_counter() - started
    conn.close()
    time.sleep(0.5)
    assert len(received.ids()) == n
    received.clear()

    workers = start_workers(args.workers, queue)
    try:
        started = time.perf_counter()
        from notifications.tasks import notices_send_task

        for _ in range(args.workers * 2):
            notices_send_task.apply_async(queue=queue)
        while Notice.objects.filter(status="sent").count() < n:
            time.sleep(0.05)
        worker_seconds = time.perf_counter() - started
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(timeout=60)
    time.sleep(0.5)
    ids = received.ids()
    expected = {f"<notice-{x.pk}.{x.dedupe_key_digest}@".encode() for x in notices}
    arrived_once = len(ids) == n and {i.split(b"@")[0] + b"@" for i in ids} == expected
    floor_rate = n / floor_seconds
    worker_rate = n / worker_seconds
    return {
        "bench": "notifications_send",
        "notices": n,
        "workers": args.workers,
        "batch_size": settings.NOTICE_BATCH_SIZE,
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
        "floor_per_s": round(floor_rate, 1),
        "worker_per_s": round(worker_rate, 1),
        "ratio": round(worker_rate / floor_rate, 2),
        "arrived_once": arrived_once,
    }


def start_workers(count: int, queue: str) -> list[subprocess.Popen]:
    """Worker processes on the bench queue, returned once they answer a ping task."""
    from outage_desk.tasks import ping_task

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "outage_desk",
            "worker",
            "--pool=prefork",
            f"--concurrency={count}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    results = [ping_task.apply_async(args=["ready"], queue=queue) for _ in range(count)]
    for result in results:
        result.get(timeout=120)
    return [proc]


if __name__ == "__main__":
    sys.exit(main())
