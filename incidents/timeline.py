"""The review's timeline: everything that happened to an incident, in time order."""

import datetime as dt
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Audience, Incident, OutageRole

KIND_LABELS: dict[str, Promise] = {
    "window": gettext_lazy("Capture window"),
    "public": gettext_lazy("Public"),
    "internal": gettext_lazy("Internal"),
    "role": gettext_lazy("Role"),
    "bank": gettext_lazy("Bank"),
}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "window", "public", "internal", "role", "bank"
    text: str

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


def incident_timeline(
    *, incident: Incident, language: str = "en"
) -> list[TimelineEntry]:
    """Capture window, public and internal updates, role changes and bank contacts."""
    entries = [
        TimelineEntry(incident.declared_at, "window", _("Incident declared")),
        TimelineEntry(
            incident.impact_started_at,
            "window",
            _("Impact started; capture window opens"),
        ),
    ]
    if incident.restored_at:
        entries.append(
            TimelineEntry(incident.restored_at, "window", _("Service restored"))
        )
    if incident.capture_ends_at:
        entries.append(
            TimelineEntry(
                incident.capture_ends_at, "window", _("Capture window closes")
            )
        )
    for update in incident.updates.all():
        kind = "public" if update.audience == Audience.PUBLIC else "internal"
        entries.append(
            TimelineEntry(update.created_at, kind, update.text_for(language))
        )
    for role in incident.role_assignments.select_related("user"):
        label = OutageRole(role.role).label
        entries.append(
            TimelineEntry(
                role.assigned_at,
                "role",
                _("%(user)s took the role %(role)s")
                % {"user": role.user, "role": label},
            )
        )
        if role.ended_at:
            entries.append(
                TimelineEntry(
                    role.ended_at,
                    "role",
                    _("%(user)s left the role %(role)s")
                    % {"user": role.user, "role": label},
                )
            )
    for contact in incident.bank_contacts.all():
        text = contact.summary
        if contact.bank_ticket_ref:
            text = f"[{contact.bank_ticket_ref}] {text}"
        entries.append(TimelineEntry(contact.contacted_at, "bank", text))
    if incident.closed_at:
        entries.append(
            TimelineEntry(incident.closed_at, "window", _("Incident closed"))
        )
    return sorted(entries, key=lambda e: e.at)
