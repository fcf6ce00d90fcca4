"""The dashboard, the review screens, exports, the feedback form and the API."""

import pytest
import time_machine

from impact.aftermath import incident_aftermath_run
from incidents.models import CompensationOffer, FeedbackAnswer, OutageRole, Review
from incidents.services.review import feedback_token
from outage_desk.tokens import api_token_create
from tests.impact.data import NOW, known_outage

pytestmark = pytest.mark.django_db

REF = "INC-2026-0100"


@pytest.fixture
def outage(roles):
    incident, _people = known_outage()
    return incident


@pytest.mark.parametrize(
    ("persona", "status"), [("lead", 200), ("finance", 200), ("clerk", 403)]
)
def test_the_dashboard_is_for_leads_and_finance(
    client, request, outage, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/impact/{REF}/")
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert 'id="impact-charts" type="application/json"' in body
        assert "vendor/chartjs/chart.umd.min.js" in body
        assert "CNY 1500.00 (2); GBP 150.50 (2)" in body


def test_the_dashboard_of_an_unknown_incident_is_404(client, lead, outage):
    client.force_login(lead)
    assert client.get("/impact/INC-2026-9999/").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_the_api_gives_the_same_figures_with_amounts_as_strings(client, lead, outage):
    _token, key = api_token_create(user=lead, name="bi")
    response = client.get(f"/api/v1/impact/{REF}/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    data = response.json()
    assert data["customers_affected"] == 4
    assert data["deposits"]["by_currency"] == [
        {"currency": "CNY", "count": 2, "sum": "1500.00"},
        {"currency": "GBP", "count": 2, "sum": "150.50"},
    ]
    assert data["unconfirmed"]["buckets"]["from_1h_to_4h"] == 3
    assert data["first_notice"]["seconds"] == 720
    assert data["notice_coverage"] == {"told": 2, "affected": 4, "percent": "50.00"}
    assert data["missed_updates"]["count"] == 1
    assert data["estimated_cost"]["total"] == [
        {"currency": "CNY", "amount": "15.00"},
        {"currency": "GBP", "amount": "15.00"},
    ]


@pytest.mark.parametrize(("persona", "status"), [("clerk", 403), (None, 401)])
def test_the_api_refuses_others(client, request, outage, persona, status):
    headers = {}
    if persona:
        _token, key = api_token_create(user=request.getfixturevalue(persona), name="x")
        headers["HTTP_AUTHORIZATION"] = f"Token {key}"
    assert client.get(f"/api/v1/impact/{REF}/", **headers).status_code == status


def test_the_lead_completes_the_review_on_screen_and_then_closes(client, lead, outage):
    # given
    Review.objects.create(incident=outage)
    client.force_login(lead)
    # when: findings, one action item, complete, close
    client.post(
        f"/impact/{REF}/review/save/",
        {"root_cause": "Cert expired", "went_well": "Capture", "went_badly": "Notice"},
    )
    client.post(
        f"/impact/{REF}/review/actions/",
        {
            "kind": "preventive",
            "title": "Alert on cert expiry",
            "owner": lead.pk,
            "due_on": "2026-12-15",
        },
    )
    refused = client.post(f"/impact/{REF}/close/", follow=True)
    assert "closes only when its review is complete" in refused.content.decode()
    client.post(f"/impact/{REF}/review/complete/")
    response = client.post(f"/impact/{REF}/close/")
    # then
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.closed_at is not None
    review = Review.objects.get(incident=outage)
    assert review.completed_by == lead
    assert list(review.action_items.values_list("title", flat=True)) == [
        "Alert on cert expiry"
    ]


def test_the_review_page_offers_approval_only_to_the_comms_approver(
    client, lead, finance, outage
):
    Review.objects.create(incident=outage)
    client.force_login(lead)
    assert (
        'data-testid="approve-offers"'
        not in client.get(f"/impact/{REF}/review/").content.decode()
    )
    refused = client.post(f"/impact/{REF}/offers/approve/", follow=True)
    assert "Only the comms approver" in refused.content.decode()
    outage.role_assignments.create(role=OutageRole.COMMS_APPROVER, user=finance)
    client.force_login(finance)
    page = client.get(f"/impact/{REF}/review/").content.decode()
    assert 'data-testid="approve-offers"' in page
    client.post(f"/impact/{REF}/offers/approve/")
    assert not CompensationOffer.objects.filter(
        incident=outage, status="proposed"
    ).exists()


def test_the_review_exports_as_markdown_and_pdf(client, lead, outage):
    review = Review.objects.create(incident=outage, root_cause="Cert expired")

    incident_aftermath_run(incident=outage)
    review.refresh_from_db()
    client.force_login(lead)
    md = client.get(f"/impact/{REF}/review.md")
    assert md["Content-Type"] == "text/markdown; charset=utf-8"
    text = md.content.decode()
    assert text.startswith(f"# Post-incident review: {REF}")
    assert "- Customers affected: 4" in text
    assert "| in_person | CNY | 2 | 1500.00 |" in text
    assert "## Root cause\n\nCert expired" in text
    pdf = client.get(f"/impact/{REF}/review.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/impact/{REF}/review.txt").status_code == 404


def test_the_feedback_form_takes_one_answer_per_recipient(client, outage):
    token = feedback_token(incident=outage, channel="email", address="a@example.com")
    page = client.get(f"/feedback/{token}/")
    assert page.status_code == 200
    assert "How satisfied are you" in page.content.decode()
    done = client.post(f"/feedback/{token}/", {"score": "5"})
    assert 'data-testid="thanks"' in done.content.decode()
    again = client.post(f"/feedback/{token}/", {"score": "1"})
    assert "already answered" in again.content.decode()
    assert list(FeedbackAnswer.objects.values_list("score", flat=True)) == [5]
    assert client.get("/feedback/forged-token/").status_code == 404


def test_the_review_shows_feedback_answers(client, lead, outage):
    Review.objects.create(incident=outage)
    for n, score in enumerate([5, 4, 4]):
        FeedbackAnswer.objects.create(
            incident=outage, recipient_digest=str(n), score=score
        )
    client.force_login(lead)
    page = client.get(f"/impact/{REF}/review/").content.decode()
    assert "3 answers, average 4.33 of 5" in page


def test_offers_are_tracked_from_the_review_page(client, lead, outage):
    Review.objects.create(incident=outage)
    offer = CompensationOffer.objects.get(incident=outage, status="sent")
    client.force_login(lead)
    client.post(
        f"/impact/{REF}/offers/advance/", {"offer": offer.pk, "status": "accepted"}
    )
    offer.refresh_from_db()
    assert offer.status == "accepted"
    assert offer.accepted_at is not None
