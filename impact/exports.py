"""The review as Markdown and as PDF, built from the same ReviewData."""

import datetime as dt
import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from .review_data import ReviewData

PDF_FONT = "STSong-Light"


def escape(text: str) -> str:
    """Text safe inside reportlab's paragraph markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def duration_text(seconds: int | None) -> str:
    """ "2 h 05 min" for a number of seconds; a dash when unknown."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min"


def _at(value: Any) -> str:
    if not value:
        return "—"
    if isinstance(value, str):
        return value.replace("T", " ")[:16] + " UTC"
    return str(timezone.localtime(value, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def impact_lines(impact: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of the headline figures, for both exports and the page."""
    if not impact:
        return []
    deposits = impact["deposits"]
    coverage = impact["notice_coverage"]
    cost = impact["estimated_cost"]["total"]
    return [
        (_("Customers affected"), str(impact["customers_affected"])),
        (
            _("Deposits captured"),
            "; ".join(
                f"{r['currency']} {r['sum']} ({r['count']})"
                for r in deposits["by_currency"]
            )
            or "0",
        ),
        (_("Still unconfirmed"), str(impact["unconfirmed"]["count"])),
        (_("Time to first notice"), duration_text(impact["first_notice"]["seconds"])),
        (
            _("Notice coverage"),
            f"{coverage['told']} / {coverage['affected']}"
            + (
                f" ({coverage['percent']} %)" if coverage["percent"] is not None else ""
            ),
        ),
        (_("Missed update promises"), str(impact["missed_updates"]["count"])),
        (
            _("Restore to full confirmation"),
            duration_text(impact["full_confirmation"]["seconds_after_restore"]),
        ),
        (
            _("Estimated cost"),
            "; ".join(f"{r['currency']} {r['amount']}" for r in cost) or "0",
        ),
    ]


def review_markdown(data: ReviewData) -> str:
    """The review as a Markdown document."""
    incident, review = data.incident, data.review
    out = [
        f"# {_('Post-incident review')}: {incident.reference} {incident.title}",
        "",
        f"- {_('Impact started')}: {_at(incident.impact_started_at)}",
        f"- {_('Restored')}: {_at(incident.restored_at)}",
        f"- {_('Closed')}: {_at(incident.closed_at)}",
        "",
        f"## {_('Impact')}",
        "",
    ]
    out += [f"- {label}: {value}" for label, value in impact_lines(data.impact)]
    by_channel = data.impact.get("deposits", {}).get("by_channel", [])
    if by_channel:
        out += ["", f"| {_('Channel')} | {_('Currency')} | {_('Count')} | {_('Sum')} |"]
        out += ["|---|---|---:|---:|"]
        out += [
            f"| {r['channel']} | {r['currency']} | {r['count']} | {r['sum']} |"
            for r in by_channel
        ]
    out += ["", f"## {_('Timeline')}", ""]
    out += [f"- {_at(e.at)} [{e.kind_label}] {e.text}" for e in data.timeline]
    out += ["", f"## {_('Compensation')}", ""]
    out += [
        f"- {o['status_label']}, {o['kind_label']}: {o['count']} ({o['currency']} {o['cost']})"
        for o in data.offers
    ] or [f"- {_('None')}"]
    fb = data.feedback
    out += ["", f"## {_('Customer feedback')}", ""]
    out += [f"- {_('Answers')}: {fb['count']}; {_('average')}: {fb['average'] or '—'}"]
    for title, text in (
        (_("Root cause"), review.root_cause if review else ""),
        (_("What went well"), review.went_well if review else ""),
        (_("What went badly"), review.went_badly if review else ""),
    ):
        out += ["", f"## {title}", "", text or "—"]
    out += ["", f"## {_('Action items')}", ""]
    out += [
        f"- [{'x' if i.done_at else ' '}] {i.get_kind_display()}: {i.title} "
        f"({i.owner}, {_('due')} {i.due_on.isoformat()})"
        for i in data.action_items
    ] or [f"- {_('None')}"]
    return "\n".join(out) + "\n"


def review_pdf(data: ReviewData) -> bytes:
    """The review as an A4 PDF (CJK-capable font, so Chinese text prints)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
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

    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=9, leading=12)
    h1 = ParagraphStyle("h1", fontName=PDF_FONT, fontSize=16, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=PDF_FONT, fontSize=12, leading=16, spaceBefore=8)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    def table(rows: list[list[str]], widths: list[float]) -> Table:
        t = Table([[p(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    incident, review = data.incident, data.review
    story: list[Any] = [
        p(f"{_('Post-incident review')}: {incident.reference}", h1),
        p(incident.title),
        p(
            f"{_('Impact started')}: {_at(incident.impact_started_at)}   "
            f"{_('Restored')}: {_at(incident.restored_at)}   "
            f"{_('Closed')}: {_at(incident.closed_at)}"
        ),
        p(_("Impact"), h2),
        table(
            [
                [_("Figure"), _("Value")],
                *[[a, b] for a, b in impact_lines(data.impact)],
            ],
            [60 * mm, 110 * mm],
        ),
    ]
    by_channel = data.impact.get("deposits", {}).get("by_channel", [])
    if by_channel:
        story += [
            Spacer(1, 4 * mm),
            table(
                [[_("Channel"), _("Currency"), _("Count"), _("Sum")]]
                + [
                    [r["channel"], r["currency"], str(r["count"]), str(r["sum"])]
                    for r in by_channel
                ],
                [50 * mm, 30 * mm, 30 * mm, 60 * mm],
            ),
        ]
    story += [p(_("Timeline"), h2)]
    story.append(
        table(
            [[_("When"), _("Kind"), _("What")]]
            + [[_at(e.at), e.kind_label, e.text] for e in data.timeline],
            [35 * mm, 20 * mm, 115 * mm],
        )
    )
    story += [p(_("Compensation"), h2)]
    story += [
        p(
            f"{o['status_label']}, {o['kind_label']}: {o['count']} ({o['currency']} {o['cost']})"
        )
        for o in data.offers
    ] or [p(_("None"))]
    fb = data.feedback
    story += [
        p(_("Customer feedback"), h2),
        p(f"{_('Answers')}: {fb['count']}; {_('average')}: {fb['average'] or '—'}"),
    ]
    for title, text in (
        (_("Root cause"), review.root_cause if review else ""),
        (_("What went well"), review.went_well if review else ""),
        (_("What went badly"), review.went_badly if review else ""),
    ):
        story += [p(title, h2), p(text or "—")]
    story += [p(_("Action items"), h2)]
    if data.action_items:
        story.append(
            table(
                [[_("Kind"), _("Action"), _("Owner"), _("Due"), _("Done")]]
                + [
                    [
                        str(i.get_kind_display()),
                        i.title,
                        str(i.owner),
                        i.due_on.isoformat(),
                        _at(i.done_at) if i.done_at else "",
                    ]
                    for i in data.action_items
                ],
                [25 * mm, 70 * mm, 25 * mm, 22 * mm, 28 * mm],
            )
        )
    else:
        story.append(p(_("None")))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{_('Post-incident review')} {incident.reference}",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
    )
    doc.build(story)
    return buffer.getvalue()
