from decimal import Decimal

import pytest

from outage_desk.tokens import api_token_create
from reconciliation import resolutions as r
from reconciliation.finance_models import ApprovalRequest, Case
from reconciliation.models import Match

from .finance_helpers import case_of

pytestmark = pytest.mark.django_db
API = "/api/v1/reconciliation"


def auth(user):
    _token, key = api_token_create(user=user, name="t")
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


@pytest.mark.parametrize(
    ("persona", "status"), [("clerk", 403), ("lead", 403), ("finance", 200)]
)
def test_reads_are_for_finance_only(client, request, world, persona, status):
    headers = auth(request.getfixturevalue(persona))
    ref = world["run"].incident.reference
    assert client.get(f"{API}/runs/?incident={ref}", **headers).status_code == status
    assert (
        client.get(f"{API}/discrepancies/?incident={ref}", **headers).status_code
        == status
    )
    assert (
        client.get(f"{API}/runs/{world['run'].pk}/matches/", **headers).status_code
        == status
    )
    assert client.get(f"{API}/approvals/", **headers).status_code == status


def test_the_queue_over_the_api_has_both_sides_and_money_as_strings(
    client, finance, world
):
    ref = world["run"].incident.reference
    body = client.get(
        f"{API}/discrepancies/?incident={ref}&kind=amount_mismatch", **auth(finance)
    ).json()
    (item,) = body["results"]
    assert item["deposits"][0]["receipt_number"] == "R-4"
    assert item["records"][0]["external_id"] == "TX-4"
    assert item["difference"] == "-18.000"
    assert item["hint"] == "transposed digits"


def test_a_write_off_needs_an_idempotency_key_and_replays(
    client, finance, finance2, world
):
    case = case_of("amount_mismatch")
    url = f"{API}/discrepancies/{case.pk}/write-off/"
    body = {"reason_code": "rounding", "version": case.version}
    assert (
        client.post(
            url, body, content_type="application/json", **auth(finance)
        ).status_code
        == 400
    )
    headers = {**auth(finance), "HTTP_IDEMPOTENCY_KEY": "w-1"}
    first = client.post(url, body, content_type="application/json", **headers)
    again = client.post(url, body, content_type="application/json", **headers)
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert ApprovalRequest.objects.count() == 1

    approval = first.json()["id"]
    own = client.post(
        f"{API}/approvals/{approval}/approve/",
        **{**auth(finance), "HTTP_IDEMPOTENCY_KEY": "a-1"},
    )
    assert own.status_code == 400
    assert own.json()["detail"] == [str(r.ERROR_OWN_REQUEST)]
    ok = client.post(
        f"{API}/approvals/{approval}/approve/",
        **{**auth(finance2), "HTTP_IDEMPOTENCY_KEY": "a-2"},
    )
    assert ok.status_code == 200
    assert Case.objects.get(pk=case.pk).resolution == "written_off"


def test_a_bad_write_off_is_refused_with_its_reason(client, finance, world):
    case = case_of("amount_mismatch")
    response = client.post(
        f"{API}/discrepancies/{case.pk}/write-off/",
        {"reason_code": "nope"},
        content_type="application/json",
        **{**auth(finance), "HTTP_IDEMPOTENCY_KEY": "k"},
    )
    assert response.status_code == 400
    assert response.json() == {"reason_code": [str(r.ERROR_REASON_CODE)]}
    assert not ApprovalRequest.objects.exists()


def test_link_and_stale_version(client, finance, world):
    case = case_of("amount_mismatch")
    record = case.discrepancy.records.get()
    headers = {**auth(finance), "HTTP_IDEMPOTENCY_KEY": "l-1"}
    response = client.post(
        f"{API}/discrepancies/{case.pk}/link/",
        {
            "deposits": [world["typo"].pk],
            "records": [record.pk],
            "version": case.version,
        },
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200
    assert response.json()["resolution"] == "linked"
    stale = client.post(
        f"{API}/discrepancies/{case.pk}/reopen/",
        {"version": case.version},
        content_type="application/json",
        **auth(finance),
    )
    assert stale.status_code == 409


def test_actions_assign_posted_and_match_confirm(client, finance, finance2, world):
    case = case_of("missing_in_system", amount=Decimal("70"))
    headers = auth(finance)
    assert (
        client.post(
            f"{API}/discrepancies/{case.pk}/assign/",
            {"assignee": finance2.username},
            content_type="application/json",
            **headers,
        ).json()["state"]
        == "assigned"
    )
    assert (
        client.post(
            f"{API}/discrepancies/{case.pk}/posted/",
            {},
            content_type="application/json",
            **headers,
        ).json()["resolution"]
        == "posted"
    )
    match = Match.objects.get(kind="reference")
    response = client.post(f"{API}/matches/{match.pk}/confirm/", **headers)
    assert response.json()["status"] == "confirmed"
    unmatch = client.post(f"{API}/matches/{match.pk}/unmatch/", **headers)
    assert unmatch.status_code == 202
