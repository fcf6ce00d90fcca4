"""The Idempotency-Key header for API writes: first response stored, retries replayed.

A key is scoped to the authenticated user. The same key with the same body gets
the stored response back with ``Idempotent-Replayed: true``; the same key with a
different body is refused with 422; a retry while the first request is still
running waits for its answer (the key row is inserted, and committed, before the
write runs) and gets 409 only if that takes longer than IN_FLIGHT_WAIT; a key left
in flight by a process that died (its PostgreSQL backend is gone) is taken over at
once by the retry; a write without a key is refused with 400. Server errors (5xx) are not stored, so
a retry after one runs again. Keys are kept IDEMPOTENCY_KEY_DAYS (at least 7).
"""

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from . import rawsql
from .api.errors import ApiError
from .models import IdempotencyRecord, User

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# status_code of a key whose first request has not answered yet.
IN_FLIGHT = 0
# A key in flight longer than this belongs to a process that died.
IN_FLIGHT_TIMEOUT = timedelta(minutes=5)
# How long a retry waits for the first request's answer before a 409.
IN_FLIGHT_WAIT = 10.0
IN_FLIGHT_POLL = 0.05

ERROR_KEY_MISSING = _("The Idempotency-Key header is required for this request.")
ERROR_KEY_TOO_LONG = _("The Idempotency-Key header is longer than 255 characters.")
ERROR_KEY_REUSED = _(
    "This Idempotency-Key was already used with a different request body."
)
ERROR_KEY_IN_FLIGHT = _(
    "A request with this Idempotency-Key is still being processed; retry shortly."
)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description="A unique key per intended write; retries with the same key and "
    "body return the first response.",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        value.seek(0)
        digest = hashlib.sha256(value.read()).hexdigest()
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest}
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def request_fingerprint(request: Request) -> str:
    """A hash of method, path and parsed body (files by content)."""
    return fingerprint(request.method or "", request.path, request.data)


def fingerprint(method: str, path: str, data: Any) -> str:
    """``request_fingerprint`` of a request with this method, path and parsed body."""
    body = (
        {key: _canonical(data.getlist(key)) for key in sorted(data.keys())}
        if hasattr(data, "getlist")
        else _canonical(data)
    )
    payload = json.dumps([method, path, body], cls=DjangoJSONEncoder, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise ApiError(
            status=422, code="idempotency_key_reused", message=ERROR_KEY_REUSED
        )
    if record.status_code == IN_FLIGHT:
        raise ApiError(
            status=409, code="idempotency_key_in_flight", message=ERROR_KEY_IN_FLIGHT
        )
    response = Response(record.response_body, status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def _claim(user: User, key: str, request: Request, fingerprint: str) -> int | None:
    """Insert the key as in flight; None when another request holds it already.

    The insert commits at once (requests run in autocommit), so a concurrent
    request with the same key meets the unique constraint, on PostgreSQL after
    waiting for this insert to commit, and never runs the write a second time.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _claim_postgresql(user, key, request, fingerprint)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user,
                key=key,
                method=request.method or "",
                path=request.path[:255],
                request_hash=fingerprint,
                status_code=IN_FLIGHT,
                response_body={"holder": None},
            )
    except IntegrityError:
        return None
    return record.pk


def _claim_postgresql(
    user: User, key: str, request: Request, fingerprint: str
) -> int | None:
    """The claim in one round trip, its holder the backend that runs it.

    Its commit need not wait for the disk: the write that follows commits after
    it, and PostgreSQL writes its log in order, so any commit that reaches the
    disk brings the claim with it; a claim lost in a crash guarded nothing.
    """
    table = IdempotencyRecord._meta.db_table  # the model's own name, not input
    with connection.cursor() as cursor:
        rawsql.execute(
            cursor,
            [
                (_NO_DISK_WAIT, None),
                (
                    f"INSERT INTO {table} "  # noqa: S608
                    "(user_id, key, method, path, request_hash, status_code,"
                    " response_body, created_at) VALUES (%s, %s, %s, %s, %s, %s,"
                    " json_build_object('holder', pg_backend_pid()), now())"
                    " ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
                    [
                        user.pk,
                        key,
                        request.method or "",
                        request.path[:255],
                        fingerprint,
                        IN_FLIGHT,
                    ],
                ),
            ],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _backend_pid() -> int | None:
    """This process's PostgreSQL backend: it ends when the process dies."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _holder_alive(record: IdempotencyRecord) -> bool:
    holder = (record.response_body or {}).get("holder")
    if holder is None or connection.vendor != "postgresql":
        return record.created_at >= timezone.now() - IN_FLIGHT_TIMEOUT
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [holder])
        return cursor.fetchone() is not None


def _take_over_stale(record: IdempotencyRecord) -> int | None:
    """A key left in flight by a process that died: this retry runs it again."""
    if _holder_alive(record):
        return None
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, status_code=IN_FLIGHT, created_at=record.created_at
    ).update(created_at=timezone.now(), response_body={"holder": _backend_pid()})
    return record.pk if taken == 1 else None


def _await_first(
    user: User, key: str, fingerprint: str
) -> tuple[IdempotencyRecord | None, int | None]:
    """Wait for the request holding the key: its record, and a claim if taken over."""
    deadline = time.monotonic() + IN_FLIGHT_WAIT
    while True:
        stored = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if stored is None or stored.request_hash != fingerprint:
            return stored, None
        if stored.status_code != IN_FLIGHT:
            return stored, None
        pk = _take_over_stale(stored)
        if pk is not None or time.monotonic() >= deadline:
            return stored, pk
        time.sleep(IN_FLIGHT_POLL)


def _run(
    view: Any,
    method: Callable[..., Response],
    request: Request,
    *args: Any,
    **kwargs: Any,
) -> Response:
    """The wrapped write; refusals become their documented error response."""
    try:
        return method(view, request, *args, **kwargs)
    except (APIException, Http404, DjangoPermissionDenied) as exc:
        return cast(Response, view.handle_exception(exc))


def _store(pk: int, response: Response) -> None:
    """Keep the first answer for the retries.

    On PostgreSQL its commit does not wait for the disk: the write it answers for
    is committed already, and a retry that finds the key still in flight after a
    crash runs the write again, which finds its own result (a deposit by its
    client UUID) and answers the same.
    """
    body = json.dumps(response.data, cls=DjangoJSONEncoder)
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        IdempotencyRecord.objects.filter(pk=pk).update(
            status_code=response.status_code, response_body=json.loads(body)
        )
        return
    table = IdempotencyRecord._meta.db_table  # the model's own name, not input
    with connection.cursor() as cursor:
        rawsql.execute(
            cursor,
            [
                (_NO_DISK_WAIT, None),
                (
                    f"UPDATE {table} SET status_code = %s,"  # noqa: S608
                    " response_body = %s::jsonb WHERE id = %s",
                    [response.status_code, body, pk],
                ),
            ],
        )


def idempotency_record_for(
    *,
    user: User,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    status: int,
    body: Any,
) -> IdempotencyRecord:
    """The unsaved record keeping a write's answer under its key, for a writer that
    inserts it in the write's own transaction (claim and answer in one)."""
    return IdempotencyRecord(
        user=user,
        key=key,
        method=method,
        path=path[:255],
        request_hash=request_hash,
        status_code=status,
        response_body=json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
    )


# This transaction's commit does not wait for its log to reach the disk.
_NO_DISK_WAIT = "SET LOCAL synchronous_commit TO off"


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap an APIView write method so it honours the Idempotency-Key header."""

    @wraps(method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            raise ApiError(
                status=400, code="idempotency_key_missing", message=ERROR_KEY_MISSING
            )
        if len(key) > MAX_KEY_LENGTH:
            raise ApiError(
                status=400, code="idempotency_key_invalid", message=ERROR_KEY_TOO_LONG
            )
        user = request.user
        if not isinstance(user, User):  # the view's permissions require a user
            return method(view, request, *args, **kwargs)
        fingerprint = request_fingerprint(request)
        pk = _claim(user, key, request, fingerprint)
        if pk is None:
            stored = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if stored is None:  # the first request failed meanwhile: run again
                pk = _claim(user, key, request, fingerprint)
                if pk is None:
                    raise ApiError(
                        status=409,
                        code="idempotency_key_in_flight",
                        message=ERROR_KEY_IN_FLIGHT,
                    )
            else:
                stored, pk = _await_first(user, key, fingerprint)
                if pk is None:
                    if stored is None:  # the first request failed: run again
                        return wrapper(view, request, *args, **kwargs)
                    return _replay(stored, fingerprint)
        try:
            response = _run(view, method, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=pk).delete()
            raise
        if response.status_code >= 500:
            # Not stored: a retry after a server error runs again.
            IdempotencyRecord.objects.filter(pk=pk).delete()
            return response
        _store(pk, response)
        return response

    return wrapper


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Forget keys older than IDEMPOTENCY_KEY_DAYS (at least 7); returns the count."""
    days = max(7, settings.IDEMPOTENCY_KEY_DAYS)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _rows = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
