"""The app's URLs plus the floor (a bare Django view that inserts one row) and, for
``--one-call``, a thin view over ``bench/deposits_one_call.sql``."""

import functools
import json
import zlib
from pathlib import Path
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

ONE_CALL_SQL = Path(__file__).with_name("deposits_one_call.sql")


@csrf_exempt
def floor(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (body, created_at) VALUES (%s, now()) RETURNING id",
            [request.body.decode()[:200]],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


@functools.cache
def _email_sources() -> dict[str, str]:
    from notifications.rendering import default_sources

    return default_sources(kind="deposit_received", channel="email", language="en")


@csrf_exempt
def one_call(request: HttpRequest) -> HttpResponse:
    """What Python keeps when the capture is one database call: the lane's header
    checks, JSON parsing and field validation, the request's fingerprint, the lock
    keys, the notice's rendering (receipt number left as @R@), then the call."""
    from deposits.api.lane import _token_key, _validated
    from deposits.services.capture import _lock_key
    from notifications.rendering import render_parts
    from outage_desk.idempotency import fingerprint
    from outage_desk.tokens import token_hash

    key = request.headers.get("Idempotency-Key", "")
    token_key = _token_key(request)
    data = json.loads(request.body.decode())
    values: dict[str, Any] | None = _validated(data)
    if values is None or token_key is None:
        return HttpResponse(status=400)
    received_at = values.get("received_at") or timezone.now()
    amount = f"{values['amount']:f}"
    sources = _email_sources()
    parts = render_parts(
        channel="email",
        subject=sources["subject"],
        body_text=sources["body_text"],
        body_html=sources["body_html"],
        context={
            "receipt_number": "@R@",
            "amount": amount,
            "currency": values["currency"],
            "account": values["account"],
            "received_at": received_at.isoformat(),
            "payer_name": values["payer_name"],
        },
    )
    names = (
        f"deposit-uuid:{values['client_uuid']}",
        f"deposit:1:{values['account']}:{amount}:{values['currency']}",
    )
    locks = sorted(_lock_key(name) for name in names)
    chain = 1 + zlib.crc32(str(values["client_uuid"]).encode()) % 64
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bench_capture_one_call(" + ", ".join(["%s"] * 17) + ")",
            [
                token_hash(token_key),
                values["incident"],
                values["account"],
                key,
                values["client_uuid"],
                values["channel"],
                values["payer_name"],
                values["amount"],
                values["currency"],
                received_at,
                fingerprint("POST", request.path, data),
                parts.subject,
                parts.body,
                parts.body_html,
                *locks,
                chain,
            ],
        )
        (answer,) = cursor.fetchone()
    if answer is None:
        return HttpResponse(status=409)
    return HttpResponse(answer, status=201, content_type="application/json")


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/one-call/", one_call),
    path("", include("outage_desk.urls")),
]
