"""The incident reconciliation report: totals, open items, write-offs, approvals.

The same rows go out as CSV, XLSX and PDF. Text cells a spreadsheet would run as a
formula (``= + - @``, tab, CR) are neutralised with a leading ``'``; numbers stay
numbers (Decimal in XLSX, never text).
"""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from django.db.models import Count, Q, Sum
from django.utils import timezone

from deposits.models import Deposit
from incidents.models import Incident

from .export import cell_safe
from .finance_models import ApprovalRequest, Case
from .models import Match
from .resolutions import TO_WORK_ON
from .services import run_latest

Cell = str | int | Decimal | None


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def report_sections(*, incident: Incident) -> list[Section]:
    latest = run_latest(incident=incident)
    cases = Case.objects.filter(run=latest) if latest else Case.objects.none()

    by_outcome = Section(
        "Totals by outcome", ["outcome", "currency", "count", "amount"]
    )
    for m in (
        Match.objects.filter(run__incident=incident, run__dry_run=False)
        .exclude(status=Match.Status.REJECTED)
        .values("status", "currency")
        .annotate(n=Count("pk"), total=Sum("manual_amount"))
        .order_by("status", "currency")
    ):
        by_outcome.rows.append(
            [f"match {m['status']}", m["currency"], m["n"], m["total"]]
        )
    for c in (
        cases.values("kind", "currency")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by("kind", "currency")
    ):
        by_outcome.rows.append([c["kind"], c["currency"], c["n"], c["total"]])

    deposits = Deposit.objects.filter(incident=incident, reverses__isnull=True)
    by_currency = Section(
        "Deposits by currency", ["currency", "count", "amount", "confirmed"]
    )
    by_branch = Section(
        "Deposits by branch", ["branch", "currency", "count", "amount", "confirmed"]
    )
    by_channel = Section(
        "Deposits by channel", ["channel", "currency", "count", "amount", "confirmed"]
    )
    confirmed = Count("pk", filter=Q(status=Deposit.Status.CONFIRMED))
    for row in (
        deposits.values("currency")
        .annotate(n=Count("pk"), total=Sum("amount"), ok=confirmed)
        .order_by("currency")
    ):
        by_currency.rows.append([row["currency"], row["n"], row["total"], row["ok"]])
    for row in (
        deposits.values("branch__code", "currency")
        .annotate(n=Count("pk"), total=Sum("amount"), ok=confirmed)
        .order_by("branch__code", "currency")
    ):
        by_branch.rows.append(
            [row["branch__code"], row["currency"], row["n"], row["total"], row["ok"]]
        )
    for row in (
        deposits.values("channel", "currency")
        .annotate(n=Count("pk"), total=Sum("amount"), ok=confirmed)
        .order_by("channel", "currency")
    ):
        by_channel.rows.append(
            [row["channel"], row["currency"], row["n"], row["total"], row["ok"]]
        )

    open_items = Section(
        "Open items",
        ["kind", "state", "assignee", "amount", "currency", "opened", "due", "items"],
    )
    for case in (
        cases.filter(state__in=TO_WORK_ON)
        .select_related("assignee")
        .prefetch_related("discrepancy__deposits", "discrepancy__records")
        .order_by("due_at", "pk")[:5000]
    ):
        items = [d.receipt_number for d in case.discrepancy.deposits.all()] + [
            r.external_id for r in case.discrepancy.records.all()
        ]
        open_items.rows.append(
            [
                case.kind,
                case.state,
                case.assignee.username if case.assignee else "",
                case.amount,
                case.currency,
                case.opened_at.date().isoformat(),
                case.due_at.date().isoformat(),
                " ".join(items),
            ]
        )

    approvals = ApprovalRequest.objects.filter(
        Q(case__incident=incident) | Q(match__run__incident=incident)
    ).select_related("requested_by", "decided_by")
    write_offs = Section(
        "Write-offs",
        ["amount", "currency", "reason", "requested_by", "approved_by", "approved_at"],
    )
    for a in approvals.filter(
        kind=ApprovalRequest.Kind.WRITE_OFF, status=ApprovalRequest.Status.APPROVED
    ).order_by("decided_at", "pk"):
        write_offs.rows.append(
            [
                a.amount,
                a.currency,
                a.reason_code,
                a.requested_by.username,
                a.decided_by.username if a.decided_by else "",
                a.decided_at.isoformat() if a.decided_at else "",
            ]
        )
    approval_rows = Section(
        "Approvals",
        ["kind", "status", "amount", "currency", "requested_by", "decided_by"],
    )
    for a in approvals.order_by("requested_at", "pk"):
        approval_rows.rows.append(
            [
                a.kind,
                a.status,
                a.amount,
                a.currency,
                a.requested_by.username,
                a.decided_by.username if a.decided_by else "",
            ]
        )
    return [
        by_outcome,
        by_currency,
        by_branch,
        by_channel,
        open_items,
        write_offs,
        approval_rows,
    ]


def _text(value: Cell) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return value
    return cell_safe(str(value))


def report_csv(*, incident: Incident, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [f"Reconciliation report {incident.reference}", timezone.now().isoformat()]
    )
    for section in report_sections(incident=incident):
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerow(section.columns)
        for row in section.rows:
            writer.writerow([_text(v) for v in row])


def report_xlsx(*, incident: Incident) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for default in list(book.worksheets):
        book.remove(default)
    for section in report_sections(incident=incident):
        sheet = book.create_sheet()
        sheet.title = section.title[:31]
        sheet.append(section.columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append([_text(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
                elif isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_pdf(*, incident: Incident) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=landscape(A4), title=f"Reconciliation {incident.reference}"
    )
    styles = getSampleStyleSheet()
    story: list[Any] = [
        Paragraph(f"Reconciliation report {incident.reference}", styles["Title"]),
        Paragraph(timezone.now().strftime("%Y-%m-%d %H:%M UTC"), styles["Normal"]),
    ]
    for section in report_sections(incident=incident):
        story.append(Spacer(1, 12))
        story.append(Paragraph(section.title, styles["Heading2"]))
        rows = section.rows[:500]
        data = [section.columns] + [[str(_text(v))[:60] for v in row] for row in rows]
        if not rows:
            data.append(["-"] + [""] * (len(section.columns) - 1))
        table = Table(data, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                ]
            )
        )
        story.append(table)
        if len(section.rows) > len(rows):
            story.append(
                Paragraph(
                    f"... {len(section.rows) - len(rows)} more rows in the CSV and XLSX.",
                    styles["Normal"],
                )
            )
    doc.build(story)
    return out.getvalue()
