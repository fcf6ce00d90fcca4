"""Supervisors' queue in the API: pending reversals, reject, conflicts, imports."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from deposits.models import Deposit, DepositConflict, DepositReversal
from outage_desk.roles import Role
from tests.deposits.factories import DepositFactory
from tests.deposits.helpers import row_counts
from tests.factories import UserFactory


def as_user(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def keyed(client, url, body=None, key="k-1", **kwargs):
    kwargs.setdefault("format", "json")
    return client.post(url, body, headers={"Idempotency-Key": key}, **kwargs)


def test_a_second_supervisor_rejects_a_reversal_once(
    supervisor, branch, incident, clerk
):
    deposit = DepositFactory(branch=branch, incident=incident, recorded_by=clerk)
    requested = keyed(
        as_user(supervisor), f"/api/v1/deposits/{deposit.pk}/reverse/", {"reason": "x"}
    ).json()
    other = as_user(UserFactory(username="sam", branch=branch, roles=[Role.SUPERVISOR]))

    pending = other.get("/api/v1/reversals/").json()["results"]
    own = keyed(
        as_user(supervisor), f"/api/v1/reversals/{requested['id']}/reject/", key="k-2"
    )
    rejected = keyed(other, f"/api/v1/reversals/{requested['id']}/reject/")
    replayed = keyed(other, f"/api/v1/reversals/{requested['id']}/reject/")

    assert [r["id"] for r in pending] == [requested["id"]]
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "four_eyes"
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert replayed["Idempotent-Replayed"] == "true"
    assert DepositReversal.objects.get().status == "rejected"
    assert Deposit.objects.get().status == deposit.status


def test_conflicts_are_listed_and_resolved(api, body, supervisor):
    keyed(api, "/api/v1/deposits/", body, key="a")
    keyed(api, "/api/v1/deposits/", {**body, "amount": "9.00"}, key="b")
    boss = as_user(supervisor)

    listed = boss.get("/api/v1/conflicts/").json()["results"]
    resolved = boss.post(
        f"/api/v1/conflicts/{listed[0]['id']}/resolve/",
        {"note": "Typo at the till"},
        format="json",
    )
    again = boss.post(
        f"/api/v1/conflicts/{listed[0]['id']}/resolve/", {}, format="json"
    )

    assert listed[0]["differences"] == ["amount"]
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert again.status_code == 409
    assert DepositConflict.objects.get().resolution_note == "Typo at the till"


def test_a_clerk_cannot_see_the_queue(clerk):
    for url in ("/api/v1/reversals/", "/api/v1/conflicts/"):
        assert as_user(clerk).get(url).status_code == 403


def csv_file(*rows):
    header = (
        "receipt_number,branch,channel,account,payer_name,amount,currency,"
        "received_at,reference,note\n"
    )
    return SimpleUploadedFile("log.csv", (header + "".join(rows)).encode())


def test_a_branch_log_is_imported_once(supervisor, incident):
    received = (timezone.now() - dt.timedelta(minutes=30)).isoformat()
    row = f"P-1,HQ,cash,GB00001234,Alice Thompson,10.00,GBP,{received},,\n"
    client = as_user(supervisor)

    first = keyed(
        client,
        "/api/v1/deposits/import/",
        {"incident": incident.reference, "file": csv_file(row)},
        format="multipart",
    )
    second = keyed(
        client,
        "/api/v1/deposits/import/",
        {"incident": incident.reference, "file": csv_file(row)},
        key="k-2",
        format="multipart",
    )

    assert first.status_code == 201, first.json()
    assert first.json()["created"] == 1
    assert second.json() == {"created": 0, "skipped": 1, "warnings": []}
    assert Deposit.objects.get().receipt_number == "P-1"


def test_a_bad_log_names_each_row_and_imports_nothing(supervisor, incident):
    before = row_counts()

    response = keyed(
        as_user(supervisor),
        "/api/v1/deposits/import/",
        {
            "incident": incident.reference,
            "file": csv_file("P-1,HQ,pigeon,GB1,A,1.001,GBP,yesterday,,\n"),
        },
        format="multipart",
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"line 2, column channel", "line 2, column amount"} <= set(fields)
    assert row_counts() == before
