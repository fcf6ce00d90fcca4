"""Exports of one incident's bank-contact log: CSV (spreadsheet-safe) and PDF."""

import csv
import io
from collections.abc import Iterable

from django.utils import timezone

from outage_desk.exports import cell_safe

from .models import BankContact, Incident

CSV_HEADER = [
    "entry",
    "contacted_at_utc",
    "contacted_local",
    "time_zone",
    "channel",
    "bank_agent",
    "bank_ticket_ref",
    "staff",
    "summary",
    "commitments",
    "eta_given_utc",
    "follow_up_due_utc",
    "escalation",
    "escalated_on",
    "corrects",
    "evidence",
    "recorded_by",
    "recorded_at_utc",
]
# One helper for every export: formula starters neutralised, numbers kept.
csv_cell = cell_safe


def _iso(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def _row(entry: BankContact) -> list[str]:
    local = timezone.localtime(entry.contacted_at, _zone(entry.contacted_tz))
    values: list[object] = [
        entry.pk,
        _iso(entry.contacted_at),
        local.strftime("%Y-%m-%d %H:%M %Z"),
        entry.contacted_tz,
        entry.channel,
        entry.bank_agent,
        entry.bank_ticket_ref,
        entry.staff.get_username(),
        entry.summary,
        entry.commitments,
        _iso(entry.eta_given),
        _iso(entry.follow_up_due_at),
        entry.escalation,
        _iso(entry.escalated_on),
        entry.corrects_id or "",
        entry.evidence_name,
        entry.recorded_by.get_username(),
        _iso(entry.recorded_at),
    ]
    return [csv_cell(v) for v in values]


def _zone(name: str):  # type: ignore[no-untyped-def]
    import zoneinfo

    return zoneinfo.ZoneInfo(name)


def _entries(incident: Incident) -> Iterable[BankContact]:
    return incident.bank_contacts.select_related("staff", "recorded_by").order_by(
        "contacted_at", "pk"
    )


def bank_contacts_csv(incident: Incident) -> str:
    """The log as UTF-8 CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for entry in _entries(incident):
        writer.writerow(_row(entry))
    return out.getvalue()


def bank_contacts_pdf(incident: Incident) -> bytes:
    """The log as a printable A4 PDF (landscape), Chinese text included."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=8, leading=10)
    title = ParagraphStyle("title", fontName="STSong-Light", fontSize=14, leading=18)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{incident.reference} bank-contact log",
    )

    def cell(text: object) -> Paragraph:
        return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), body)

    header = [
        "#",
        "When (local)",
        "Channel",
        "Bank agent / ticket",
        "Staff",
        "What was said",
        "Commitments / ETA",
        "Follow-up",
        "Escalation",
    ]
    rows = [[cell(h) for h in header]]
    for entry in _entries(incident):
        local = timezone.localtime(entry.contacted_at, _zone(entry.contacted_tz))
        rows.append(
            [
                cell(
                    f"{entry.pk}"
                    + (f" (corrects {entry.corrects_id})" if entry.corrects_id else "")
                ),
                cell(local.strftime("%Y-%m-%d %H:%M %Z")),
                cell(entry.get_channel_display()),
                cell(f"{entry.bank_agent}\n{entry.bank_ticket_ref}"),
                cell(entry.staff.get_username()),
                cell(entry.summary),
                cell(
                    entry.commitments
                    + (f"\nETA {_iso(entry.eta_given)}" if entry.eta_given else "")
                ),
                cell(_iso(entry.follow_up_due_at)),
                cell(f"{entry.get_escalation_display()} {_iso(entry.escalated_on)}"),
            ]
        )
    widths = [14, 30, 18, 32, 20, 70, 45, 28, 20]
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    heading = Paragraph(
        escape(f"{incident.reference} · {incident.title} · bank-contact log"), title
    )
    generated = Paragraph(escape(f"Generated {timezone.now().isoformat()}"), body)
    doc.build([heading, generated, Spacer(1, 4 * mm), table])
    return buffer.getvalue()
