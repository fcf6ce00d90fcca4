"""The capture's fast lane: a new API deposit and its Idempotency-Key in one transaction.

``POST /api/v1/deposits/`` is what integrators and offline devices hammer when the
core system is down. The full way (DRF's view with ``@idempotent``) commits the
key's claim, runs the capture in its own transaction and commits the answer after
it: three transactions, and DRF's request, negotiation, permission and response
machinery around them. The lane takes a request only when it can give the answer
the full way would give, and then writes the deposit, its notices, its audit event
and the key's stored answer in the capture's one transaction (the answer rides in
its last round trip: ``deposits.services.Rider``).

It takes: PostgreSQL; a JSON body of string fields the create serializer accepts as
they are (checked by the serializer's own fields), without those of
``FULL_WAY_FIELDS``; ``Authorization: Token`` of an active user with the permission, within the
rate limit; an Idempotency-Key no one used; a client UUID no one used; no possible
duplicate. Anything else (a retry of a key or a UUID, a refusal, a duplicate, an
input the lane does not vouch for) writes nothing here and goes the full way, which
answers it: the lane never answers anything but a new deposit's 201.
"""

import functools
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from rest_framework import exceptions
from rest_framework.fields import SkipField, empty
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.utils import json
from rest_framework.views import APIView

from incidents.models import Incident
from outage_desk import rawsql
from outage_desk.api.authentication import api_token_used
from outage_desk.api.parsers import body_too_large
from outage_desk.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    fingerprint,
    idempotency_answer_sql,
)
from outage_desk.models import User
from outage_desk.tokens import api_token_from_row, api_token_sql, token_hash

from ..models import Customer, Deposit
from ..selectors import capture_lookups_from_row, capture_lookups_sql
from ..services import RiderRefused, deposit_record
from .serializers import (
    DepositCreateSerializer,
    DepositSerializer,
    capture_arguments,
)

# The create serializer's fields the lane leaves to the full way: another branch,
# files, and what an offline device or a clerk's duplicate reason adds.
FULL_WAY_FIELDS = frozenset(
    {"branch", "evidence", "offline", "device_time", "duplicate_reason"}
)
# Set on a request the lane counted against the rate limit before it stepped aside.
COUNTED = "_capture_lane_counted"


@functools.cache
def _create_fields() -> dict[str, Any]:
    """The create serializer's fields, bound once; validating does not change them."""
    return dict(DepositCreateSerializer().fields)


@functools.cache
def _lane_fields() -> frozenset[str]:
    """The fields a body the lane takes may have."""
    return frozenset(_create_fields()) - FULL_WAY_FIELDS


def _validated(data: Any) -> dict[str, Any] | None:
    """What ``DepositCreateSerializer(data=data).validated_data`` would be, or None
    when the body is not one the lane takes or a field refuses it."""
    if not isinstance(data, dict) or not data.keys() <= _lane_fields():
        return None
    if not all(isinstance(value, str) for value in data.values()):
        return None
    values: dict[str, Any] = {}
    for name, field in _create_fields().items():
        try:
            values[name] = field.run_validation(data.get(name, empty))
        except SkipField:
            continue
        except exceptions.ValidationError:
            return None
    return values


def _token_key(request: HttpRequest) -> str | None:
    """The key of an ``Authorization: Token <key>`` header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    auth = header.split()
    if not header.isascii() or len(auth) != 2 or auth[0].lower() != "token":
        return None
    return str(auth[1])


def _within_limits(request: HttpRequest) -> bool:
    if request.method != "POST" or connection.vendor != "postgresql":
        return False
    if request.GET or request.content_type != "application/json":
        return False
    if request.headers.get("Accept", "*/*") not in ("*/*", "application/json"):
        return False
    return not body_too_large(request.META)


@functools.cache
def _lookups_sql() -> str:
    """The token with its user, branch and permissions, and the capture's incident
    and customer: the lane's one statement before the capture (no row: no token)."""
    return (
        f"SELECT * FROM ({api_token_sql()}) AS token"  # noqa: S608 (built SQL)
        f" CROSS JOIN ({capture_lookups_sql()}) AS lookups"
    )


def capture_lane(request: HttpRequest, view: APIView) -> HttpResponse | None:
    """A new deposit's 201 answer, or None: the full way answers this request.

    A database error is the full way's to answer too (503 while the database is
    gone): whether the capture's commit took effect, its key and its UUID make
    the second attempt safe.
    """
    key = request.headers.get(HEADER, "").strip()
    token_key = _token_key(request)
    if not key or len(key) > MAX_KEY_LENGTH or token_key is None:
        return None
    if not _within_limits(request):
        return None
    try:
        data = json.loads(request.body.decode(), parse_constant=json.strict_constant)
    except ValueError:
        return None
    values = _validated(data)
    if values is None:
        return None
    try:
        answer = _authorised_capture(request, view, token_key, key, data, values)
    except (OperationalError, InterfaceError):
        return None
    if answer is None:
        return None
    response = HttpResponse(
        JSONRenderer().render(answer), status=201, content_type="application/json"
    )
    headers = dict(view.default_response_headers)
    vary = headers.pop("Vary", None)
    for name, value in headers.items():
        response[name] = value
    if vary:
        patch_vary_headers(response, [vary])
    return response


def _authorised_capture(
    request: HttpRequest,
    view: APIView,
    token_key: str,
    key: str,
    data: dict[str, Any],
    values: dict[str, Any],
) -> dict[str, Any] | None:
    """Token, permission, rate limit, incident; then the capture's answer."""
    params = [token_hash(token_key), values["incident"], values["account"]]
    with connection.cursor() as cursor:
        rawsql.execute(cursor, [(_lookups_sql(), params)])
        row = cursor.fetchone()
    if row is None:  # no such token: the full way answers 401
        return None
    token, at = api_token_from_row(row)
    incident, customer = capture_lookups_from_row(row, at)
    user = token.user
    if not user.has_perm("deposits.add_deposit"):
        return None
    api_token_used(token)
    # What DRF's authentication leaves on the request, for the throttles and the logs.
    request.user = user
    request.auth = token  # type: ignore[attr-defined]
    for throttle in view.get_throttles():
        if not throttle.allow_request(cast(Request, request), view):
            return None
    setattr(request, COUNTED, True)
    if incident is None:
        return None
    return _capture(request, user, key, data, values, incident, customer)


def _capture(
    request: HttpRequest,
    user: User,
    key: str,
    data: dict[str, Any],
    values: dict[str, Any],
    incident: Incident,
    customer: Customer | None,
) -> dict[str, Any] | None:
    """The new deposit's API shape, its answer kept under the key; None: nothing
    was written."""
    if user.branch is None:
        return None
    answer: dict[str, Any] = {}
    request_hash = fingerprint("POST", request.path, data)

    def keep_answer(deposit: Deposit) -> tuple[str, list[Any]]:
        # Runs while the capture holds its branch's receipt counter: keep it short.
        answer.update(DepositSerializer(deposit).data)
        return idempotency_answer_sql(
            user=user,
            key=key,
            method="POST",
            path=request.path,
            request_hash=request_hash,
            status=201,
            body=answer,
        )

    try:
        deposit_record(
            incident=incident,
            branch=user.branch,
            recorded_by=user,
            customer=customer,
            rider=keep_answer,
            **capture_arguments(values),
        )
    except (RiderRefused, ValidationError):
        return None
    return answer
