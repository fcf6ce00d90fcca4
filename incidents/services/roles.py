"""Outage roles per incident, their instruction cards and the reminder for unfilled ones."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from notifications.models import Channel, NoticeKind
from notifications.services import Recipient, notify
from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import Incident, OutageRole, RoleAssignment
from .common import absolute_url
from .lifecycle import FINAL_STATUSES

ROLE_ALREADY_HELD = "{user} already holds the role “{role}” on this incident."
ROLE_ASSIGN_CLOSED = "Roles cannot be assigned on a {status} incident."
ROLE_USER_INACTIVE = "{user} is not an active member of staff."

DEFAULT_REQUIRED_ROLES = [
    OutageRole.LEAD,
    OutageRole.PHONE_DESK,
    OutageRole.STATUS_PUBLISHER,
    OutageRole.BANK_LIAISON,
]

# The short card a person sees when they hold a role.
ROLE_INSTRUCTIONS = {
    OutageRole.LEAD: _(
        "You run this incident. Keep the roles filled, decide the status, approve "
        "what goes out and set the time of the next update."
    ),
    OutageRole.PHONE_DESK: _(
        "You answer customers on the phone. Read them the latest public update, "
        "offer the alternatives (bank transfer, cash at a branch) and record deposits "
        "taken by phone at once."
    ),
    OutageRole.STATUS_PUBLISHER: _(
        "You keep the public status page current: post public updates, and switch on "
        "the “temporarily unavailable” banner if the page itself is in doubt."
    ),
    OutageRole.BANK_LIAISON: _(
        "You talk to the bank or processor. Log every contact with its ticket "
        "reference, what they committed to and their ETA, and chase overdue follow-ups."
    ),
    OutageRole.FIXER: _(
        "You work on the fix. Tell the lead what you find; internal updates are "
        "the place for technical detail."
    ),
    OutageRole.COMMS_APPROVER: _(
        "You approve customer messages before they are sent: plain words, no "
        "internal guesses, an ETA only when the bank gave one."
    ),
}


def roles_required() -> list[str]:
    return list(getattr(settings, "INCIDENTS_REQUIRED_ROLES", DEFAULT_REQUIRED_ROLES))


@transaction.atomic
def role_assign(
    *, incident: Incident, role: str, user: User, assigned_by: User | None
) -> RoleAssignment:
    """Give ``user`` the role on this incident, ending whoever held it before."""
    OutageRole(role)
    if incident.status in FINAL_STATUSES:
        raise ValidationError(
            {"role": ROLE_ASSIGN_CLOSED.format(status=incident.get_status_display())}
        )
    if not user.is_active:
        raise ValidationError({"user": ROLE_USER_INACTIVE.format(user=user)})
    now = timezone.now()
    current = (
        RoleAssignment.objects.select_for_update()
        .filter(incident=incident, role=role, ended_at__isnull=True)
        .first()
    )
    if current is not None and current.user_id == user.pk:
        raise ValidationError(
            {"user": ROLE_ALREADY_HELD.format(user=user, role=OutageRole(role).label)}
        )
    if current is not None:
        current.ended_at = now
        current.save(update_fields=["ended_at"])
    assignment = RoleAssignment.objects.create(
        incident=incident,
        role=role,
        user=user,
        assigned_by=assigned_by,
        assigned_at=now,
    )
    audit_record(
        action="incident.role_assigned",
        obj=assignment,
        actor=assigned_by,
        data={
            "incident": incident.reference,
            "role": role,
            "user": user.username,
            "replaced": current.user.username if current else None,
        },
    )
    return assignment


@transaction.atomic
def role_release(*, assignment: RoleAssignment, actor: User | None) -> RoleAssignment:
    """End an assignment; the role shows as unfilled again."""
    updated = RoleAssignment.objects.filter(
        pk=assignment.pk, ended_at__isnull=True
    ).update(ended_at=timezone.now())
    assignment.refresh_from_db()
    if updated:
        audit_record(
            action="incident.role_released",
            obj=assignment,
            actor=actor,
            data={"incident": assignment.incident.reference, "role": assignment.role},
        )
    return assignment


def roles_unfilled(incident: Incident) -> list[str]:
    """Required roles with nobody holding them."""
    held = set(
        incident.role_assignments.filter(ended_at__isnull=True).values_list(
            "role", flat=True
        )
    )
    return [role for role in roles_required() if role not in held]


def incident_lead(incident: Incident) -> User | None:
    """The person holding the lead role, else whoever declared the incident."""
    assignment = (
        incident.role_assignments.filter(role=OutageRole.LEAD, ended_at__isnull=True)
        .select_related("user")
        .first()
    )
    return assignment.user if assignment else incident.created_by


@transaction.atomic
def role_reminders_send(*, now: dt.datetime | None = None) -> int:
    """Remind each open incident's lead of unfilled required roles, once an hour."""
    now = now or timezone.now()
    sent = 0
    open_incidents = Incident.objects.exclude(status__in=FINAL_STATUSES).filter(
        closed_at__isnull=True
    )
    for incident in open_incidents.order_by("pk"):
        missing = roles_unfilled(incident)
        lead = incident_lead(incident)
        if not missing or lead is None or not lead.email:
            continue
        language = lead.language or settings.LANGUAGE_CODE
        with translation.override(language):
            role = ", ".join(str(OutageRole(r).label) for r in missing)
        notify(
            kind=NoticeKind.STAFF_ROLE_UNFILLED,
            recipients=[Recipient(Channel.EMAIL, lead.email, language)],
            context={
                # The names the templates use ...
                "incident_reference": incident.reference,
                "incident_title": incident.title,
                "role": role,
                "url": absolute_url(
                    reverse("incidents:detail", args=[incident.reference])
                ),
                # ... and the earlier ones.
                "reference": incident.reference,
                "title": incident.title,
                "roles": [str(OutageRole(r).label) for r in missing],
            },
            dedupe_key=f"incident:{incident.reference}:roles-unfilled:{now:%Y%m%d%H}",
            subject_refs=[f"incident:{incident.reference}"],
        )
        sent += 1
    return sent
