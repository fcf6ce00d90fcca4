"""The capture's fast lane answers a new API deposit exactly as the full way does,
in one transaction with its Idempotency-Key, and steps aside for everything else."""

import datetime as dt
import uuid
from decimal import Decimal

import psycopg2
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

import deposits.api.lane as lane
from deposits.models import Deposit
from notifications.models import Notice
from outage_desk.idempotency import fingerprint
from outage_desk.models import AuditEvent, IdempotencyRecord
from outage_desk.roles import Role
from outage_desk.tokens import api_token_create
from tests.factories import UserFactory

from .helpers import row_counts, run_in_threads, token_client

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the lane runs on PostgreSQL only"
)
URL = "/api/v1/deposits/"


@pytest.fixture
def api(clerk):
    return token_client(clerk)


@pytest.fixture
def forced(clerk):
    client = APIClient()
    client.force_authenticate(clerk)
    return client


@pytest.fixture
def taken(monkeypatch):
    """The lane's answers, in order: True when it answered, False when it stepped aside."""
    answers = []
    real = lane.capture_lane

    def spy(request, view):
        response = real(request, view)
        answers.append(response is not None)
        return response

    monkeypatch.setattr("deposits.api.views.capture_lane", spy)
    return answers


def new_body(incident, **overrides):
    return {
        "client_uuid": str(uuid.uuid4()),
        "incident": incident.reference,
        "channel": "bank_transfer",
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": f"{Decimal(uuid.uuid4().int % 10**6) / 100 + 1:.2f}",
        "currency": "GBP",
        "received_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "reference": "",
        **overrides,
    }


def post(client, body, key=None, **kwargs):
    kwargs.setdefault("format", "json")
    headers = {"Idempotency-Key": key or str(uuid.uuid4()), **kwargs.pop("headers", {})}
    return client.post(URL, body, headers=headers, **kwargs)


VARYING = {"id", "receipt_number", "client_uuid", "amount", "recorded_at"}


def test_the_lane_answers_a_new_capture_as_the_full_way_does(
    api, forced, taken, incident, customer
):
    # given
    at = (timezone.now() - dt.timedelta(minutes=5)).isoformat()

    # when
    fast = post(api, new_body(incident, note="in an envelope", received_at=at))
    full = post(forced, new_body(incident, note="in an envelope", received_at=at))

    # then
    assert taken == [True, False]  # forced authentication always goes the full way
    assert fast.status_code == full.status_code == 201
    for header in ("Content-Type", "Allow", "Vary"):
        assert fast[header] == full[header], header
    fast_data, full_data = fast.json(), full.json()
    assert fast_data.keys() == full_data.keys()
    assert {k: v for k, v in fast_data.items() if k not in VARYING} == {
        k: v for k, v in full_data.items() if k not in VARYING
    }
    deposit = Deposit.objects.get(pk=fast_data["id"])
    assert fast_data["receipt_number"] == deposit.receipt_number
    assert fast_data["amount"] == f"{deposit.amount:.2f}"
    assert deposit.customer == customer
    assert deposit.source == Deposit.Source.API
    assert Notice.objects.count() == 4  # each: the customer's and the webhooks'


def test_the_lane_keeps_the_keys_answer_in_the_captures_transaction(
    api, taken, incident, clerk
):
    # given
    body = new_body(incident)
    post(api, new_body(incident))  # the token's first use is noted once

    # when
    with CaptureQueriesContext(connection) as queries:
        response = post(api, body, key="k-1")

    # then: token, incident, customer and what the notices need in one statement,
    # then the capture in one call; no claim committed before it, no answer stored
    # after it
    assert taken == [True, True]
    statements = [
        q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]
    ]  # the test's transaction makes the capture's a savepoint
    assert len(statements) == 2
    record = IdempotencyRecord.objects.get(key="k-1")
    assert record.status_code == 201
    assert record.response_body == response.json()
    assert record.request_hash == fingerprint("POST", URL, body)
    # a retry of the key gets the stored answer, marked as a replay
    again = post(api, body, key="k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == response.json()
    assert Deposit.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [
        "branch field",
        "float amount",
        "unknown field",
        "bad amount",
        "form body",
        "query string",
        "csv accepted",
        "bad token",
        "no permission",
        "closed incident",
        "future date",
    ],
)
def test_the_lane_steps_aside_and_the_full_way_answers(
    change, api, forced, taken, incident, closed_incident, branch, roles
):
    # given
    body = new_body(incident)
    kwargs = {}
    client = api
    if change == "branch field":
        body["branch"] = branch.code
    elif change == "float amount":
        body["amount"] = 12.5
    elif change == "unknown field":
        body["colour"] = "blue"
    elif change == "bad amount":
        body["amount"] = "12.345"
    elif change == "form body":
        kwargs["format"] = "multipart"
    elif change == "query string":
        client = api
        kwargs["QUERY_STRING"] = "format=json"
    elif change == "csv accepted":
        kwargs["headers"] = {"Accept": "text/csv"}
    elif change == "bad token":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token od_not-a-token")
    elif change == "no permission":
        viewer = UserFactory(username="vic", branch=branch, roles=[Role.FINANCE])
        client = token_client(viewer)
    elif change == "closed incident":
        body["incident"] = closed_incident.reference
    elif change == "future date":
        body["received_at"] = (timezone.now() + dt.timedelta(days=1)).isoformat()
    before = row_counts()

    # when
    response = post(client, body, **kwargs)

    # then
    assert taken == [False]
    if change in ("bad token", "no permission"):
        assert response.status_code == (401 if change == "bad token" else 403)
        assert row_counts() == before
        return
    # the same request, another deposit, by force: always the full way
    other = {**body, "client_uuid": str(uuid.uuid4()), "account": "GB00009999"}
    expected = post(forced, other, **kwargs)
    assert response.status_code == expected.status_code
    if response.status_code >= 400:
        assert response.json() == expected.json()
        assert row_counts() == before


def test_a_retry_a_reused_key_and_a_possible_duplicate_go_the_full_way(
    api, taken, incident
):
    # given
    body = new_body(incident, reference="TRF-9")
    first = post(api, body, key="k-1")

    # when
    same_uuid = post(api, body, key="k-2")
    reused_key = post(api, new_body(incident), key="k-1")
    duplicate = post(api, {**body, "client_uuid": str(uuid.uuid4())}, key="k-3")

    # then
    assert taken == [True, False, False, False]
    assert first.status_code == 201
    assert same_uuid.status_code == 200
    assert same_uuid.json()["id"] == first.json()["id"]
    assert reused_key.status_code == 422
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["code"] == "duplicate_suspected"
    assert Deposit.objects.count() == 1


@pytest.fixture
def rate_of_three(settings):
    from outage_desk.api.throttling import PerTokenRateThrottle

    old = PerTokenRateThrottle.THROTTLE_RATES
    PerTokenRateThrottle.THROTTLE_RATES = {**old, "token": "3/minute"}
    cache.clear()
    yield
    PerTokenRateThrottle.THROTTLE_RATES = old
    cache.clear()


def test_a_request_the_lane_passes_on_counts_once_against_the_rate_limit(
    api, taken, incident, rate_of_three
):
    # given
    body = new_body(incident)

    # when
    codes = [
        post(api, body, key="k-1").status_code,  # the lane
        post(api, body, key="k-2").status_code,  # a replay: the full way
        post(api, new_body(incident)).status_code,  # the lane
        post(api, new_body(incident)).status_code,  # over the limit
    ]

    # then
    assert codes == [201, 200, 201, 429]
    assert taken == [True, False, True, False]


@pytest.fixture
def health_checks(monkeypatch):
    """A kept connection at a new request's start, its health check due; the
    list of the checks' answers (Django's ``SELECT 1`` round trips)."""
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.ensure_connection()
    checks = []
    real = connection.is_usable

    def is_usable():
        checks.append(real())
        return checks[-1]

    monkeypatch.setattr(connection, "is_usable", is_usable)
    connection.health_check_done = False
    return checks


@pytest.mark.django_db(transaction=True)
def test_the_lanes_first_statement_stands_in_for_the_health_check(
    api, taken, incident, health_checks
):
    # when
    response = post(api, new_body(incident))

    # then: answered by the lane, with no SELECT 1 before its lookups
    assert response.status_code == 201
    assert taken == [True]
    assert health_checks == []


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_and_the_capture_written_once(
    api, taken, incident, health_checks
):
    # given: the server ended the kept connection between two requests
    body = new_body(incident)
    before = row_counts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg2.connect(**connection.get_connection_params()) as other:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone() == (True,)
    other.close()
    connection.health_check_done = False
    health_checks.clear()

    # when
    response = post(api, body)

    # then: the lane found it broken and stepped aside; the full way wrote it once
    assert response.status_code == 201, response.content
    assert taken == [False]
    assert health_checks == []
    assert (
        Deposit.objects.get(client_uuid=body["client_uuid"]).pk == response.json()["id"]
    )
    after = row_counts()
    assert after["deposits"] == before["deposits"] + 1
    assert after["audit"] == before["audit"] + 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_posts_of_one_key_write_one_deposit(incident, clerk):
    # given: the same key, half with the first body, half with other bodies
    _token, key = api_token_create(user=clerk, name="teller app")
    body = new_body(incident)
    others = [new_body(incident) for _ in range(10)]
    audit_before = AuditEvent.objects.count()

    def send(n):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        sent = body if n % 2 else others[n // 2]
        response = post(client, sent, key="same")
        return sent is body, response.status_code, response.json()

    # when
    results, errors = run_in_threads(send, 20)
    assert errors == []

    # then: one deposit; its body's requests get it, the others 422
    deposit = Deposit.objects.get()
    winner = deposit.client_uuid
    for same_body, status, data in results:
        sent_uuid = body["client_uuid"] if same_body else None
        if status == 201:
            assert data["id"] == deposit.pk
            assert sent_uuid in (None, str(winner))
        else:
            assert status == 422, data
    assert sum(1 for _, status, _ in results if status == 201) == (
        10 if str(winner) == body["client_uuid"] else 1
    )
    assert IdempotencyRecord.objects.get().response_body["id"] == deposit.pk
    assert AuditEvent.objects.count() == audit_before + 1
    assert row_counts()["receipt_counters"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind", ["plain", "approved", "reversed", "no customer", "offline held", "JPY"]
)
def test_a_deposits_api_shape_is_what_drfs_generic_walk_gives(kind, customer):
    from rest_framework import serializers

    from deposits.api.serializers import DepositSerializer

    from .factories import DepositFactory

    # given
    extra = {}
    if kind == "approved":
        extra = {"approved_by": UserFactory(), "approved_at": timezone.now()}
    elif kind == "reversed":
        extra = {"status": Deposit.Status.REVERSED, "note": "wrong till"}
    elif kind == "offline held":
        extra = {
            "source": Deposit.Source.OFFLINE,
            "device_time": timezone.now() - dt.timedelta(hours=2),
            "status": Deposit.Status.PENDING_APPROVAL,
            "hold_reason": Deposit.HoldReason.OFFLINE_OVER_MAX,
        }
    elif kind == "JPY":
        extra = {"currency": "JPY", "amount": Decimal("1200")}
    if kind != "no customer":
        extra["customer"] = customer
    deposit = DepositFactory(reference="TRF-1", **extra)
    deposit = Deposit.objects.get(pk=deposit.pk)  # as read back

    # when
    serializer = DepositSerializer(deposit)
    written_out = serializer.data
    generic = serializers.ModelSerializer.to_representation(serializer, deposit)

    # then
    assert list(written_out) == DepositSerializer.Meta.fields
    assert written_out == generic
    assert [type(v) for v in written_out.values()] == [
        type(v) for v in generic.values()
    ]
