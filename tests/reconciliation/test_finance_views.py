import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from deposits.models import Deposit
from reconciliation import resolutions as r
from reconciliation.finance_models import ApprovalRequest, Case
from reconciliation.models import Match

from .finance_helpers import case_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "status"), [("clerk", 403), ("lead", 403), ("finance", 200)]
)
def test_only_finance_works_the_queue(client, request, world, persona, status):
    client.force_login(request.getfixturevalue(persona))
    ref = world["run"].incident.reference
    for url in (f"/reconciliation/{ref}/queue/", f"/reconciliation/{ref}/approvals/"):
        assert client.get(url).status_code == status
    case = Case.objects.first()
    assert client.get(f"/reconciliation/cases/{case.pk}/").status_code == status


def test_the_queue_shows_both_sides_and_filters(client, finance, world):
    client.force_login(finance)
    ref = world["run"].incident.reference
    page = client.get(f"/reconciliation/{ref}/queue/").content.decode()
    assert "R-4" in page and "TX-4" in page and "transposed digits" in page
    page = client.get(
        f"/reconciliation/{ref}/queue/?kind=missing_manual"
    ).content.decode()
    assert "TX-5" in page and "R-4" not in page
    page = client.get(
        f"/reconciliation/{ref}/queue/?amount_min=1000&sort=-amount"
    ).content.decode()
    assert "R-5" in page and "R-3" not in page


def _ticked_states(page: str) -> list[str]:
    return re.findall(r'name="state" value="(\w+)"[^>]* checked', page)


def test_the_queue_status_filter_is_ticks_with_a_summary(client, finance, world):
    client.force_login(finance)
    ref = world["run"].incident.reference
    page = client.get(f"/reconciliation/{ref}/queue/").content.decode()
    # Unfiltered: every state still to work on, in the choices' order.
    assert _ticked_states(page) == ["open", "assigned", "pending_approval", "reopened"]
    assert ">Open, Assigned, Waiting for approval, Reopened</button>" in page
    page = client.get(f"/reconciliation/{ref}/queue/?state=resolved").content.decode()
    assert _ticked_states(page) == ["resolved"]
    assert ">Resolved</button>" in page


def test_the_incident_and_finance_pages_share_one_set_of_tabs(client, finance, world):
    client.force_login(finance)
    ref = world["run"].incident.reference
    tabs = ["Import and match", "Overview", "Discrepancy queue", "Approvals"]
    for url, active in [
        (f"/reconciliation/{ref}/", "Import and match"),
        (f"/reconciliation/{ref}/overview/", "Overview"),
        (f"/reconciliation/{ref}/queue/", "Discrepancy queue"),
        (f"/reconciliation/{ref}/approvals/", "Approvals"),
    ]:
        page = client.get(url).content.decode()
        bar = page.split('<ul class="nav nav-tabs', 1)[1].split("</ul>", 1)[0]
        assert re.findall(r'href="[^"]*">([^<]+)</a>', bar) == tabs
        assert re.findall(r'aria-current="page" href="[^"]*">([^<]+)</a>', bar) == [
            active
        ]


def test_the_incident_list_shows_each_latest_run_in_a_fixed_number_of_queries(
    client, finance, world, django_assert_num_queries
):
    from .factories import incident_make

    client.force_login(finance)
    run = world["run"]
    client.get("/reconciliation/")
    # The session, the user and their permissions (4), then the incidents with
    # their latest run's id, those runs, and their open items (3).
    with django_assert_num_queries(7) as few:
        client.get("/reconciliation/")
    for n in range(3):
        incident_make(title=f"Not reconciled {n}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/reconciliation/")
    rows = {row["incident"].reference: row for row in response.context["rows"]}
    assert rows[run.incident.reference]["run"] == run
    assert rows[run.incident.reference]["open_items"] == 5
    assert sum(row["run"] is None for row in rows.values()) == 3
    page = response.content.decode()
    assert f"Run {run.pk}," in page
    assert f"Matched: {run.counts['matched']}" in page
    assert "Open items: 5" in page
    assert page.count("Not reconciled yet") == 3


def test_bulk_assign_from_the_queue(client, finance, finance2, world):
    client.force_login(finance)
    ref = world["run"].incident.reference
    ids = list(Case.objects.values_list("pk", flat=True)[:2])
    client.post(
        f"/reconciliation/{ref}/queue/assign/", {"case": ids, "assignee": finance2.pk}
    )
    assert Case.objects.filter(assignee=finance2, state="assigned").count() == 2
    page = client.get(
        f"/reconciliation/{ref}/queue/?assignee={finance2.pk}"
    ).content.decode()
    assert page.count('name="case"') == 2


def test_the_queue_runs_a_fixed_number_of_queries(
    client, finance, world, django_assert_num_queries
):
    from .factories import deposit_make

    client.force_login(finance)
    ref = world["run"].incident.reference
    url = f"/reconciliation/{ref}/queue/"
    client.get(url)
    with django_assert_num_queries(15) as small:
        client.get(url)
    for i in range(30):
        deposit_make(
            world["run"].incident,
            receipt_number=f"X-{i}",
            amount=f"{i + 1}.00",
            account=f"GB9{i:07d}",
        )
    from .finance_helpers import reconcile

    reconcile(world["run"].incident)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.context["page"].paginator.count > 30


def test_an_action_from_the_screen_and_a_refusal(client, finance, finance2, world):
    client.force_login(finance)
    case = case_of("amount_mismatch")
    response = client.post(
        f"/reconciliation/cases/{case.pk}/write_off/",
        {"reason_code": "", "version": case.version},
        follow=True,
    )
    assert str(r.ERROR_REASON_CODE) in response.content.decode()
    assert not ApprovalRequest.objects.exists()
    client.post(
        f"/reconciliation/cases/{case.pk}/write_off/",
        {"reason_code": "rounding", "version": case.version},
    )
    request = ApprovalRequest.objects.get()
    response = client.post(
        f"/reconciliation/approvals/{request.pk}/", {"decision": "approve"}, follow=True
    )
    assert str(r.ERROR_OWN_REQUEST) in response.content.decode()
    client.force_login(finance2)
    client.post(f"/reconciliation/approvals/{request.pk}/", {"decision": "approve"})
    assert Case.objects.get(pk=case.pk).resolution == "written_off"


def test_a_stale_form_is_told(client, finance, world):
    client.force_login(finance)
    case = case_of("missing_in_system", amount=Decimal("70"))
    client.post(f"/reconciliation/cases/{case.pk}/posted/", {"version": case.version})
    response = client.post(
        f"/reconciliation/cases/{case.pk}/reopen/",
        {"version": case.version},
        follow=True,
    )
    assert str(r.ERROR_STALE) in response.content.decode()


def test_the_overview_counts_and_charts(client, finance, world):
    client.force_login(finance)
    response = client.get(
        f"/reconciliation/{world['run'].incident.reference}/overview/"
    )
    assert response.status_code == 200
    assert response.context["open_count"] == 5
    assert 'id="chart-data"' in response.content.decode()
    assert "vendor/chartjs/chart.umd.min.js" in response.content.decode()


def test_the_progress_chart_has_every_day(client, finance, world):
    # Items opened on their deposits' day, months ago; one resolved today.
    client.force_login(finance)
    opened = Case.objects.order_by("pk").first()
    Case.objects.filter(pk=opened.pk).update(
        state=Case.State.RESOLVED, resolved_at=timezone.now()
    )
    response = client.get(
        f"/reconciliation/{world['run'].incident.reference}/overview/"
    )
    chart = response.context["chart"]
    days = [dt.date.fromisoformat(day) for day in chart["labels"]]
    assert days[0] == opened.opened_at.date()
    assert days[-1] == timezone.now().date()
    assert days == [days[0] + dt.timedelta(days=n) for n in range(len(days))]
    # A day without events carries the totals of the day before it.
    assert chart["open"][1] == chart["open"][0]
    assert chart["open"][-1] == chart["open"][0] - 1
    assert chart["resolved"][-2:] == [0, 1]


def test_the_progress_chart_keeps_only_event_days_over_a_long_span():
    from reconciliation.queue import CHART_MAX_DAYS, _every_day

    assert _every_day(["2026-03-01", "2026-03-04"]) == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    far = (dt.date(2026, 1, 1) + dt.timedelta(days=CHART_MAX_DAYS)).isoformat()
    assert _every_day(["2026-01-01", far]) == ["2026-01-01", far]
    assert _every_day([]) == []


def test_the_posting_file_round_trip(client, finance, world, tmp_path):
    from .finance_helpers import reconcile

    client.force_login(finance)
    ref = world["run"].incident.reference
    client.post(f"/reconciliation/{ref}/postings/")
    from reconciliation.finance_models import PostingBatch

    batch = PostingBatch.objects.get()
    core = client.get(f"/reconciliation/postings/{batch.pk}/core.csv").content.decode()
    canonical = client.get(
        f"/reconciliation/postings/{batch.pk}/canonical.csv"
    ).content.decode()
    rows = list(csv.DictReader(io.StringIO(core)))
    assert sorted(row["reference"] for row in rows) == ["R-3", "R-5"]
    assert "receipt_number,branch,channel" in canonical
    client.post(f"/reconciliation/postings/{batch.pk}/posted/")
    world["missing"].refresh_from_db()
    assert world["missing"].status == Deposit.Status.AWAITING_CONFIRMATION

    path = tmp_path / "posted.csv"
    path.write_text(core, encoding="utf-8")
    from reconciliation.loading import records_import

    records_import(path=path, incident=world["run"].incident)
    run = reconcile(world["run"].incident)
    matched = Match.objects.filter(run=run, deposits=world["missing"])
    assert matched.exists()
    from reconciliation.services import match_confirm

    match_confirm(match=matched.get(), actor=finance)
    world["missing"].refresh_from_db()
    assert world["missing"].status == Deposit.Status.CONFIRMED


def test_the_report_in_three_formats_keeps_formulas_as_text(client, finance, world):
    from reconciliation.models import SystemRecord

    SystemRecord.objects.filter(external_id="TX-5").update(external_id="=HYPERLINK(1)")
    client.force_login(finance)
    ref = world["run"].incident.reference
    text = client.get(f"/reconciliation/{ref}/report.csv").content.decode()
    assert "'=HYPERLINK(1)" in text
    book = load_workbook(
        io.BytesIO(client.get(f"/reconciliation/{ref}/report.xlsx").content)
    )
    sheet = book["Open items"]
    values = [c for row in sheet.iter_rows() for c in row]
    formula = [c for c in values if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert formula and all(
        c.data_type == "s" and c.value.startswith("'") for c in formula
    )
    amounts = [c.value for c in sheet["D"][1:]]
    assert all(isinstance(v, (int, float)) for v in amounts)
    pdf = client.get(f"/reconciliation/{ref}/report.pdf").content
    assert pdf.startswith(b"%PDF")
