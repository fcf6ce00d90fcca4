"""The discrepancy queue and the run overview with 10,000 open items.

Their cost is held by query counts (tests/reconciliation), not by timing here.
"""

import pytest

from bench.reconciliation_queue_seed import seed
from tests.browser.conftest import check_page, login, set_language

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def big_incident(finance, finance2):
    return seed(items=10_000)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_finance_works_the_queue_and_overview_with_10000_items(
    make_page, finance, big_incident, language
):
    page = make_page()
    login(page, finance.username)
    if language != "en":
        set_language(page, language)
    ref = big_incident.reference
    page.goto(f"{page.base_url}/reconciliation/{ref}/queue/")
    assert page.locator("tbody tr").count() == 50
    check_page(page, shot=f"reconciliation-queue-{language}")
    if language == "en":
        # The status filter: a dropdown of ticks, narrowed to one state.
        status = page.get_by_role("button", name="Status")
        assert status.inner_text() == "Open, Assigned, Waiting for approval, Reopened"
        status.click()
        for label in ("Assigned", "Waiting for approval", "Reopened"):
            page.get_by_label(label, exact=True).uncheck()
        check_page(page, shot="reconciliation-queue-status")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**state=open**")
        assert "state=assigned" not in page.url
        assert page.get_by_role("button", name="Status").inner_text() == "Open"
        assert page.locator("tbody tr").count() == 50

    page.goto(f"{page.base_url}/reconciliation/{ref}/overview/")
    page.wait_for_function("() => document.querySelectorAll('canvas').length === 2")
    check_page(page, shot=f"reconciliation-overview-{language}")
