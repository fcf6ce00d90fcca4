"""Helpers of the impact API tests: token clients per persona, and what may change."""

from incidents.models import (
    ActionItem,
    CompensationOffer,
    CompensationRule,
    Incident,
    Review,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent

REF = "INC-2026-0100"
API = f"/api/v1/impact/{REF}"


def impact_state():
    """Everything an impact API request could change."""
    return (
        sorted(
            Review.objects.values_list(
                "pk", "root_cause", "went_well", "went_badly", "completed_at"
            )
        ),
        sorted(ActionItem.objects.values_list("pk", "done_at")),
        sorted(CompensationOffer.objects.values_list("pk", "status")),
        sorted(CompensationRule.objects.values_list("pk", "value", "currency", "cap")),
        sorted(Incident.objects.values_list("pk", "closed_at")),
        Notice.objects.count(),
        # A token made for the request is not the request's doing.
        AuditEvent.objects.exclude(action__startswith="api_token.").count(),
    )


def error_of(response):
    """The documented error body's inner object."""
    return response.json()["error"]
