"""Real processes on 127.0.0.1 for the fault tests: gunicorn, Celery, Redis, PostgreSQL.

Everything a test stops, hangs or restarts is private to it: a Redis server on a
free port, a PostgreSQL cluster made with initdb in a temporary folder. The shared
servers are only ever used as they are. Every loop is bounded in count and time.
"""

import datetime as dt
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from tests.notifications.conftest import MailSink, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
STACK_SETTINGS = "tests.resilience.stack_settings"
HERE = Path(__file__).resolve().parent


def _skip_reason() -> str:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return "resilience tests need PostgreSQL (set DATABASE_URL)"
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return "resilience tests need Redis (set CELERY_BROKER_URL)"
    if not shutil.which("redis-server"):
        return "resilience tests need redis-server for private instances"
    return ""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "pure: needs no real processes (runs on SQLite too)"
    )


@pytest.fixture(autouse=True)
def _needs_stack(request):
    """Tests with real processes run on PostgreSQL + Redis only (as CI runs them)."""
    if request.node.get_closest_marker("pure") is None:
        reason = _skip_reason()
        if reason:
            pytest.skip(reason)


def wait_for(condition, what: str, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"waited {timeout}s for {what}")


def tests_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


# ---------------------------------------------------------------- processes


@dataclass
class Proc:
    """A child process started by a fixture; stopped (then killed) at teardown."""

    popen: subprocess.Popen
    name: str

    @property
    def pid(self) -> int:
        return self.popen.pid

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 15) -> None:
        # children first: once this process is gone they can no longer be found
        kids = self.children()
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        for child in kids + self.children():
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass

    def kill(self) -> None:
        kids = self.children()
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)
        for child in kids:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


class Procs:
    def __init__(self):
        self.started: list[Proc] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        log = open(os.devnull, "wb")
        popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)
        proc = Proc(popen, name)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()


@pytest.fixture
def procs():
    registry = Procs()
    yield registry
    registry.stop_all()


def stack_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": STACK_SETTINGS,
        "DATABASE_URL": tests_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_BROKER_URL,
        "NOTICE_NUDGE_BROKER_URL": "",
        "PYTHONUNBUFFERED": "1",
        # One client sends far more than an integrator's 600 a minute here.
        "API_RATE_LIMIT": "1000000/minute",
    }
    env.update(extra)
    return env


@dataclass
class Web:
    proc: Proc
    port: int

    def workers(self) -> list[psutil.Process]:
        return self.proc.children()


def web_start(
    procs: Procs,
    env: dict[str, str],
    *,
    workers: int = 4,
    app: str = "outage_desk.wsgi",
    preload: bool = True,
) -> Web:
    port = free_port()
    args = [
        str(BIN / "gunicorn"),
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "30",
        "--graceful-timeout",
        "2",
        "--log-level",
        "critical",
    ]
    if preload:
        args.append("--preload")
    proc = procs.start("gunicorn", args, env)
    web = Web(proc, port)

    def ready() -> bool:
        if proc.popen.poll() is not None:
            pytest.fail("gunicorn exited at start")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok and len(web.workers()) >= workers
        except OSError:
            return False

    wait_for(ready, "gunicorn to answer /healthz", timeout=60)
    return web


def worker_start(
    procs: Procs, env: dict[str, str], *, concurrency: int = 2, beat: bool = True
) -> Proc:
    args = [
        str(BIN / "celery"),
        "-A",
        "outage_desk",
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--loglevel=ERROR",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        env["NOTICE_TASK_QUEUE"],
    ]
    if beat:
        schedule = Path(env["RESILIENCE_TMP"]) / f"beat-{uuid.uuid4().hex[:6]}"
        args += ["--beat", "--schedule", str(schedule)]
    return procs.start("celery", args, env)


def _worker_args(env: dict[str, str], concurrency: int) -> list[str]:
    return [
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--loglevel=ERROR",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        env["NOTICE_TASK_QUEUE"],
    ]


class CeleryZygote:
    """Forks whole Celery workers from a process that imported everything once."""

    def __init__(self, procs: Procs, env: dict[str, str]):
        popen = subprocess.Popen(
            [sys.executable, "-m", "tests.resilience.celery_zygote"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.proc = Proc(popen, "celery-zygote")
        procs.started.append(self.proc)
        self.env = env

    def worker(self, *, concurrency: int = 2, timeout: float = 90) -> psutil.Process:
        stdin, stdout = self.proc.popen.stdin, self.proc.popen.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(_worker_args(self.env, concurrency)) + "\n")
        stdin.flush()
        ready, _w, _x = select.select([stdout], [], [], timeout)
        line = stdout.readline() if ready else ""
        if not line.strip():
            pytest.fail(f"the Celery zygote forked no worker within {timeout}s")
        return psutil.Process(int(line))


def beat_start(procs: Procs, env: dict[str, str]) -> Proc:
    """Celery beat on its own (the relay's clock), for tests that kill workers."""
    schedule = Path(env["RESILIENCE_TMP"]) / f"beat-{uuid.uuid4().hex[:6]}"
    args = [
        str(BIN / "celery"),
        "-A",
        "outage_desk",
        "beat",
        "--loglevel=ERROR",
        "--schedule",
        str(schedule),
    ]
    return procs.start("celery-beat", args, env)


# ---------------------------------------------------------------- servers


@dataclass
class RedisServer:
    port: int
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def redis_start(procs: Procs, port: int | None = None) -> RedisServer:
    server = RedisServer(port or free_port())
    server.proc = procs.start(
        "redis",
        [
            "redis-server",
            "--port",
            str(server.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        dict(os.environ),
    )

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_for(up, "private redis-server", timeout=20, interval=0.05)
    return server


class HungServer:
    """A TCP listener that accepts every connection and never answers."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.accepted: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while self.running:
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def mail():
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    yield sink
    controller.stop()


class PrivatePostgres:
    """A throwaway cluster owned by the postgres OS user (initdb refuses root)."""

    def __init__(self, base: Path):
        self.dir = base / "pgdata"
        self.port = free_port()
        self.as_postgres = (
            ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        )

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self.as_postgres, *args],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.dir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        conf = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
            "unix_socket_directories = ''\nfsync = off\nmax_connections = 60\n"
        )
        self._run("sh", "-c", f'printf "{conf}" >> {self.dir}/postgresql.conf')

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-w", "-t", "30", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-w", "-m", mode, "stop")

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def createdb(self, name: str) -> None:
        subprocess.run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
            timeout=30,
        )


@pytest.fixture
def private_postgres():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no {PG_BIN}/initdb for a private PostgreSQL cluster")
    # Directly under /tmp: the postgres user cannot enter pytest's private folders.
    base = Path(tempfile.mkdtemp(prefix="outage-desk-pg-"))
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(base)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop("immediate")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- data and HTTP


@dataclass
class Desk:
    """What the clients need: a clerk's API key, an incident, customers."""

    key: str
    incident: str
    accounts: list[str] = field(default_factory=list)


def desk_create(*, branch_code: str = "HQ", customers: int = 10) -> Desk:
    from django.contrib.auth.models import Group

    from deposits.models import Branch, Customer
    from incidents.services import incident_open
    from outage_desk.models import User
    from outage_desk.roles import Role, roles_sync
    from outage_desk.tokens import api_token_create

    roles_sync()
    branch = Branch.objects.create(code=branch_code, name=f"Branch {branch_code}")
    user = User.objects.create(username=f"clerk-{branch_code.lower()}", branch=branch)
    user.groups.set([Group.objects.get(name=Role.CLERK)])
    _token, key = api_token_create(user=user, name="resilience")
    accounts = []
    for n in range(customers):
        account = f"RS{branch_code}{n:05d}"
        Customer.objects.create(
            account=account,
            name=f"Resilience customer {n}",
            email=f"rs{n}@{branch_code.lower()}.example.com",
        )
        accounts.append(account)
    incident = incident_open(
        title="Resilience run",
        starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    return Desk(key=key, incident=incident.reference, accounts=accounts)


def deposit_body(desk: Desk, n: int, amount: Decimal | None = None) -> dict[str, str]:
    # received_at is part of the content: a retry must send the same one (left out,
    # it defaults to the time of each request and the retry becomes a conflict).
    received = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    return {
        "received_at": received.isoformat(),
        "client_uuid": str(uuid.uuid4()),
        "incident": desk.incident,
        "channel": "cash",
        "account": desk.accounts[n % len(desk.accounts)],
        "payer_name": "Resilience payer",
        "amount": str(amount if amount is not None else Decimal(n + 1) / 100 + 10),
        "currency": "GBP",
    }


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    body: dict
    seconds: float
    content_type: str = ""


def post_deposit(
    port: int,
    key: str,
    body: dict,
    idem: str,
    timeout: float = 30,
    connected: Callable[[int], None] | None = None,
) -> Reply:
    """POST one capture; ``connected`` hears the client's local port once connected."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if connected is not None:
            conn.connect()
            connected(conn.sock.getsockname()[1])
        conn.request(
            "POST",
            "/api/v1/deposits/",
            body=json.dumps(body),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Token {key}",
                "Idempotency-Key": idem,
            },
        )
        response = conn.getresponse()
        raw = response.read()
        ctype = response.getheader("Content-Type", "")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"raw": raw[:200].decode(errors="replace")}
        return Reply(response.status, data, time.perf_counter() - started, ctype)
    except (OSError, http.client.HTTPException):
        return Reply(0, {}, time.perf_counter() - started)
    finally:
        conn.close()


def worker_serving(web: "Web", client_port: int) -> int | None:
    """The gunicorn worker holding the connection from ``client_port``, if any yet."""
    for worker in web.workers():
        try:
            for conn in worker.net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port == client_port:
                    return worker.pid
        except psutil.Error:
            continue
    return None


def kill9(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def invariants_check() -> dict[str, int]:
    """Every deposit whole: one audit event, one notice per address, chain intact."""
    from deposits.models import Deposit
    from notifications.models import Notice
    from outage_desk.audit import audit_verify
    from outage_desk.models import AuditEvent

    deposits = list(Deposit.objects.select_related("customer"))
    recorded = set(
        AuditEvent.objects.filter(action="deposit.recorded").values_list(
            "object_id", flat=True
        )
    )
    noticed = set(
        Notice.objects.filter(dedupe_key__startswith="deposit:").values_list(
            "dedupe_key", flat=True
        )
    )
    for deposit in deposits:
        assert str(deposit.pk) in recorded, f"deposit {deposit.pk} has no audit event"
        if deposit.customer and deposit.customer.email:
            key = f"deposit:{deposit.pk}:received:email:{deposit.customer.email}"
            assert key in noticed, f"deposit {deposit.pk} has no notice"
    assert AuditEvent.objects.filter(action="deposit.recorded").count() == len(deposits)
    checked, broken = audit_verify()
    assert broken is None, broken
    return {"deposits": len(deposits), "audit_events_checked": checked}


@pytest.fixture
def stack_tmp(tmp_path):
    tmp_path.chmod(0o777)
    return tmp_path
