"""Offline capture in Chromium: keep deposits on the device, send each exactly once."""

import csv
import io
from decimal import Decimal

import pytest

from deposits.models import Deposit
from tests.browser.conftest import check_page, login
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)

COUNT = 20


@pytest.fixture
def incident(db):
    return IncidentFactory(reference="INC-2026-0001")


def open_capture(page):
    page.goto(f"{page.base_url}/deposits/")
    page.wait_for_selector("#offline-box[data-offline-ready=true]")


def pending(page) -> int:
    return int(page.get_by_test_id("offline-pending").get_attribute("data-count"))


def wait_pending(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('[data-testid=offline-pending]')"
        ".dataset.count === String(n)",
        arg=count,
    )


def enter_offline(page, n: int, *, amount: str | None = None) -> None:
    page.fill("#id_account", f"GB{n:08d}")
    page.fill("#id_payer_name", f"Payer {n}")
    page.fill("#id_amount", amount or f"{100 + n}.25")
    page.fill("#id_reference", f"SLIP-{n}")
    page.click("#capture-submit")


def go_offline_and_enter(page, count: int) -> None:
    page.context.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")
    for n in range(1, count + 1):
        enter_offline(page, n)
        wait_pending(page, n)


def test_twenty_deposits_taken_offline_arrive_exactly_once(make_page, clerk, incident):
    page = make_page()
    login(page, "alice")
    open_capture(page)
    check_page(page, shot="clerk-capture-online-en")

    go_offline_and_enter(page, COUNT)
    assert Deposit.objects.count() == 0
    (worker,) = page.context.service_workers
    no_network = "fetch('/healthz').then(r => r.status, () => 'no network')"
    assert worker.evaluate(no_network) == "no network"
    response = page.reload()  # still offline: the service worker answers
    assert response is not None and response.from_service_worker
    wait_pending(page, COUNT)
    assert "not yet sent" in page.get_by_test_id("offline-pending").inner_text()
    check_page(page, shot="clerk-capture-offline-en")

    page.context.set_offline(False)
    wait_pending(page, 0)

    deposits = Deposit.objects.all()
    assert deposits.count() == COUNT
    assert {d.source for d in deposits} == {Deposit.Source.OFFLINE}
    assert all(d.device_time is not None for d in deposits)
    assert sorted(d.amount for d in deposits) == [
        Decimal(f"{100 + n}.25") for n in range(1, COUNT + 1)
    ]
    assert {d.recorded_by.username for d in deposits} == {"alice"}


def test_a_sync_cut_off_midway_still_sends_each_deposit_once(
    make_page, clerk, incident
):
    page = make_page()
    login(page, "alice")
    open_capture(page)
    go_offline_and_enter(page, COUNT)
    calls = {"n": 0}

    def flaky(route):
        calls["n"] += 1
        if calls["n"] in (4, 9):
            route.fetch()  # the server records it, the answer is lost
            route.abort()
        elif calls["n"] in (5, 12):
            route.abort()  # never reaches the server
        else:
            route.continue_()

    page.route("**/api/v1/deposits/", flaky)
    page.context.set_offline(False)
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=offline-pending]')"
        ".dataset.count) < 20"
    )
    for _attempt in range(
        20
    ):  # "Send now" until all are through (it may hide meanwhile)
        if pending(page) == 0:
            break
        page.evaluate("() => document.getElementById('offline-send').click()")
        page.wait_for_timeout(300)
    wait_pending(page, 0)

    assert Deposit.objects.count() == COUNT
    assert Deposit.objects.values("client_uuid").distinct().count() == COUNT
    assert calls["n"] > COUNT


def test_a_uuid_conflict_leaves_the_queue_as_needs_supervisor(
    make_page, clerk, incident
):
    page = make_page()
    login(page, "alice")
    open_capture(page)
    page.context.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")
    uuid = page.input_value("#id_client_uuid")
    enter_offline(page, 1)
    wait_pending(page, 1)
    Deposit.objects.create(  # the server already has another deposit with this UUID
        client_uuid=uuid,
        incident=incident,
        branch=clerk.branch,
        recorded_by=clerk,
        channel="cash",
        account="GB99999999",
        payer_name="Someone else",
        amount=Decimal("5.00"),
        currency="GBP",
        received_at=incident.impact_started_at,
        receipt_number="HQ-000900",
        source=Deposit.Source.FORM,
    )

    page.context.set_offline(False)
    wait_pending(page, 0)

    problem = page.get_by_test_id("offline-problems").locator("li")
    assert problem.get_attribute("data-status") == "conflict"
    assert "Needs supervisor" in problem.inner_text()
    assert Deposit.objects.count() == 1


def test_offline_limits_refuse_in_the_browser(make_page, clerk, incident):
    branch = clerk.branch
    branch.offline_max_amount = Decimal("500.00")
    branch.offline_max_total = Decimal("800.00")
    branch.save()
    page = make_page()
    login(page, "alice")
    open_capture(page)
    page.context.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")

    enter_offline(page, 1, amount="500.01")
    page.wait_for_selector("#offline-message .alert-danger")
    assert "at most 500.00 GBP" in page.inner_text("#offline-message")
    enter_offline(page, 2, amount="500.00")
    wait_pending(page, 1)
    enter_offline(page, 3, amount="300.01")
    page.wait_for_selector("#offline-message .alert-danger")
    assert "800.00 GBP" in page.inner_text("#offline-message")

    assert pending(page) == 1
    assert Deposit.objects.count() == 0


def test_kept_deposits_export_as_the_canonical_csv(make_page, clerk, incident):
    from deposits.services.imports import DEPOSIT_COLUMNS, deposits_import

    page = make_page()
    login(page, "alice")
    open_capture(page)
    go_offline_and_enter(page, 3)

    with page.expect_download() as download:
        page.click("#offline-export")
    text = open(download.value.path(), encoding="utf-8-sig").read()

    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == DEPOSIT_COLUMNS
    assert [r["amount"] for r in rows] == ["101.25", "102.25", "103.25"]
    result = deposits_import(source=io.StringIO(text), incident=incident)
    assert result.created == 3
    assert Deposit.objects.filter(source=Deposit.Source.IMPORT).count() == 3

    # The device comes back online: its sends land on the imported deposits.
    page.context.set_offline(False)
    wait_pending(page, 0)
    assert Deposit.objects.count() == 3


def test_a_form_save_whose_answer_is_lost_is_kept_and_recorded_once(
    make_page, clerk, incident
):
    page = make_page()
    login(page, "alice")
    open_capture(page)

    def lose_answer(route):
        if route.request.method == "POST":
            route.fetch()  # the server records it; the clerk never hears back
            route.abort()
        else:
            route.continue_()

    page.route("**/deposits/", lose_answer)
    enter_offline(page, 1)
    wait_pending(page, 1)
    assert Deposit.objects.count() == 1
    page.unroute("**/deposits/")

    page.evaluate("() => document.getElementById('offline-send').click()")
    wait_pending(page, 0)

    deposit = Deposit.objects.get()
    assert deposit.source == Deposit.Source.FORM
    assert page.get_by_test_id("offline-problems").locator("li").count() == 0
