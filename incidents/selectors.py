"""Reads of incidents reused across pages and apps."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connections
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone, translation

from outage_desk.models import User

from .models import (
    Audience,
    Component,
    Incident,
    IncidentUpdate,
    OutageRole,
    RoleAssignment,
    StatusBanner,
)
from .services.common import status_cache_version, text_in

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


def incident_get_for_user(*, user: User, reference: str) -> Incident:
    """The incident if this user may see incidents at all (404 when it does not exist)."""
    if not user.has_perm("incidents.view_incident"):
        raise PermissionDenied
    try:
        return Incident.objects.select_related("created_by").get(reference=reference)
    except Incident.DoesNotExist:
        raise Http404 from None


def roles_held_by(*, user: User) -> QuerySet[RoleAssignment]:
    """The user's current outage roles on open incidents."""
    return (
        RoleAssignment.objects.filter(
            user=user, ended_at__isnull=True, incident__status__in=OPEN_STATUSES
        )
        .select_related("incident")
        .order_by("incident__declared_at", "role")
    )


def user_may_publish_status(user: User) -> bool:
    """Holders of the permission, or whoever is status-page publisher on an open incident."""
    if user.has_perm("incidents.publish_status"):
        return True
    return roles_held_by(user=user).filter(role="status_publisher").exists()


# The status page, JSON and feed read one snapshot of plain data per language,
# cached under a version that every public change replaces (after commit).
COMPONENT_RANK = {
    "operational": 0,
    "maintenance": 1,
    "degraded": 2,
    "partial_outage": 3,
    "major_outage": 4,
}
SEVERITY_STATUS = {
    Incident.Severity.MINOR: "degraded",
    Incident.Severity.MAJOR: "partial_outage",
    Incident.Severity.CRITICAL: "major_outage",
}


def _incident_data(incident: Incident, language: str) -> dict[str, Any]:
    updates = [
        {
            "id": update.pk,
            "status": update.status,
            "status_label": str(Incident.Status(update.status).label),
            "text": text_in(update.texts, language),
            "eta": update.eta.isoformat() if update.eta else None,
            "created_at": update.created_at.isoformat(),
        }
        for update in incident.public_updates  # type: ignore[attr-defined]
    ]
    return {
        "reference": incident.reference,
        "title": text_in(
            {"en": incident.title, **incident.title_translations}, language
        ),
        "kind": incident.kind,
        "severity": incident.severity,
        "status": incident.status,
        "status_label": str(incident.get_status_display()),
        "components": [_component_name(c, language) for c in incident.components.all()],
        "starts_at": incident.impact_started_at.isoformat(),
        "ends_at": incident.planned_end_at.isoformat()
        if incident.planned_end_at
        else None,
        "restored_at": incident.restored_at.isoformat()
        if incident.restored_at
        else None,
        "updates": updates,
    }


def _component_name(component: Component, language: str) -> str:
    return text_in({"en": component.name, **component.name_translations}, language)


def _component_status(incident: Incident) -> str:
    if incident.kind == Incident.Kind.PLANNED:
        return (
            "maintenance"
            if incident.status != Incident.Status.SCHEDULED
            else "operational"
        )
    return SEVERITY_STATUS[Incident.Severity(incident.severity)]


def _build_snapshot(language: str, history_limit: int) -> dict[str, Any]:
    public = Prefetch(
        "updates",
        queryset=IncidentUpdate.objects.filter(audience=Audience.PUBLIC).order_by(
            "-created_at", "-pk"
        ),
        to_attr="public_updates",
    )
    incidents = Incident.objects.prefetch_related(public, "components")
    open_list = list(
        incidents.filter(status__in=OPEN_STATUSES).order_by("-declared_at")
    )
    history = list(
        incidents.exclude(status__in=OPEN_STATUSES).order_by("-declared_at")[
            :history_limit
        ]
    )
    all_components = list(Component.objects.all())
    components = {c.pk: "operational" for c in all_components}
    names = {c.pk: _component_name(c, language) for c in all_components}
    for incident in open_list:
        state = _component_status(incident)
        for component in incident.components.all():
            if COMPONENT_RANK[state] > COMPONENT_RANK[components[component.pk]]:
                components[component.pk] = state
    banner = StatusBanner.objects.filter(pk=1, active=True).exists()
    return {
        "generated_at": timezone.now().isoformat(),
        "banner": banner,
        "components": [
            {"name": names[pk], "status": state} for pk, state in components.items()
        ],
        "incidents": [
            _incident_data(i, language) for i in open_list if i.status != "scheduled"
        ],
        "maintenance": [
            _incident_data(i, language) for i in open_list if i.status == "scheduled"
        ],
        "history": [_incident_data(i, language) for i in history],
    }


def status_snapshot(
    *, language: str | None = None, history_limit: int = 20
) -> dict[str, Any]:
    """Everything the public status page shows, in ``language``, from the cache if fresh."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    last_key = f"incidents:status:last:{language}:{history_limit}"
    try:
        key = f"incidents:status:{status_cache_version()}:{language}:{history_limit}"
        snapshot = cache.get(key)
        if snapshot is None:
            with translation.override(language):
                snapshot = _build_snapshot(language, history_limit)
            cache.set(key, snapshot, settings.INCIDENTS_STATUS_CACHE_SECONDS)
            cache.set(last_key, snapshot, None)
    except DatabaseError:
        # The page customers check during an outage must not fail with it: serve
        # the last snapshot we built, marked stale, with the unavailable banner.
        last = cache.get(last_key)
        if last is None:
            raise
        connections["default"].close()
        return {**last, "stale": True, "banner": True}
    return snapshot  # type: ignore[no-any-return]


def public_updates_for_feed(*, limit: int = 100) -> QuerySet[IncidentUpdate]:
    """Every public update, newest first, for the Atom feed."""
    return (
        IncidentUpdate.objects.filter(audience=Audience.PUBLIC)
        .select_related("incident")
        .order_by("-created_at", "-pk")[:limit]
    )


def parse_iso(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def role_cards_for(*, user: User) -> list[tuple[RoleAssignment, str, str]]:
    """(assignment, role label, instruction card) for each outage role the user holds."""
    from .services.roles import ROLE_INSTRUCTIONS

    return [
        (a, str(OutageRole(a.role).label), str(ROLE_INSTRUCTIONS[OutageRole(a.role)]))
        for a in roles_held_by(user=user)
    ]
