"""Incident leads and finance read the impact dashboard and the review in a browser."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from deposits.models import Deposit
from impact.aftermath import incident_aftermath_run
from incidents.models import ActionItem, CompensationOffer, OutageRole
from incidents.services.review import action_item_add, feedback_token, review_update
from tests.browser.conftest import SCREENSHOTS, check_page, login, set_language
from tests.deposits.factories import DepositFactory
from tests.impact.data import at, known_outage

pytestmark = pytest.mark.django_db(transaction=True)

REF = "INC-2026-0100"


@pytest.fixture
def outage(lead, finance):
    incident, people = known_outage()
    hq = people["c1"].branch
    # a busier morning, so the chart shows the shape of the day
    for minutes, channel in [(20, "phone"), (45, "cash"), (70, "phone"), (95, "email")]:
        DepositFactory(
            incident=incident,
            branch=hq,
            channel=channel,
            received_at=at(8) + dt.timedelta(minutes=minutes),
            amount=Decimal("75.00"),
            status=Deposit.Status.CONFIRMED
            if minutes < 60
            else Deposit.Status.PROVISIONAL,
        )
    incident.role_assignments.create(role=OutageRole.LEAD, user=lead)
    incident.role_assignments.create(role=OutageRole.COMMS_APPROVER, user=finance)
    review = incident_aftermath_run(incident=incident)
    review_update(
        review=review,
        actor=lead,
        root_cause="The core gateway's TLS certificate expired at 07:58 UTC.",
        went_well="Branches switched to manual capture within 15 minutes.",
        went_badly="The promised 09:00 update went out five minutes late.",
    )
    action_item_add(
        review=review,
        actor=lead,
        kind=ActionItem.Kind.PREVENTIVE,
        title="Alert 30 days before any certificate expires",
        owner=lead,
        due_on=dt.date(2026, 12, 15),
    )
    return incident


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_lead_reads_the_impact_dashboard(make_page, outage, language):
    page = make_page()
    login(page, "dana")
    if language != "en":
        set_language(page, language)

    page.goto(f"{page.base_url}/impact/{REF}/")

    expect(page.get_by_test_id("headline")).to_be_visible()
    # the charts drew (Chart.js sizes each canvas)
    page.wait_for_function(
        "document.getElementById('chart-deposits').getAttribute('style') !== null"
    )
    check_page(page, shot=f"impact-dashboard-{language}")


def test_a_lead_reads_the_review_and_finance_approves_offers(make_page, outage):
    page = make_page()
    login(page, "dana")
    page.goto(f"{page.base_url}/impact/{REF}/review/")
    assert "Alert 30 days" in page.get_by_test_id("actions").inner_text()
    check_page(page, shot="impact-review-en")
    pdf = page.request.get(f"{page.base_url}/impact/{REF}/review.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "impact-review.pdf").write_bytes(pdf.body())

    finance_page = make_page()
    login(finance_page, "erin")
    finance_page.goto(f"{finance_page.base_url}/impact/{REF}/review/")
    finance_page.get_by_test_id("approve-offers").click()
    expect(finance_page.get_by_text("8 offers approved and sent.")).to_be_visible()
    assert not CompensationOffer.objects.filter(status="proposed").exists()
    check_page(finance_page, shot="impact-review-approved-en")


def test_a_customer_answers_the_feedback_question(make_page, outage):
    token = feedback_token(incident=outage, channel="email", address="x@example.com")
    page = make_page(language="zh-hans")
    page.goto(f"{page.base_url}/feedback/{token}/")
    check_page(page, shot="impact-feedback-zh-hans")
    page.get_by_label("满意", exact=True).check()
    page.get_by_role("button", name="发送").click()
    expect(page.get_by_test_id("thanks")).to_be_visible()
