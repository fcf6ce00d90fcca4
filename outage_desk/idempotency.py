"""The Idempotency-Key header for API writes: first response stored, retries replayed.

A key is scoped to the authenticated user. The same key with the same body gets
the stored response back with ``Idempotent-Replayed: true``; the same key with a
different body is refused with 422; a write without a key is refused with 400.
Server errors (5xx) are not stored, so a retry after one runs again.
"""

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from .models import IdempotencyRecord, User

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

ERROR_KEY_MISSING = _("The Idempotency-Key header is required for this request.")
ERROR_KEY_TOO_LONG = _("The Idempotency-Key header is longer than 255 characters.")
ERROR_KEY_REUSED = _(
    "This Idempotency-Key was already used with a different request body."
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
    data = request.data
    body = (
        {key: _canonical(data.getlist(key)) for key in sorted(data.keys())}
        if hasattr(data, "getlist")
        else _canonical(data)
    )
    payload = json.dumps(
        [request.method, request.path, body], cls=DjangoJSONEncoder, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        return Response({"detail": str(ERROR_KEY_REUSED)}, status=422)
    response = Response(record.response_body, status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def _commit_without_waiting_for_disk() -> None:
    """The stored answer is a cache: losing it in a crash costs only a replay.

    The write it answers for committed (and reached the disk) in its own
    transaction, so a retry after losing this record still finds the deposit by
    its UUID. Not waiting for this commit's flush saves a disk round trip per write.
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap an APIView write method so it honours the Idempotency-Key header."""

    @wraps(method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return Response({"detail": str(ERROR_KEY_MISSING)}, status=400)
        if len(key) > MAX_KEY_LENGTH:
            return Response({"detail": str(ERROR_KEY_TOO_LONG)}, status=400)
        user = request.user
        if not isinstance(user, User):  # the view's permissions require a user
            return method(view, request, *args, **kwargs)
        fingerprint = request_fingerprint(request)
        stored = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if stored is not None:
            return _replay(stored, fingerprint)
        response = method(view, request, *args, **kwargs)
        if response.status_code >= 500:
            return response
        try:
            with transaction.atomic():
                _commit_without_waiting_for_disk()
                IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    method=request.method or "",
                    path=request.path[:255],
                    request_hash=fingerprint,
                    status_code=response.status_code,
                    response_body=json.loads(
                        json.dumps(response.data, cls=DjangoJSONEncoder)
                    ),
                )
        except IntegrityError:
            # A concurrent request with the same key stored its answer first.
            stored = IdempotencyRecord.objects.get(user=user, key=key)
            return _replay(stored, fingerprint)
        return response

    return wrapper
