"""Finance imports the restored records, reconciles, resolves a discrepancy with a
second approver and downloads the report."""

import csv
import io
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import load_workbook
from playwright.sync_api import expect

from deposits.models import Deposit
from reconciliation.finance_models import ApprovalRequest, Case
from reconciliation.models import ImportBatch, Match
from reconciliation.resolutions import ERROR_OWN_REQUEST
from tests.browser.conftest import check_page, login, set_language
from tests.reconciliation.factories import deposit_make, incident_make

pytestmark = pytest.mark.django_db(transaction=True)

# The core system's restored credits in the canonical layout: two credits match a
# deposit, one was credited 1.50 short of its deposit, and one deposit has no credit.
RESTORED = (
    "external_id,account,amount,currency,value_date,counterparty,reference,description\n"
    "TX-1,GB00000001,100.00,GBP,2026-03-02,Ann Lee,INV-1,cash\n"
    "TX-2,GB00000002,250.50,GBP,2026-03-03,Bob Stone,,cash\n"
    "TX-4,GB00000004,398.50,GBP,2026-03-02,Cy Dee,INV-4,transfer\n"
)
TIMEOUT = 90_000  # a worker process starts and does the work


@pytest.fixture
def recorded(branch, clerk):
    incident = incident_make()
    for number, amount, account, payer, reference in [
        ("R-1", "100.00", "GB00000001", "Ann Lee", "INV-1"),
        ("R-2", "250.50", "GB00000002", "Bob Stone", ""),
        ("R-3", "70.00", "GB00000003", "Dan Fox", ""),
        ("R-4", "400.00", "GB00000004", "Cy Dee", "INV-4"),
    ]:
        deposit_make(
            incident,
            receipt_number=number,
            amount=amount,
            account=account,
            payer_name=payer,
            reference=reference,
            branch=branch,
            recorded_by=clerk,
        )
    Deposit.objects.update(status=Deposit.Status.PROVISIONAL)
    return incident


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_finance_reconciles_an_incident_with_a_second_approver(
    make_page, celery_worker, finance, finance2, recorded, language
):
    ref = recorded.reference
    page = make_page()
    login(page, "erin")
    if language != "en":
        set_language(page, language)

    # Choose the incident and upload the restored records.
    page.goto(f"{page.base_url}/reconciliation/")
    page.click(f"a[href='/reconciliation/{ref}/']")
    page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "restored.csv",
                "mimeType": "text/csv",
                "buffer": RESTORED.encode(),
            }
        ],
    )
    page.select_option("#id_format", "csv")
    check_page(page, shot=f"finance-import-{language}")
    page.click("form[action$='/upload/'] button[type=submit]")
    # The page follows the worker's progress and reloads when the import ends.
    page.locator("#progress tr[data-status=loaded]").wait_for(timeout=TIMEOUT)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_loaded) == (ImportBatch.Status.LOADED, 3)
    check_page(page, shot=f"finance-imported-{language}")

    # Run reconciliation; the run's matches and discrepancies appear when it ends.
    page.click("form[action$='/run/'] button:not([name])")
    page.locator("#run-title").wait_for(timeout=TIMEOUT)
    assert Match.objects.filter(status=Match.Status.PROPOSED).count() == 2
    check_page(page, shot=f"finance-run-{language}")

    # Confirm the two proposed matches: their deposits are confirmed.
    confirm = page.locator("form[action$='/confirm/'] button")
    for left in (1, 0):
        confirm.first.click()
        page.wait_for_load_state()
        expect(confirm).to_have_count(left)
    assert set(
        Deposit.objects.filter(status=Deposit.Status.CONFIRMED).values_list(
            "receipt_number", flat=True
        )
    ) == {"R-1", "R-2"}

    # The queue holds the short credit and the deposit missing from the system.
    page.click(f"a[href='/reconciliation/{ref}/queue/']")
    expect(page.locator("tbody tr")).to_have_count(2)
    check_page(page, shot=f"finance-queue-{language}")
    short = Case.objects.get(kind="amount_mismatch")
    page.click(f"a[href='/reconciliation/cases/{short.pk}/']")

    # Note why, then ask to write off the difference.
    page.fill("#id_note_text", "Transfer fee of 1.50 deducted by the sending bank.")
    page.click("form[action$='/note/'] button[type=submit]")
    page.wait_for_load_state()
    page.select_option("#id_reason_code", "bank_fee")
    page.click("form[action$='/write_off/'] button[type=submit]")
    page.wait_for_load_state()
    request = ApprovalRequest.objects.get()
    assert (request.amount, request.status) == (
        Decimal("-1.50"),
        ApprovalRequest.Status.PENDING,
    )
    check_page(page, shot=f"finance-write-off-requested-{language}")

    # Erin cannot approve her own request: no button, and a forged post is refused.
    page.click(f"a[href='/reconciliation/{ref}/approvals/']")
    decide = f"/reconciliation/approvals/{request.pk}/"
    expect(page.locator(f"form[action='{decide}']")).to_have_count(0)
    check_page(page, shot=f"finance-approvals-own-{language}")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    forged = page.request.post(
        f"{page.base_url}{decide}",
        form={
            "csrfmiddlewaretoken": token,
            "decision": "approve",
            "next": f"/reconciliation/{ref}/approvals/",
        },
    )
    with translation.override(language):
        refusal = str(ERROR_OWN_REQUEST)
    assert refusal in forged.text()
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.PENDING
    short.refresh_from_db()
    assert short.state == Case.State.PENDING_APPROVAL

    # Frank, the second finance user, approves it in his own browser.
    second = make_page()
    login(second, "frank")
    if language != "en":
        set_language(second, language)
    second.goto(f"{second.base_url}/reconciliation/{ref}/approvals/")
    check_page(second, shot=f"finance-approvals-second-{language}")
    second.click(f"form[action='{decide}'] button[value=approve]")
    second.wait_for_load_state()
    expect(second.locator(f"form[action='{decide}']")).to_have_count(0)
    request.refresh_from_db()
    short.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED
    assert request.decided_by == finance2
    assert (short.state, short.resolution, short.reason_code) == (
        Case.State.RESOLVED,
        Case.Resolution.WRITTEN_OFF,
        "bank_fee",
    )

    # Erin downloads the report: the write-off names both people.
    page.click(f"a[href='/reconciliation/{ref}/overview/']")
    page.wait_for_function("() => document.querySelectorAll('canvas').length === 2")
    check_page(page, shot=f"finance-overview-{language}")
    with page.expect_download() as download:
        page.click(f"a[href='/reconciliation/{ref}/report.csv']")
    assert download.value.suggested_filename == f"reconciliation-{ref}.csv"
    rows = list(csv.reader(io.StringIO(download.value.path().read_text("utf-8"))))
    write_off = rows[rows.index(["Write-offs"]) + 2]
    assert Decimal(write_off[0]) == Decimal("-1.50")
    assert write_off[1:5] == ["GBP", "bank_fee", "erin", "frank"]
    confirmed = next(row for row in rows if row[:1] == ["match confirmed"])
    assert confirmed[1:3] == ["GBP", "2"] and Decimal(confirmed[3]) == Decimal("350.50")
    open_items = rows[rows.index(["Open items"]) + 2]
    assert open_items[0] == "missing_in_system" and open_items[-1] == "R-3"

    with page.expect_download() as download:
        page.click(f"a[href='/reconciliation/{ref}/report.xlsx']")
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    sheet = book["Write-offs"]
    assert next(sheet.iter_rows(min_row=2, values_only=True))[:5] == (
        Decimal("-1.50"),
        "GBP",
        "bank_fee",
        "erin",
        "frank",
    )

    with page.expect_download() as download:
        page.click(f"a[href='/reconciliation/{ref}/report.pdf']")
    assert download.value.path().read_bytes().startswith(b"%PDF")
