"""A clerk records deposits and prints a receipt; a supervisor approves the large one."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from deposits.models import Deposit
from tests.browser.conftest import check_page, login, set_language
from tests.deposits.factories import ApprovalThresholdFactory
from tests.factories import CustomerFactory
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def record(page, *, search: str, amount: str) -> None:
    page.fill("#customer-search", search)
    page.locator("#customer-results [data-customer-id]").first.click()
    page.fill("#id_amount", amount)
    page.fill("#id_reference", f"SLIP-{amount}")
    page.click("#capture-submit")
    page.get_by_test_id("saved").wait_for()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_clerk_records_and_a_supervisor_approves(
    make_page, clerk, supervisor, branch, language
):
    IncidentFactory(reference="INC-2026-0001")
    CustomerFactory(account="GB00001234", name="Alice Thompson", branch=branch)
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("1000.00"))
    page = make_page()
    login(page, "alice")
    if language != "en":
        set_language(page, language)

    # Find the customer and record a deposit; the receipt is ready to print.
    page.goto(f"{page.base_url}/deposits/")
    page.fill("#customer-search", "Thomp")
    page.locator("#customer-results [data-customer-id]").first.wait_for()
    check_page(page, shot=f"clerk-customer-search-{language}")
    page.locator("#customer-results [data-customer-id]").first.click()
    assert page.input_value("#id_account") == "GB00001234"
    page.fill("#id_amount", "250.00")
    page.click("#capture-submit")
    page.get_by_test_id("saved").wait_for()
    check_page(page, shot=f"clerk-recorded-{language}")
    small = Deposit.objects.get()
    assert small.status == Deposit.Status.PROVISIONAL

    page.get_by_test_id("saved").locator("a").click()
    page.get_by_test_id("receipt").wait_for()
    assert page.get_by_test_id("amount").inner_text() == "250.00 GBP"
    expect(page.locator("[data-print]")).to_be_visible()
    check_page(page, shot=f"clerk-receipt-{language}")
    pdf = page.request.get(f"{page.base_url}/deposits/{small.pk}/receipt.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    page.emulate_media(media="print")
    assert not page.locator("nav").is_visible()
    page.emulate_media(media="screen")

    # A large deposit waits for four eyes.
    page.goto(f"{page.base_url}/deposits/")
    record(page, search="GB0000", amount="5000.00")
    large = Deposit.objects.get(amount=Decimal("5000.00"))
    assert large.status == Deposit.Status.PENDING_APPROVAL

    boss = make_page()
    login(boss, "bob")
    if language != "en":
        set_language(boss, language)
    boss.goto(f"{boss.base_url}/deposits/supervision/")
    check_page(boss, shot=f"supervisor-approvals-{language}")
    boss.locator(f"form[action='/deposits/{large.pk}/approve/'] button").click()
    boss.wait_for_load_state()

    large.refresh_from_db()
    assert large.status == Deposit.Status.PROVISIONAL
    assert large.approved_by.username == "bob"
    check_page(boss, shot=f"supervisor-approved-{language}")
