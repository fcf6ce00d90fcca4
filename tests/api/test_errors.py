"""Bad input gets the one documented error body, and nothing changes."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from deposits.models import Deposit
from outage_desk.api.errors import (
    ERROR_INVALID,
    ERROR_NOT_FOUND,
    ERROR_SERVER,
    ERROR_TOO_LARGE,
)
from outage_desk.api.serializers import ERROR_UNKNOWN_FIELD
from outage_desk.models import IdempotencyRecord
from tests.deposits.factories import DepositFactory
from tests.deposits.helpers import row_counts

URL = "/api/v1/deposits/"


def post(api, body, key="k-1", **kwargs):
    kwargs.setdefault("format", "json")
    return api.post(URL, body, headers={"Idempotency-Key": key}, **kwargs)


def test_an_unknown_field_is_refused(api, body):
    before = row_counts()

    response = post(api, {**body, "amount_cents": 12550})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": str(ERROR_INVALID),
            "fields": {"amount_cents": [str(ERROR_UNKNOWN_FIELD)]},
        }
    }
    assert row_counts() == before


def test_wrong_types_are_named_by_field(api, body):
    before = row_counts()

    response = post(api, {**body, "amount": ["1"], "received_at": 5, "channel": 3})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert sorted(error["fields"]) == ["amount", "channel", "received_at"]
    assert row_counts() == before


def test_missing_keys_are_named_by_field(api, body):
    before = row_counts()

    response = post(api, {"client_uuid": body["client_uuid"]})

    assert response.status_code == 400
    assert sorted(response.json()["error"]["fields"]) == [
        "account",
        "amount",
        "channel",
        "currency",
        "incident",
        "payer_name",
    ]
    assert row_counts() == before


def test_a_body_that_is_not_json_is_refused(api):
    before = row_counts()

    response = api.post(
        URL,
        "{not json",
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert row_counts() == before


def test_a_body_over_the_limit_is_413(api, body, settings):
    settings.API_MAX_BODY_BYTES = 1000
    before = row_counts()

    response = post(api, {**body, "note": "x" * 2000})

    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "payload_too_large",
            "message": str(ERROR_TOO_LARGE % {"limit": 1000}),
        }
    }
    assert row_counts() == before
    assert IdempotencyRecord.objects.count() == 0


def test_another_branches_ids_are_404_in_the_same_shape(api, outsider, incident):
    deposit = DepositFactory(branch=outsider.branch, incident=incident)
    before = row_counts()

    read = api.get(f"/api/v1/deposits/{deposit.pk}/")
    reverse = api.post(
        f"/api/v1/deposits/{deposit.pk}/reverse/",
        {"reason": "x"},
        format="json",
        headers={"Idempotency-Key": "k"},
    )

    expected = {"error": {"code": "not_found", "message": str(ERROR_NOT_FOUND)}}
    assert read.status_code == 404
    assert read.json() == expected
    assert reverse.status_code == 404
    assert reverse.json() == expected
    assert row_counts() == before
    assert Deposit.objects.get(pk=deposit.pk).status == deposit.status


def test_no_credentials_is_401_in_the_same_shape(db):
    response = APIClient().get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_a_role_without_the_permission_is_403_in_the_same_shape(finance, body):
    client = APIClient()
    client.force_authenticate(finance)

    response = post(client, body)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Deposit.objects.count() == 0


@pytest.fixture
def tight_rate(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token": "2/minute"}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": rates,
    }
    from outage_desk.api.throttling import PerTokenRateThrottle

    old = PerTokenRateThrottle.THROTTLE_RATES
    PerTokenRateThrottle.THROTTLE_RATES = rates
    cache.clear()
    yield
    PerTokenRateThrottle.THROTTLE_RATES = old
    cache.clear()


def test_the_rate_limit_is_per_token_and_answers_429(api, tight_rate, clerk):
    from outage_desk.tokens import api_token_create

    assert api.get("/api/v1/me/").status_code == 200
    assert api.get("/api/v1/me/").status_code == 200
    limited = api.get("/api/v1/me/")
    _token, key = api_token_create(user=clerk, name="second app")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    assert other.get("/api/v1/me/").status_code == 200


def test_an_unknown_api_url_is_404_in_the_same_shape(api):
    response = api.get("/api/v1/deposits/-1/")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": str(ERROR_NOT_FOUND)}
    }


def test_a_server_error_in_the_api_is_json(api, monkeypatch):
    from outage_desk.api import views

    def boom(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeView, "get", boom)
    api.raise_request_exception = False

    response = api.get("/api/v1/me/")

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "server_error", "message": str(ERROR_SERVER)}
    }


@pytest.mark.django_db
def test_a_huge_limit_is_capped_not_a_server_error(api):
    response = api.get("/api/v1/tokens/?limit=36893488147419103232&offset=-5")

    assert response.status_code == 200
    assert response.json()["count"] == 1
