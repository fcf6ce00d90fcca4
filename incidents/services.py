"""Writes for incidents. Every state change appends an audit event in its transaction."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from outage_desk.audit import audit_record
from outage_desk.models import User

from .models import Incident

REFERENCE_ATTEMPTS = 5


def _next_reference(year: int) -> str:
    prefix = f"INC-{year}-"
    last = (
        Incident.objects.filter(reference__startswith=prefix)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:04d}"


def incident_open(
    *,
    title: str,
    planned: bool = False,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    opened_by: User | None = None,
) -> Incident:
    """Declare an outage (or schedule maintenance) and give it the next INC-YYYY-NNNN."""
    now = timezone.now()
    starts_at = starts_at or now
    status = Incident.Status.SCHEDULED if planned else Incident.Status.INVESTIGATING
    if planned and starts_at <= now:
        status = Incident.Status.IN_PROGRESS
    # Two leads declaring at once may compute the same number; the unique
    # constraint decides and the loser takes the next one.
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    reference=_next_reference(now.year),
                    title=title,
                    kind=Incident.Kind.PLANNED if planned else Incident.Kind.UNPLANNED,
                    status=status,
                    impact_started_at=starts_at,
                    planned_end_at=ends_at,
                    declared_at=now,
                    created_by=opened_by,
                )
                audit_record(
                    action="incident.opened",
                    obj=incident,
                    actor=opened_by,
                    data={"reference": incident.reference, "status": status},
                )
                return incident
        except IntegrityError:
            continue
    raise IntegrityError("Could not allocate an incident reference.")
