from unittest import mock

import pytest

from reconciliation.models import ReconciliationRun
from reconciliation.tasks import reconciliation_run_task

from .factories import deposit_make, incident_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db):
    return incident_make()


@pytest.mark.parametrize(
    ("persona", "status"), [("clerk", 403), ("lead", 403), ("finance", 202)]
)
def test_only_finance_starts_a_run(
    client, request, incident, persona, status, django_capture_on_commit_callbacks
):
    client.force_login(request.getfixturevalue(persona))

    with mock.patch.object(reconciliation_run_task, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/reconciliation/incidents/{incident.reference}/runs/",
                {"dry_run": False},
                content_type="application/json",
            )

    assert response.status_code == status
    assert ReconciliationRun.objects.count() == (1 if status == 202 else 0)
    assert delay.call_count == (1 if status == 202 else 0)


def test_a_started_run_reports_its_counts_when_done(client, finance, incident):
    deposit_make(incident, receipt_number="R-1", amount="10.00")
    client.force_login(finance)
    with mock.patch.object(reconciliation_run_task, "delay"):
        started = client.post(
            f"/api/v1/reconciliation/incidents/{incident.reference}/runs/",
            {},
            content_type="application/json",
        ).json()
    assert (started["status"], started["incident"]) == ("queued", incident.reference)

    reconciliation_run_task(started["id"])
    response = client.get(f"/api/v1/reconciliation/runs/{started['id']}/")

    body = response.json()
    assert body["status"] == "finished"
    assert body["counts"]["missing_in_system"] == 1
    assert body["counts"]["deposits"] == 1


def test_an_unknown_incident_is_not_found(client, finance):
    client.force_login(finance)

    response = client.post(
        "/api/v1/reconciliation/incidents/INC-1999-0001/runs/",
        {},
        content_type="application/json",
    )

    assert response.status_code == 404
