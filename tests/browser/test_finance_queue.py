"""The discrepancy queue and the run overview with 10,000 open items."""

import time

import pytest

from bench.reconciliation_queue_seed import seed
from tests.browser.conftest import check_page, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def big_incident(finance, finance2):
    return seed(items=10_000)


def test_finance_works_the_queue_and_overview_with_10000_items(
    make_page, finance, big_incident
):
    page = make_page()
    login(page, finance.username)
    ref = big_incident.reference
    began = time.perf_counter()
    page.goto(f"{page.base_url}/reconciliation/{ref}/queue/")
    assert time.perf_counter() - began < 5
    assert page.locator("tbody tr").count() == 50
    check_page(page, shot="reconciliation-queue")

    page.goto(f"{page.base_url}/reconciliation/{ref}/overview/")
    page.wait_for_function("() => document.querySelectorAll('canvas').length === 2")
    check_page(page, shot="reconciliation-overview")
