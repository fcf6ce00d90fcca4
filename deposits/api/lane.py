"""The capture's fast lane: a new API deposit and its Idempotency-Key in one database call.

``POST /api/v1/deposits/`` is what integrators and offline devices hammer when the
core system is down. The full way (DRF's view with ``@idempotent``) commits the
key's claim, runs the capture in its own transaction and commits the answer after
it: three transactions, and DRF's request, negotiation, permission and response
machinery around them. The lane takes a request only when it can give the answer
the full way would give. It reads what the capture needs in one statement, checks
it in Python as the full way does, and then writes the deposit, its notices, its
audit event and the key's stored answer in one database call, which is its own
transaction (``deposits.services.capture.deposit_capture_in_one_call``).

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

from django.conf import settings
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

from notifications.models import NoticeKind
from notifications.services import (
    NoticeLookups,
    notice_lookups_parse,
    notice_lookups_sql,
)
from outage_desk import rawsql
from outage_desk.api.authentication import api_token_used
from outage_desk.api.parsers import body_too_large
from outage_desk.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    fingerprint,
    idempotency_record_for,
)
from outage_desk.models import IdempotencyRecord, User
from outage_desk.tokens import api_token_from_row, api_token_sql, token_hash

from ..models import ApprovalThreshold, Deposit
from ..selectors import capture_lookups_from_row, capture_lookups_sql
from ..services.capture import (
    capture_fields,
    capture_fields_validate,
    deposit_capture_in_one_call,
)
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
    """The lane's one statement before the capture (no row: no token): the token
    with its user, branch and permissions, the incident and the customer; then
    the new deposit's id, the branch's approval threshold in the currency and what
    the deposit's notices are rendered from."""
    return (
        "SELECT *,"  # noqa: S608 (model names)
        f" nextval(pg_get_serial_sequence('{Deposit._meta.db_table}', 'id')),"
        f" (SELECT a.amount FROM {rawsql.table(ApprovalThreshold)} a"
        "  WHERE a.branch_id = token.branch_id AND a.currency = %s),"
        f" ({notice_lookups_sql(kind=NoticeKind.DEPOSIT_RECEIVED)})::text"
        f" FROM ({api_token_sql()}) AS token"
        f" CROSS JOIN ({capture_lookups_sql()}) AS lookups"
    )


@functools.lru_cache(maxsize=16)
def _notice_lookups(text: str) -> NoticeLookups:
    """The notice lookups of the statement's text; the same text (templates and
    endpoints unchanged) is parsed once."""
    return notice_lookups_parse(
        json.loads(text), kind=NoticeKind.DEPOSIT_RECEIVED, languages=_languages()
    )


@functools.cache
def _languages() -> list[str]:
    """Every language notices are written in: the statement reads the templates of
    all, before it knows the customer's."""
    return [code for code, _name in settings.LANGUAGES]


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
    params = [
        values["currency"],
        _languages(),
        token_hash(token_key),
        values["incident"],
        values["account"],
    ]
    row = _lookups_row(params)
    if row is None:  # no such token: the full way answers 401
        return None
    token, at = api_token_from_row(row)
    incident, customer = capture_lookups_from_row(row, at)
    pk, threshold, notice_lookups = row[-3:]
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
    if incident is None or user.branch is None:
        return None
    arguments = capture_arguments(values)
    del arguments["evidence"]  # none: files go the full way
    try:
        fields = capture_fields(
            incident=incident, branch=user.branch, customer=customer, **arguments
        )
        capture_fields_validate(fields, recorded_by=user)
    except ValidationError:  # the full way answers it
        return None
    return _capture(
        request,
        user,
        key,
        data,
        fields,
        pk=pk,
        threshold=threshold,
        lookups=_notice_lookups(notice_lookups),
    )


def _lookups_row(params: list[Any]) -> tuple[Any, ...] | None:
    """The lookups statement's row, the statement standing in for Django's
    connection health check (``CONN_HEALTH_CHECKS``).

    The check is a ``SELECT 1`` round trip before a request's first statement on
    a kept connection; the lookups statement only reads, so it can find a broken
    connection as well. When the check was still due and the statement finds the
    connection broken, the connection is closed, as the check would have closed
    it, and the error sends the request the full way, which opens a new one.
    """
    db: Any = connection  # the stubs do not declare the health check's flag
    check_due = not db.health_check_done
    db.health_check_done = True
    try:
        with connection.cursor() as cursor:
            rawsql.execute(cursor, [(_lookups_sql(), params)])
            return cursor.fetchone()
    except (OperationalError, InterfaceError):
        if check_due and not connection.in_atomic_block:
            connection.close()
        raise


def _capture(
    request: HttpRequest,
    user: User,
    key: str,
    data: dict[str, Any],
    fields: dict[str, Any],
    **lookups: Any,
) -> dict[str, Any] | None:
    """The new deposit's API shape, its answer kept under the key in the capture's
    one database call; None: nothing was written."""
    answer: dict[str, Any] = {}

    def keep(deposit: Deposit) -> IdempotencyRecord:
        answer.update(DepositSerializer(deposit).data)
        return idempotency_record_for(
            user=user,
            key=key,
            method="POST",
            path=request.path,
            request_hash=fingerprint("POST", request.path, data),
            status=201,
            body=answer,
        )

    deposit = deposit_capture_in_one_call(
        fields=fields, recorded_by=user, keep=keep, **lookups
    )
    if deposit is None:
        return None
    # The answer was built before the receipt number was known.
    answer["receipt_number"] = deposit.receipt_number
    return answer
