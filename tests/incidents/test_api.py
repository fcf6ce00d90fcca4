import datetime as dt

import pytest
from django.utils import timezone

from incidents.models import BankContact, Incident, IncidentUpdate, RoleAssignment
from incidents.services.updates import ETA_NEEDS_BANK_SOURCE
from outage_desk.api.errors import ERROR_INVALID
from outage_desk.models import AuditEvent

from .factories import BankContactFactory, IncidentFactory


def invalid(fields):
    """The documented error body for bad input."""
    return {
        "error": {"code": "invalid", "message": str(ERROR_INVALID), "fields": fields}
    }


BASE = "/api/v1/incidents/"


@pytest.fixture
def incident(db):
    return IncidentFactory(reference="INC-2026-0001", title="Card payments down")


@pytest.mark.parametrize(
    ("persona", "status"), [("clerk", 200), ("finance", 200), ("lead", 200)]
)
def test_staff_who_may_view_can_list(client, request, incident, persona, status):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(BASE)

    assert response.status_code == status
    [row] = response.json()["results"]
    assert row["reference"] == "INC-2026-0001"
    assert row["status"] == "investigating"
    assert row["capture_window_open"] is True


def test_anonymous_callers_are_refused(client, incident):
    assert client.get(BASE).status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        BASE,
        f"{BASE}INC-2026-0001/status/",
        f"{BASE}INC-2026-0001/updates/",
        f"{BASE}INC-2026-0001/roles/",
        f"{BASE}INC-2026-0001/bank-contacts/",
    ],
)
def test_writes_need_manage_incident(client, clerk, incident, url):
    client.force_login(clerk)

    response = client.post(url, {}, content_type="application/json")

    assert response.status_code == 403
    assert AuditEvent.objects.count() == 0


def test_open_and_transition_through_the_api(client, lead, db):
    client.force_login(lead)

    opened = client.post(
        BASE,
        {"title": "Transfers failing", "severity": "minor"},
        content_type="application/json",
    )
    reference = opened.json()["reference"]
    moved = client.post(
        f"{BASE}{reference}/status/",
        {"status": "monitoring"},
        content_type="application/json",
    )
    refused = client.post(
        f"{BASE}{reference}/status/",
        {"status": "completed"},
        content_type="application/json",
    )

    assert opened.status_code == 201
    assert moved.json()["status"] == "monitoring"
    assert refused.status_code == 400
    assert refused.json() == invalid(
        {"status": ["An incident cannot move from “Monitoring” to “Completed”."]}
    )
    assert Incident.objects.get().status == "monitoring"


def test_updates_roles_and_contacts_through_the_api(client, lead, clerk, incident):
    client.force_login(lead)
    url = f"{BASE}INC-2026-0001/"

    contact = client.post(
        f"{url}bank-contacts/",
        {
            "contacted_at": timezone.now().isoformat(),
            "channel": "phone",
            "summary": "Down",
            "eta_given": (timezone.now() + dt.timedelta(hours=2)).isoformat(),
        },
        content_type="application/json",
    )
    update = client.post(
        f"{url}updates/",
        {
            "audience": "public",
            "texts": {"en": "Back soon"},
            "eta": (timezone.now() + dt.timedelta(hours=2)).isoformat(),
            "eta_source": contact.json()["id"],
        },
        content_type="application/json",
    )
    role = client.post(
        f"{url}roles/",
        {"role": "phone_desk", "user": "alice"},
        content_type="application/json",
    )

    assert contact.status_code == 201
    assert update.status_code == 201
    assert update.json()["texts"] == {"en": "Back soon"}
    assert role.status_code == 201
    assert role.json()["user"] == "alice"
    assert [u["id"] for u in client.get(f"{url}updates/").json()["results"]] == [
        update.json()["id"]
    ]
    assert client.get(f"{url}roles/").json()["results"][0]["role"] == "phone_desk"
    assert client.get(f"{url}bank-contacts/").json()["results"][0]["summary"] == "Down"


def test_a_public_eta_without_source_is_refused_by_the_api(client, lead, incident):
    client.force_login(lead)

    response = client.post(
        f"{BASE}INC-2026-0001/updates/",
        {
            "audience": "public",
            "texts": {"en": "x"},
            "eta": (timezone.now() + dt.timedelta(hours=1)).isoformat(),
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == invalid({"eta_source": [ETA_NEEDS_BANK_SOURCE]})
    assert IncidentUpdate.objects.count() == 0


def test_a_follow_up_in_the_past_is_refused_by_the_api(client, lead, incident):
    client.force_login(lead)

    response = client.post(
        f"{BASE}INC-2026-0001/bank-contacts/",
        {
            "contacted_at": timezone.now().isoformat(),
            "channel": "phone",
            "summary": "x",
            "follow_up_due_at": "2020-01-01T00:00:00Z",
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == invalid(
        {"follow_up_due_at": ["The follow-up must be due in the future."]}
    )
    assert BankContact.objects.count() == 0
    assert RoleAssignment.objects.count() == 0


def test_an_unknown_reference_is_404(client, lead, db):
    client.force_login(lead)
    assert client.get(f"{BASE}INC-2026-9999/").status_code == 404


def test_a_contact_citing_is_listed_with_evidence_flag(client, lead, incident):
    BankContactFactory(incident=incident)
    client.force_login(lead)
    row = client.get(f"{BASE}INC-2026-0001/bank-contacts/").json()["results"][0]
    assert row["has_evidence"] is False
