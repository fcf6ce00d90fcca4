"""Incidents and the status page in the API: what the staff screens and admin allow."""

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Component, RoleAssignment, StatusBanner, Subscriber
from incidents.services import bank_contact_record, role_assign
from outage_desk.models import AuditEvent
from tests.incidents.factories import (
    ComponentFactory,
    IncidentFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db
REF = "INC-2026-0001"


def as_user(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def incident(db):
    return IncidentFactory(reference=REF)


def entry(incident, user, **kwargs):
    values = {
        "incident": incident,
        "contacted_at": timezone.now() - dt.timedelta(minutes=5),
        "channel": "phone",
        "staff": user,
        "recorded_by": user,
        "summary": '=HYPERLINK("http://evil")',
    }
    return bank_contact_record(**{**values, **kwargs})


def test_a_lead_ends_a_role_assignment_once_and_it_is_audited(incident, lead, clerk):
    assignment = role_assign(
        incident=incident, role="phone_desk", user=clerk, assigned_by=lead
    )
    url = f"/api/v1/incidents/{REF}/roles/{assignment.pk}/end/"

    first = as_user(lead).post(url)
    again = as_user(lead).post(url)

    assert first.status_code == 200
    assert first.json()["ended_at"] is not None
    assert again.json()["ended_at"] == first.json()["ended_at"]
    assert (
        AuditEvent.objects.filter(
            action="incident.role_released", object_id=str(assignment.pk)
        ).count()
        == 1
    )


def test_ending_a_role_needs_the_lead_and_the_right_incident(incident, lead, clerk):
    assignment = role_assign(
        incident=incident, role="fixer", user=clerk, assigned_by=lead
    )
    other = IncidentFactory(reference="INC-2026-0002")

    by_clerk = as_user(clerk).post(
        f"/api/v1/incidents/{REF}/roles/{assignment.pk}/end/"
    )
    wrong = as_user(lead).post(
        f"/api/v1/incidents/{other.reference}/roles/{assignment.pk}/end/"
    )

    assert by_clerk.status_code == 403
    assert by_clerk.json()["error"]["code"] == "permission_denied"
    assert wrong.status_code == 404
    assert wrong.json()["error"]["code"] == "not_found"
    assert RoleAssignment.objects.get().ended_at is None
    assert not AuditEvent.objects.filter(action="incident.role_released").exists()


def test_evidence_is_downloaded_by_staff_who_see_incidents(
    incident, lead, clerk, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    proof = entry(
        incident, lead, evidence=SimpleUploadedFile("proof.pdf", b"%PDF-1 proof")
    )
    plain = entry(incident, lead)
    url = f"/api/v1/incidents/{REF}/bank-contacts/{proof.pk}/evidence/"

    response = as_user(clerk).get(url)
    none = as_user(clerk).get(
        f"/api/v1/incidents/{REF}/bank-contacts/{plain.pk}/evidence/"
    )
    anonymous = APIClient().get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="proof.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF-1 proof"
    assert none.status_code == 404
    assert anonymous.status_code == 401


def test_the_bank_contact_log_exports_as_csv_and_pdf(incident, lead):
    entry(incident, lead, bank_ticket_ref="BNK-7")

    as_csv = as_user(lead).get(f"/api/v1/incidents/{REF}/bank-contacts.csv")
    as_pdf = as_user(lead).get(f"/api/v1/incidents/{REF}/bank-contacts.pdf")
    missing = as_user(lead).get("/api/v1/incidents/INC-2026-0404/bank-contacts.csv")

    assert as_csv.status_code == 200
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        as_csv["Content-Disposition"]
        == f'attachment; filename="{REF}-bank-contacts.csv"'
    )
    (row,) = csv.DictReader(io.StringIO(as_csv.content.decode()))
    assert row["bank_ticket_ref"] == "BNK-7"
    assert row["summary"] == '\'=HYPERLINK("http://evil")'  # formulas neutralised
    assert as_pdf["Content-Type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF-")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_the_banner_is_read_by_staff_and_switched_by_publishers(lead, clerk):
    before = as_user(clerk).get("/api/v1/status-page/banner/")
    refused = as_user(clerk).post(
        "/api/v1/status-page/banner/", {"active": True}, format="json"
    )
    assert StatusBanner.objects.filter(active=True).count() == 0

    on = as_user(lead).post(
        "/api/v1/status-page/banner/", {"active": True}, format="json"
    )

    assert before.json() == {"active": False, "changed_by": None, "changed_at": None}
    assert refused.status_code == 403
    assert on.status_code == 200
    assert on.json()["active"] is True
    assert on.json()["changed_by"] == "dana"
    assert AuditEvent.objects.filter(action="status.banner_on").count() == 1


def test_the_status_publisher_of_an_open_incident_may_switch_the_banner(
    incident, lead, clerk
):
    role_assign(
        incident=incident, role="status_publisher", user=clerk, assigned_by=lead
    )

    response = as_user(clerk).post(
        "/api/v1/status-page/banner/", {"active": True}, format="json"
    )

    assert response.status_code == 200
    assert StatusBanner.objects.get().active is True


def test_a_bad_banner_body_is_named_and_changes_nothing(lead):
    wrong_type = as_user(lead).post(
        "/api/v1/status-page/banner/", {"active": "maybe"}, format="json"
    )
    unknown = as_user(lead).post(
        "/api/v1/status-page/banner/", {"active": True, "colour": "red"}, format="json"
    )
    missing = as_user(lead).post("/api/v1/status-page/banner/", {}, format="json")

    assert [r.status_code for r in (wrong_type, unknown, missing)] == [400] * 3
    assert list(wrong_type.json()["error"]["fields"]) == ["active"]
    assert unknown.json()["error"]["fields"] == {"colour": ["Unknown field."]}
    assert list(missing.json()["error"]["fields"]) == ["active"]
    assert not StatusBanner.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="status.").exists()


def test_leads_add_and_change_components_audited(lead, clerk):
    listed = as_user(clerk).get("/api/v1/status-page/components/")
    added = as_user(lead).post(
        "/api/v1/status-page/components/",
        {"name": "Card payments", "name_translations": {"zh-hans": "银行卡支付"}},
        format="json",
    )
    pk = added.json()["id"]
    moved = as_user(lead).patch(
        f"/api/v1/status-page/components/{pk}/", {"position": 3}, format="json"
    )
    by_clerk = as_user(clerk).post(
        "/api/v1/status-page/components/", {"name": "Transfers"}, format="json"
    )

    assert listed.json()["results"] == []
    assert added.status_code == 201
    assert moved.json() == {
        "id": pk,
        "name": "Card payments",
        "name_translations": {"zh-hans": "银行卡支付"},
        "position": 3,
    }
    assert by_clerk.status_code == 403
    assert Component.objects.count() == 1
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="status.")
    ] == [
        "status.component_added",
        "status.component_changed",
    ]


def test_a_duplicate_component_name_is_named_and_changes_nothing(lead):
    ComponentFactory(name="Transfers")

    response = as_user(lead).post(
        "/api/v1/status-page/components/", {"name": "Transfers"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["name"]
    assert Component.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="status.").exists()


def test_subscribers_are_listed_masked_by_cursor_to_leads_only(lead, clerk):
    SubscriberFactory(address="alice.long@example.com")
    SubscriberFactory(address="bob@example.com", unsubscribed_at=timezone.now())
    SubscriberFactory(channel="sms", address="+447700900123")

    page = as_user(lead).get("/api/v1/status-page/subscribers/?page_size=2").json()
    rest = as_user(lead).get(page["next"]).json()
    active = as_user(lead).get("/api/v1/status-page/subscribers/?active=true").json()
    refused = as_user(clerk).get("/api/v1/status-page/subscribers/")

    assert [s["address"] for s in page["results"] + rest["results"]] == [
        "+4***23",
        "bo***@example.com",
        "al***@example.com",
    ]
    assert rest["next"] is None
    assert [s["channel"] for s in active["results"]] == ["sms", "email"]
    assert refused.status_code == 403
    assert Subscriber.objects.count() == 3


@pytest.mark.parametrize("query", ["?format=csv", "?format=pdf", "?format=bin"])
def test_export_errors_stay_json_whatever_format_is_asked(lead, query):
    for path in ("bank-contacts.csv", "bank-contacts.pdf", "bank-contacts/1/evidence/"):
        response = as_user(lead).get(f"/api/v1/incidents/INC-2026-0404/{path}{query}")

        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"
