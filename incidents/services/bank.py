"""The bank-contact log: append-only entries, follow-up reminders to the bank liaison."""

import datetime as dt
import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, NoticeKind
from notifications.services import Recipient, notify
from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import BankContact, Incident, OutageRole, RoleAssignment
from .common import absolute_url, when_text
from .lifecycle import FINAL_STATUSES

FOLLOW_UP_IN_PAST = "The follow-up must be due in the future."
CONTACT_IN_FUTURE = "The contact time is in the future."
SUMMARY_REQUIRED = "Write down what was said."
TIMEZONE_UNKNOWN = "Unknown time zone “{tz}”."
CORRECTS_OTHER_INCIDENT = "A correction must point at an entry of the same incident."
ESCALATION_NEEDS_DATE = "Give the date of the escalation."
EVIDENCE_TOO_LARGE = "The evidence file is larger than {limit} MB."
EVIDENCE_TYPE = "Evidence must be one of: {allowed}."
EVIDENCE_CONTENT = "The evidence file's content is not a {ext} file."
EVIDENCE_NAME = "The evidence file name must be a plain name, without folders."
# What a file of each allowed type starts with; the name alone proves nothing.
EVIDENCE_MAGIC = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".msg": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}
# Text evidence that opens like markup (HTML, SVG, XML) is refused.
_MARKUP = re.compile(rb"^\s*<", re.ASCII)


def evidence_content_ok(evidence: UploadedFile, ext: str) -> bool:
    """Whether the first bytes match the extension (text: UTF-8, not markup)."""
    evidence.seek(0)
    head = evidence.read(4096)
    evidence.seek(0)
    if ext in EVIDENCE_MAGIC:
        return head.startswith(EVIDENCE_MAGIC[ext])
    if _MARKUP.match(head) or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 4096th byte is still text.
        return exc.start >= len(head) - 3
    return True


def _validate(
    *,
    incident: Incident,
    contacted_at: dt.datetime,
    contacted_tz: str,
    summary: str,
    follow_up_due_at: dt.datetime | None,
    escalation: str,
    escalated_on: dt.date | None,
    corrects: BankContact | None,
    evidence: UploadedFile | None,
) -> None:
    now = timezone.now()
    BankContact.Escalation(escalation)
    if contacted_tz not in zoneinfo.available_timezones():
        raise ValidationError(
            {"contacted_tz": TIMEZONE_UNKNOWN.format(tz=contacted_tz)}
        )
    if contacted_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"contacted_at": CONTACT_IN_FUTURE})
    if not summary.strip():
        raise ValidationError({"summary": SUMMARY_REQUIRED})
    if follow_up_due_at is not None and follow_up_due_at <= now:
        raise ValidationError({"follow_up_due_at": FOLLOW_UP_IN_PAST})
    if escalation != BankContact.Escalation.NONE and escalated_on is None:
        raise ValidationError({"escalated_on": ESCALATION_NEEDS_DATE})
    if corrects is not None and corrects.incident_id != incident.pk:
        raise ValidationError({"corrects": CORRECTS_OTHER_INCIDENT})
    if evidence is not None:
        limit = settings.INCIDENTS_EVIDENCE_MAX_BYTES
        if evidence.size is not None and evidence.size > limit:
            raise ValidationError(
                {"evidence": EVIDENCE_TOO_LARGE.format(limit=limit // (1024 * 1024))}
            )
        allowed = settings.INCIDENTS_EVIDENCE_TYPES
        name = (evidence.name or "").lower()
        if "/" in name or "\\" in name or any(ord(ch) < 32 for ch in name):
            raise ValidationError({"evidence": EVIDENCE_NAME})
        ext = next((ext for ext in allowed if name.endswith(ext)), None)
        if ext is None:
            raise ValidationError(
                {"evidence": EVIDENCE_TYPE.format(allowed=", ".join(allowed))}
            )
        if not evidence_content_ok(evidence, ext):
            raise ValidationError({"evidence": EVIDENCE_CONTENT.format(ext=ext)})


@transaction.atomic
def bank_contact_record(
    *,
    incident: Incident,
    contacted_at: dt.datetime,
    channel: str,
    staff: User,
    summary: str,
    recorded_by: User,
    contacted_tz: str = "UTC",
    bank_agent: str = "",
    bank_ticket_ref: str = "",
    commitments: str = "",
    eta_given: dt.datetime | None = None,
    evidence: UploadedFile | None = None,
    follow_up_due_at: dt.datetime | None = None,
    escalation: str = BankContact.Escalation.NONE,
    escalated_on: dt.date | None = None,
    corrects: BankContact | None = None,
) -> BankContact:
    """Append one contact with the bank; entries are never edited (correct by a new one)."""
    BankContact.Channel(channel)
    _validate(
        incident=incident,
        contacted_at=contacted_at,
        contacted_tz=contacted_tz,
        summary=summary,
        follow_up_due_at=follow_up_due_at,
        escalation=escalation,
        escalated_on=escalated_on,
        corrects=corrects,
        evidence=evidence,
    )
    entry = BankContact(
        incident=incident,
        contacted_at=contacted_at,
        contacted_tz=contacted_tz,
        channel=channel,
        bank_agent=bank_agent.strip(),
        bank_ticket_ref=bank_ticket_ref.strip(),
        staff=staff,
        summary=summary.strip(),
        commitments=commitments.strip(),
        eta_given=eta_given,
        follow_up_due_at=follow_up_due_at,
        escalation=escalation,
        escalated_on=escalated_on
        if escalation != BankContact.Escalation.NONE
        else None,
        corrects=corrects,
        recorded_by=recorded_by,
    )
    if evidence is not None:
        entry.evidence_name = (evidence.name or "evidence")[-255:]
        # The storage gives the file a random name (evidence_upload_to); the
        # original name is only shown, never used as a path.
        entry.evidence.save(evidence.name or "evidence", evidence, save=False)
    entry.save()
    audit_record(
        action="incident.bank_contact_recorded",
        obj=entry,
        actor=recorded_by,
        data={
            "incident": incident.reference,
            "channel": channel,
            "bank_ticket_ref": entry.bank_ticket_ref,
            "eta_given": eta_given,
            "follow_up_due_at": follow_up_due_at,
            "escalation": escalation,
            "corrects": corrects.pk if corrects else None,
            "evidence": bool(entry.evidence),
        },
    )
    return entry


def bank_contacts_overdue(*, now: dt.datetime) -> list[BankContact]:
    """Entries whose follow-up is due and that no later entry of the incident answers."""
    later = BankContact.objects.filter(
        incident=OuterRef("incident"), recorded_at__gt=OuterRef("recorded_at")
    )
    return list(
        BankContact.objects.filter(follow_up_due_at__lte=now)
        .exclude(incident__status__in=FINAL_STATUSES)
        .filter(incident__closed_at__isnull=True)
        .filter(~Exists(later))
        .select_related("incident", "staff")
        .order_by("pk")
    )


def _liaison(incident: Incident) -> User | None:
    assignment = (
        RoleAssignment.objects.filter(
            incident=incident, role=OutageRole.BANK_LIAISON, ended_at__isnull=True
        )
        .select_related("user")
        .first()
    )
    return assignment.user if assignment else None


def _follow_up_item(entry: BankContact) -> str:
    """The open follow-up in a line: the bank's ticket and what was said."""
    return " · ".join(filter(None, [entry.bank_ticket_ref, entry.summary[:200]]))


@transaction.atomic
def bank_follow_up_reminders_send(*, now: dt.datetime | None = None) -> int:
    """Remind the bank liaison (else who made the contact) of overdue follow-ups, hourly."""
    now = now or timezone.now()
    sent = 0
    for entry in bank_contacts_overdue(now=now):
        person = _liaison(entry.incident) or entry.staff
        if not person.email:
            continue
        notify(
            kind=NoticeKind.STAFF_FOLLOW_UP_OVERDUE,
            recipients=[
                Recipient(Channel.EMAIL, person.email, person.language or "en")
            ],
            context={
                # The names the templates use ...
                "incident_reference": entry.incident.reference,
                "incident_title": entry.incident.title,
                "item": _follow_up_item(entry),
                "due_at": when_text(entry.follow_up_due_at),
                "url": absolute_url(
                    reverse("incidents:detail", args=[entry.incident.reference])
                ),
                # ... and the earlier ones.
                "reference": entry.incident.reference,
                "title": entry.incident.title,
                "bank_ticket_ref": entry.bank_ticket_ref,
                "follow_up_due_at": entry.follow_up_due_at,
                "summary": entry.summary[:200],
            },
            dedupe_key=f"bank-contact:{entry.pk}:overdue:{now:%Y%m%d%H}",
            subject_refs=[f"incident:{entry.incident.reference}"],
        )
        sent += 1
    return sent
