"""The printable receipt as a PDF, drawn with ReportLab in the customer's language."""

import io
import zoneinfo

from django.utils import formats, translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .models import Deposit
from .templatetags.money import money

# A CID font built into ReportLab covers Chinese without shipping a font file.
CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
_registered = False


def _font(language: str) -> str:
    global _registered
    if not language.startswith("zh"):
        return LATIN_FONT
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        _registered = True
    return CJK_FONT


def receipt_lines(deposit: Deposit) -> list[tuple[str, str]]:
    """The receipt's label/value rows in the active language and branch time zone."""
    local = deposit.received_at.astimezone(zoneinfo.ZoneInfo(deposit.branch.timezone))
    return [
        (_("Receipt number"), deposit.receipt_number),
        (_("Branch"), f"{deposit.branch.code} {deposit.branch.name}"),
        (_("Incident"), deposit.incident.reference),
        (_("Account"), deposit.account),
        (_("Payer name"), deposit.payer_name),
        (_("Amount"), f"{money(deposit.amount, deposit.currency)} {deposit.currency}"),
        (_("Channel"), str(deposit.get_channel_display())),
        (_("Received at"), formats.date_format(local, "DATETIME_FORMAT")),
        (_("Reference"), deposit.reference or "-"),
        (_("Status"), str(deposit.get_status_display())),
    ]


def receipt_pdf(*, deposit: Deposit, language: str) -> bytes:
    """One A5 page: the deposit's receipt, provisional until confirmed."""
    buffer = io.BytesIO()
    with translation.override(language):
        font = _font(language)
        pdf = canvas.Canvas(buffer, pagesize=A5)
        pdf.setTitle(f"{_('Deposit receipt')} {deposit.receipt_number}")
        _width, height = A5
        y = height - 20 * mm
        pdf.setFont(font, 16)
        pdf.drawString(15 * mm, y, _("Deposit receipt"))
        y -= 12 * mm
        pdf.setFont(font, 10)
        for label, value in receipt_lines(deposit):
            pdf.drawString(15 * mm, y, label)
            pdf.drawString(55 * mm, y, value)
            y -= 7 * mm
        y -= 6 * mm
        pdf.setFont(font, 9)
        pdf.drawString(
            15 * mm,
            y,
            _("Provisional: recorded while the core system was unavailable."),
        )
        pdf.showPage()
        pdf.save()
    return buffer.getvalue()
