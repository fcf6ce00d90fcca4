"""Reads of incidents reused across pages and apps."""

from django.db.models import QuerySet

from .models import Incident

OPEN_STATUSES = [
    Incident.Status.INVESTIGATING,
    Incident.Status.IDENTIFIED,
    Incident.Status.MONITORING,
    Incident.Status.SCHEDULED,
    Incident.Status.IN_PROGRESS,
    Incident.Status.VERIFYING,
]


def incident_list_open() -> QuerySet[Incident]:
    """Incidents not yet resolved or completed, newest first."""
    return Incident.objects.filter(status__in=OPEN_STATUSES).order_by("-declared_at")


def incident_list_public_history(*, limit: int = 20) -> QuerySet[Incident]:
    """Resolved and completed incidents for the status page's history."""
    return Incident.objects.exclude(status__in=OPEN_STATUSES).order_by("-declared_at")[
        :limit
    ]
