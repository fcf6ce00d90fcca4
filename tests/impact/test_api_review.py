"""The review through the API: read, findings, action items, complete, close, export."""

import pytest

from incidents.models import ActionItem, Incident, Review
from incidents.services.review import (
    ACTION_ALREADY_DONE,
    CLOSE_ALREADY,
    CLOSE_REVIEW_INCOMPLETE,
    REVIEW_ALREADY_COMPLETE,
    REVIEW_NEEDS,
    REVIEW_NOT_LEAD,
)
from outage_desk.models import AuditEvent
from tests.impact.api_support import API, REF, error_of, impact_state
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db

FINDINGS = {
    "root_cause": "Expired certificate on the gateway.",
    "went_well": "Manual capture started in minutes.",
    "went_badly": "The first notice was late.",
}


def audits(action):
    return list(
        AuditEvent.objects.filter(action=action).values_list(
            "actor__username", flat=True
        )
    )


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("lead", 200),
        ("finance", 200),
        ("clerk", 403),
        ("supervisor", 403),
        ("outsider", 403),
    ],
)
def test_the_review_is_read_by_leads_and_finance(api_as, reviewed, persona, status):
    response = api_as(persona).get(f"{API}/review/")
    assert response.status_code == status
    if status == 403:
        assert error_of(response)["code"] == "permission_denied"


def test_the_review_without_a_token_is_401(client, reviewed):
    response = client.get(f"{API}/review/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_the_review_reads_as_on_the_page(api_as, reviewed, lead):
    # given
    Review.objects.filter(incident=reviewed).update(root_cause="Cert")
    # when
    data = api_as("lead").get(f"{API}/review/").json()
    # then
    assert data["incident"] == REF
    assert data["root_cause"] == "Cert"
    assert data["completed_at"] is None
    assert data["may_edit"] is True
    assert data["may_approve_offers"] is False
    assert data["proposed_offers"] == 1
    assert {
        "status": "sent",
        "offer_kind": "fee_waiver",
        "currency": "GBP",
        "count": 1,
        "cost": "5.00",
    } in data["offers"]
    assert data["feedback"] == {
        "count": 0,
        "average": None,
        "per_score": {str(n): 0 for n in range(1, 6)},
    }
    assert {e["kind"] for e in data["timeline"]} >= {"window", "public", "internal"}
    assert data["action_items"] == []


def test_no_review_before_restore_prepares_it_is_404(api_as, outage):
    response = api_as("lead").get(f"{API}/review/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_an_unknown_incident_is_404(api_as, reviewed):
    response = api_as("lead").get("/api/v1/impact/INC-2026-9999/review/")
    assert response.status_code == 404


def test_the_lead_writes_the_findings_sent_and_keeps_the_rest(api_as, reviewed):
    Review.objects.filter(incident=reviewed).update(went_well="Kept")
    response = api_as("lead").patch(
        f"{API}/review/", {"root_cause": " Cert ", "went_badly": "Late"}, format="json"
    )
    assert response.status_code == 200
    review = Review.objects.get(incident=reviewed)
    assert (review.root_cause, review.went_well, review.went_badly) == (
        "Cert",
        "Kept",
        "Late",
    )
    assert response.json()["root_cause"] == "Cert"
    assert audits("review.updated") == ["dana"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"root_casue": "typo"}, "root_casue"),
        ({"root_cause": ["a", "list"]}, "root_cause"),
        ({"went_well": None}, "went_well"),
    ],
)
def test_bad_findings_are_refused_naming_the_field_and_change_nothing(
    api_as, reviewed, body, field
):
    before = impact_state()
    response = api_as("lead").patch(f"{API}/review/", body, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert field in error_of(response)["fields"]
    assert impact_state() == before


def test_who_is_not_the_lead_may_not_edit_the_review(api_as, reviewed):
    before = impact_state()
    response = api_as("finance").patch(f"{API}/review/", FINDINGS, format="json")
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "permission_denied",
        "message": REVIEW_NOT_LEAD,
    }
    assert impact_state() == before


def test_the_review_completes_only_with_every_finding(api_as, reviewed):
    api = api_as("lead")
    api.patch(f"{API}/review/", {**FINDINGS, "went_badly": ""}, format="json")
    before = impact_state()
    # when: one finding is missing
    refused = api.post(f"{API}/review/complete/")
    # then
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "conflict"
    assert error_of(refused)["fields"] == {
        "went_badly": [REVIEW_NEEDS.format(field="what went badly")]
    }
    assert impact_state() == before
    # when: filled in
    api.patch(f"{API}/review/", FINDINGS, format="json")
    done = api.post(f"{API}/review/complete/")
    # then
    assert done.status_code == 200
    assert done.json()["completed_by"] == "dana"
    assert Review.objects.get(incident=reviewed).completed_at is not None
    assert audits("review.completed") == ["dana"]
    # and it no longer changes
    late = api.patch(f"{API}/review/", {"root_cause": "Other"}, format="json")
    assert late.status_code == 409
    assert error_of(late)["fields"] == {
        "review": [REVIEW_ALREADY_COMPLETE.format(reference=REF)]
    }
    assert Review.objects.get(incident=reviewed).root_cause == FINDINGS["root_cause"]


def test_finance_may_not_complete_the_review(api_as, reviewed):
    Review.objects.filter(incident=reviewed).update(**FINDINGS)
    before = impact_state()
    response = api_as("finance").post(f"{API}/review/complete/")
    assert response.status_code == 403
    assert impact_state() == before


def test_the_incident_closes_only_after_its_review_is_complete(api_as, reviewed):
    api = api_as("lead")
    before = impact_state()
    refused = api.post(f"{API}/close/")
    assert refused.status_code == 409
    assert error_of(refused)["fields"] == {
        "review": [CLOSE_REVIEW_INCOMPLETE.format(reference=REF)]
    }
    assert impact_state() == before
    api.patch(f"{API}/review/", FINDINGS, format="json")
    api.post(f"{API}/review/complete/")
    closed = api.post(f"{API}/close/")
    assert closed.status_code == 200
    assert closed.json()["reference"] == REF
    assert closed.json()["closed_at"] is not None
    assert Incident.objects.get(reference=REF).closed_at is not None
    assert audits("incident.closed") == ["dana"]
    again = api.post(f"{API}/close/")
    assert again.status_code == 409
    assert error_of(again)["fields"] == {
        "status": [CLOSE_ALREADY.format(reference=REF)]
    }


def test_only_who_runs_incidents_closes_them(api_as, reviewed):
    Review.objects.filter(incident=reviewed).update(**FINDINGS)
    before = impact_state()
    assert api_as("finance").post(f"{API}/close/").status_code == 403
    assert impact_state() == before


ITEM = {
    "kind": "preventive",
    "title": "Alert on cert expiry",
    "owner": "erin",
    "due_on": "2026-12-15",
}


def test_the_lead_adds_action_items_and_lists_them(api_as, reviewed, finance):
    api = api_as("lead")
    response = api.post(f"{API}/review/actions/", ITEM, format="json")
    assert response.status_code == 201
    assert response.json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "kind": "preventive",
        "title": "Alert on cert expiry",
        "owner": "erin",
        "due_on": "2026-12-15",
        "done_at": None,
        "created_at": "",
    }
    assert audits("review.action_added") == ["dana"]
    listed = api.get(f"{API}/review/actions/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["title"] == "Alert on cert expiry"
    assert api.get(f"{API}/review/actions/?kind=detective").json()["count"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "urgent"}, "kind"),
        ({"title": "  "}, "title"),
        ({"owner": "nobody"}, "owner"),
        ({"due_on": "next week"}, "due_on"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_a_bad_action_item_is_refused_naming_the_field(
    api_as, reviewed, finance, change, field
):
    before = impact_state()
    response = api_as("lead").post(
        f"{API}/review/actions/", {**ITEM, **change}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert list(error_of(response)["fields"]) == [field]
    assert impact_state() == before


def test_finance_may_not_add_action_items(api_as, reviewed, finance):
    before = impact_state()
    response = api_as("finance").post(f"{API}/review/actions/", ITEM, format="json")
    assert response.status_code == 403
    assert error_of(response)["message"] == REVIEW_NOT_LEAD
    assert impact_state() == before


def test_the_owner_marks_an_action_item_done_once(api_as, reviewed, finance, lead):
    api_as("lead").post(f"{API}/review/actions/", ITEM, format="json")
    item = ActionItem.objects.get()
    erin = api_as("finance")
    done = erin.post(f"{API}/review/actions/{item.pk}/done/")
    assert done.status_code == 200
    assert done.json()["done_at"] is not None
    assert audits("review.action_done") == ["erin"]
    before = impact_state()
    again = erin.post(f"{API}/review/actions/{item.pk}/done/")
    assert again.status_code == 409
    assert error_of(again)["fields"] == {"item": [ACTION_ALREADY_DONE]}
    assert impact_state() == before


def test_who_neither_owns_nor_leads_may_not_mark_it_done(
    api_as, reviewed, finance, lead
):
    api_as("lead").post(
        f"{API}/review/actions/", {**ITEM, "owner": "dana"}, format="json"
    )
    item = ActionItem.objects.get()
    before = impact_state()
    response = api_as("finance").post(f"{API}/review/actions/{item.pk}/done/")
    assert response.status_code == 403
    assert impact_state() == before


def test_an_action_item_of_another_incident_is_404(api_as, reviewed, lead):
    other = IncidentFactory(reference="INC-2026-0200")
    review = Review.objects.create(incident=other)
    item = ActionItem.objects.create(
        review=review, kind="detective", title="x", owner=lead, due_on="2026-12-01"
    )
    response = api_as("lead").post(f"{API}/review/actions/{item.pk}/done/")
    assert response.status_code == 404
    assert ActionItem.objects.get(pk=item.pk).done_at is None


def test_the_review_downloads_as_markdown_and_pdf(api_as, reviewed):
    Review.objects.filter(incident=reviewed).update(root_cause="Cert expired")
    api = api_as("finance")
    md = api.get(f"{API}/review.md")
    assert md.status_code == 200
    assert md["Content-Type"] == "text/markdown; charset=utf-8"
    assert md["Content-Disposition"] == f'attachment; filename="review-{REF}.md"'
    assert md.content.decode().startswith(f"# Post-incident review: {REF}")
    assert "## Root cause\n\nCert expired" in md.content.decode()
    pdf = api.get(f"{API}/review.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("fmt", ["md", "pdf"])
def test_a_clerk_gets_no_review_file_but_a_json_error(api_as, reviewed, fmt):
    response = api_as("outsider").get(f"{API}/review.{fmt}", HTTP_ACCEPT="*/*")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "permission_denied"


def test_refresh_retakes_the_snapshot(api_as, reviewed):
    response = api_as("lead").post(f"{API}/refresh/")
    assert response.status_code == 200
    assert response.json()["impact"]["customers_affected"] == 4
    assert audits("review.prepared") == [None]
    assert api_as("finance").post(f"{API}/refresh/").status_code == 403


def test_refresh_of_an_unrestored_incident_is_refused(api_as, lead):
    IncidentFactory(reference="INC-2026-0300")
    before = impact_state()
    response = api_as("lead").post("/api/v1/impact/INC-2026-0300/refresh/")
    assert response.status_code == 409
    assert list(error_of(response)["fields"]) == ["incident"]
    assert impact_state() == before
