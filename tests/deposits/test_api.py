import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from deposits.errors import (
    ERROR_FILE_TYPE,
    ERROR_FLOAT_AMOUNT,
    ERROR_IN_FUTURE,
    ERROR_INCIDENT_CLOSED,
    ERROR_OTHER_BRANCH,
    ERROR_REASON_REQUIRED,
    ERROR_REVERSAL_FOUR_EYES,
    ERROR_SELF_APPROVAL,
    ERROR_UUID_CONFLICT,
    ERROR_UUID_INVALID,
)
from deposits.models import Deposit, DepositConflict, DepositReversal
from outage_desk.api.errors import ERROR_INVALID
from outage_desk.idempotency import ERROR_KEY_MISSING, ERROR_KEY_REUSED
from outage_desk.money import (
    ERROR_NOT_POSITIVE,
    ERROR_TOO_MANY_DECIMALS,
    ERROR_UNKNOWN_CURRENCY,
)
from outage_desk.roles import Role
from tests.factories import UserFactory

from .factories import ApprovalThresholdFactory, DepositFactory
from .helpers import PNG, row_counts, token_client

UUID = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def body(incident):
    return {
        "client_uuid": UUID,
        "incident": incident.reference,
        "channel": "bank_transfer",
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": "125.50",
        "currency": "GBP",
        "received_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "reference": "TRF-1",
    }


@pytest.fixture(params=["token", "forced"])
def api(request, clerk):
    """The clerk with a real API token (POSTs the fast lane takes go its way) and
    authenticated by force (always DRF's full way): every test runs both ways."""
    if request.param == "token":
        return token_client(clerk)
    client = APIClient()
    client.force_authenticate(clerk)
    return client


def post(api, body, key="key-1", **kwargs):
    headers = {"Idempotency-Key": key} if key else {}
    kwargs.setdefault("format", "json")
    return api.post("/api/v1/deposits/", body, headers=headers, **kwargs)


def act(api, url, body=None, key=None):
    """POST a deposit action with a fresh Idempotency-Key (or the one given)."""
    headers = {"Idempotency-Key": key or str(uuid.uuid4())}
    return api.post(url, body, format="json", headers=headers)


def invalid(fields):
    return {
        "error": {"code": "invalid", "message": str(ERROR_INVALID), "fields": fields}
    }


def test_it_records_a_deposit_and_answers_with_strings_for_amounts(api, body, customer):
    response = post(api, body)

    assert response.status_code == 201
    data = response.json()
    assert data["amount"] == "125.50"
    assert data["receipt_number"] == "HQ-000001"
    assert data["branch"] == "HQ"
    assert data["customer"] == "GB00001234"
    assert data["source"] == "api"
    assert data["status"] == "provisional"
    assert Deposit.objects.get().amount == Decimal("125.50")


def test_a_missing_idempotency_key_is_refused(api, body):
    before = row_counts()

    response = post(api, body, key=None)

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "idempotency_key_missing", "message": str(ERROR_KEY_MISSING)}
    }
    assert row_counts() == before


def test_a_retry_with_the_same_key_replays_the_first_response(api, body):
    first = post(api, body)
    again = post(api, body)

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Deposit.objects.count() == 1
    assert "Idempotent-Replayed" not in first


def test_the_same_key_with_another_body_is_refused(api, body):
    post(api, body)

    response = post(api, {**body, "amount": "1.00"})

    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "idempotency_key_reused", "message": str(ERROR_KEY_REUSED)}
    }
    assert Deposit.objects.get().amount == Decimal("125.50")


def test_keys_are_scoped_to_the_user(api, body, supervisor):
    post(api, body)
    other = APIClient()
    other.force_authenticate(supervisor)

    response = post(other, body)

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert Deposit.objects.count() == 1


def test_the_same_uuid_under_a_new_key_returns_the_same_deposit(api, body):
    first = post(api, body, key="a")
    again = post(api, body, key="b")

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Deposit.objects.count() == 1


def test_the_same_uuid_with_other_content_is_a_409_kept_for_review(api, body):
    post(api, body, key="a")

    response = post(api, {**body, "amount": "99.00"}, key="b")

    assert response.status_code == 409
    conflict = DepositConflict.objects.get()
    assert response.json() == {
        "error": {
            "code": "client_uuid_conflict",
            "message": str(ERROR_UUID_CONFLICT),
            "conflict": conflict.pk,
        }
    }
    assert Deposit.objects.get().amount == Decimal("125.50")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-5.00"}, "amount", ERROR_NOT_POSITIVE),
        ({"amount": "0"}, "amount", ERROR_NOT_POSITIVE),
        (
            {"amount": "1.005"},
            "amount",
            ERROR_TOO_MANY_DECIMALS % {"code": "GBP", "places": 2},
        ),
        ({"currency": "XYZ"}, "currency", ERROR_UNKNOWN_CURRENCY % {"code": "XYZ"}),
        ({"branch": "NORTH"}, "branch", ERROR_OTHER_BRANCH),
        (
            {"received_at": (timezone.now() + dt.timedelta(days=1)).isoformat()},
            "received_at",
            ERROR_IN_FUTURE,
        ),
        (
            {"client_uuid": "not-a-uuid"},
            "client_uuid",
            ERROR_UUID_INVALID % {"value": "not-a-uuid"},
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    api, body, other_branch, changes, field, message
):
    before = row_counts()

    response = post(api, {**body, **changes})

    assert response.status_code == 400
    assert response.json() == invalid({field: [str(message)]})
    assert row_counts() == before


def test_a_closed_incident_is_refused(api, body, closed_incident):
    before = row_counts()
    received = closed_incident.impact_started_at + dt.timedelta(minutes=5)

    response = post(
        api,
        {**body, "incident": "INC-2026-0002", "received_at": received.isoformat()},
    )

    assert response.status_code == 400
    assert response.json() == invalid(
        {"incident": [str(ERROR_INCIDENT_CLOSED % {"ref": "INC-2026-0002"})]}
    )
    assert row_counts() == before


def test_a_float_amount_is_refused(api, body):
    before = row_counts()

    response = post(api, {**body, "amount": 125.5})

    assert response.status_code == 400
    assert response.json() == invalid({"amount": [str(ERROR_FLOAT_AMOUNT)]})
    assert row_counts() == before


def test_evidence_is_checked_by_content_on_the_api_too(api, body, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = row_counts()
    fake = SimpleUploadedFile("slip.pdf", b"GIF89a not a pdf")

    response = post(api, {**body, "evidence": [fake]}, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "evidence": [str(ERROR_FILE_TYPE % {"name": "slip.pdf"})]
    }
    assert row_counts() == before

    good = SimpleUploadedFile("slip.png", PNG)
    saved = post(api, {**body, "evidence": [good]}, key="k2", format="multipart")
    assert saved.status_code == 201
    assert Deposit.objects.get().evidence.get().content_type == "image/png"


def test_the_list_is_scoped_and_filtered(api, clerk, branch, other_branch, incident):
    DepositFactory(
        branch=branch,
        incident=incident,
        recorded_by=clerk,
        receipt_number="HQ-1",
        amount=Decimal("10"),
    )
    DepositFactory(
        branch=branch,
        incident=incident,
        recorded_by=clerk,
        receipt_number="HQ-2",
        status=Deposit.Status.CONFIRMED,
    )
    DepositFactory(branch=other_branch, incident=incident, receipt_number="N-1")

    everything = api.get("/api/v1/deposits/").json()
    confirmed = api.get("/api/v1/deposits/?status=confirmed").json()

    assert sorted(d["receipt_number"] for d in everything["results"]) == [
        "HQ-1",
        "HQ-2",
    ]
    assert [d["receipt_number"] for d in confirmed["results"]] == ["HQ-2"]
    hq1 = next(d for d in everything["results"] if d["receipt_number"] == "HQ-1")
    assert hq1["amount"] == "10.00"


def test_another_branch_deposit_is_404(api, other_branch, incident):
    deposit = DepositFactory(branch=other_branch, incident=incident)

    assert api.get(f"/api/v1/deposits/{deposit.pk}/").status_code == 404
    assert (
        act(api, f"/api/v1/deposits/{deposit.pk}/reverse/", {"reason": "x"}).status_code
        == 404
    )


def test_permission_matrix(client, clerk, supervisor, finance, lead, body):
    expected = {
        clerk: (200, 201),
        supervisor: (200, 201),
        finance: (200, 403),
        lead: (200, 403),
    }
    for n, (user, (list_status, create_status)) in enumerate(expected.items()):
        api = APIClient()
        api.force_authenticate(user)
        assert api.get("/api/v1/deposits/").status_code == list_status, user
        unique = {
            **body,
            "client_uuid": str(uuid.uuid4()),
            "account": f"GB{n:08d}",
            "reference": f"R{n}",
        }
        assert post(api, unique, key=f"m{n}").status_code == create_status, user
    assert APIClient().get("/api/v1/deposits/").status_code == 401


def test_reversal_through_the_api_with_four_eyes(
    api, body, clerk, supervisor, roles, branch
):
    deposit_id = post(api, body).json()["id"]
    boss = APIClient()
    boss.force_authenticate(supervisor)
    second = UserFactory(username="sam", branch=branch, roles=[Role.SUPERVISOR])
    other_boss = APIClient()
    other_boss.force_authenticate(second)

    no_reason = act(api, f"/api/v1/deposits/{deposit_id}/reverse/", {"reason": ""})
    assert no_reason.status_code == 400
    assert no_reason.json() == invalid({"reason": [str(ERROR_REASON_REQUIRED)]})

    requested = act(
        boss, f"/api/v1/deposits/{deposit_id}/reverse/", {"reason": "Wrong account"}
    )
    assert requested.status_code == 201
    reversal_id = requested.json()["id"]

    own = act(boss, f"/api/v1/reversals/{reversal_id}/approve/")
    assert own.status_code == 403
    assert own.json() == {
        "error": {"code": "four_eyes", "message": str(ERROR_REVERSAL_FOUR_EYES)}
    }

    approved = act(other_boss, f"/api/v1/reversals/{reversal_id}/approve/")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert Deposit.objects.get().status == Deposit.Status.REVERSED
    assert DepositReversal.objects.get().decided_by == second


def test_approval_through_the_api_with_four_eyes(roles, branch, incident, body):
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("100"))
    boss = UserFactory(username="boss", branch=branch, roles=[Role.SUPERVISOR])
    other = UserFactory(username="other", branch=branch, roles=[Role.SUPERVISOR])
    clerk_user = UserFactory(username="cl", branch=branch, roles=[Role.CLERK])
    as_boss, as_other, as_clerk = APIClient(), APIClient(), APIClient()
    as_boss.force_authenticate(boss)
    as_other.force_authenticate(other)
    as_clerk.force_authenticate(clerk_user)
    created = post(as_boss, {**body, "amount": "5000.00"}).json()
    assert created["status"] == "pending_approval"

    url = f"/api/v1/deposits/{created['id']}/approve/"
    assert act(as_clerk, url).status_code == 403
    own = act(as_boss, url)
    assert own.status_code == 403
    assert own.json() == {
        "error": {"code": "four_eyes", "message": str(ERROR_SELF_APPROVAL)}
    }
    ok = act(as_other, url, key="approve-1")
    assert ok.status_code == 200
    assert ok.json()["status"] == "provisional"
    assert ok.json()["approved_by"] == "other"
    replayed = act(as_other, url, key="approve-1")
    assert replayed.status_code == 200
    assert replayed["Idempotent-Replayed"] == "true"
    again = act(as_other, url)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_a_token_client_can_capture(clerk, body):
    from outage_desk.tokens import api_token_create

    _token, key = api_token_create(user=clerk, name="teller app")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = post(api, {**body, "client_uuid": str(uuid.uuid4())})

    assert response.status_code == 201
