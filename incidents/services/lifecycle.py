"""Incident lifecycle: open, move between statuses, resolve. Each change is audited."""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import NoticeKind
from notifications.services import webhook_event_publish
from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import Component, Incident
from .common import incident_notify_subscribers, status_cache_invalidate

REFERENCE_ATTEMPTS = 5
S = Incident.Status

# Allowed moves per kind: status -> the statuses it may move to. Customers know
# these words from other status pages; skips are allowed where they are honest
# (a quick fix goes straight to resolved; a regression under monitoring goes
# back to identified or investigating). Resolved and completed are final.
UNPLANNED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.INVESTIGATING: frozenset({S.IDENTIFIED, S.MONITORING, S.RESOLVED}),
    S.IDENTIFIED: frozenset({S.INVESTIGATING, S.MONITORING, S.RESOLVED}),
    S.MONITORING: frozenset({S.INVESTIGATING, S.IDENTIFIED, S.RESOLVED}),
    S.RESOLVED: frozenset(),
}
PLANNED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.VERIFYING, S.COMPLETED}),
    S.VERIFYING: frozenset({S.IN_PROGRESS, S.COMPLETED}),
    S.COMPLETED: frozenset(),
}
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    Incident.Kind.UNPLANNED: UNPLANNED_TRANSITIONS,
    Incident.Kind.PLANNED: PLANNED_TRANSITIONS,
}
FINAL_STATUSES = frozenset({S.RESOLVED, S.COMPLETED})

TRANSITION_REFUSED = "An incident cannot move from “{old}” to “{new}”."
TRANSITION_SAME = "The incident is already “{status}”."
RESTORED_BEFORE_START = "The restore time {at} is before the impact started ({start})."
RESTORED_IN_FUTURE = "The restore time {at} is in the future."
ENDS_BEFORE_START = "The maintenance end {end} is before its start {start}."
ENDS_ONLY_PLANNED = "Only planned maintenance has a planned end."
TITLE_REQUIRED = "The title is required."
LANGUAGE_UNKNOWN = "“{code}” is not a language of this site."
INCIDENT_ALREADY_FINAL = "Incident {reference} is already {status}."


def transitions_allowed(incident: Incident) -> list[str]:
    """Statuses this incident may move to next, in vocabulary order."""
    allowed = TRANSITIONS[incident.kind].get(incident.status, frozenset())
    return [value for value in S.values if value in allowed]


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


def _validate_open(
    *,
    title: str,
    planned: bool,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None,
    title_translations: dict[str, str],
) -> None:
    if not title.strip():
        raise ValidationError({"title": TITLE_REQUIRED})
    known = {code for code, _name in settings.LANGUAGES}
    for code in title_translations:
        if code not in known:
            raise ValidationError(
                {"title_translations": LANGUAGE_UNKNOWN.format(code=code)}
            )
    if ends_at is not None and not planned:
        raise ValidationError({"ends_at": ENDS_ONLY_PLANNED})
    if ends_at is not None and ends_at < starts_at:
        raise ValidationError(
            {"ends_at": ENDS_BEFORE_START.format(end=ends_at, start=starts_at)}
        )


def incident_open(
    *,
    title: str,
    planned: bool = False,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    severity: str = Incident.Severity.MAJOR,
    components: Iterable[Component] = (),
    capture_grace: dt.timedelta | None = None,
    title_translations: dict[str, str] | None = None,
    opened_by: User | None = None,
) -> Incident:
    """Declare an outage (or schedule maintenance) and give it the next INC-YYYY-NNNN.

    Subscribers get "outage started" (or "maintenance scheduled") in the same
    transaction.
    """
    now = timezone.now()
    starts_at = starts_at or now
    _validate_open(
        title=title,
        planned=planned,
        starts_at=starts_at,
        ends_at=ends_at,
        title_translations=title_translations or {},
    )
    Incident.Severity(severity)
    status = S.SCHEDULED if planned else S.INVESTIGATING
    if planned and starts_at <= now:
        status = S.IN_PROGRESS
    # Two leads declaring at once may compute the same number; the unique
    # constraint decides and the loser takes the next one.
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    reference=_next_reference(now.year),
                    title=title.strip(),
                    title_translations={
                        code: text.strip()
                        for code, text in (title_translations or {}).items()
                        if text and text.strip()
                    },
                    kind=Incident.Kind.PLANNED if planned else Incident.Kind.UNPLANNED,
                    severity=severity,
                    status=status,
                    impact_started_at=starts_at,
                    planned_end_at=ends_at,
                    declared_at=now,
                    created_by=opened_by,
                    **({"capture_grace": capture_grace} if capture_grace else {}),
                )
                incident.components.set(list(components))
                _notify_opened(incident)
                status_cache_invalidate()
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


def _notify_opened(incident: Incident) -> None:
    kind = (
        NoticeKind.MAINTENANCE_SCHEDULED
        if incident.status == S.SCHEDULED
        else NoticeKind.OUTAGE_STARTED
    )
    sent = incident_notify_subscribers(
        incident=incident,
        kind=kind,
        event="opened",
        extra={
            "starts_at": incident.impact_started_at,
            "ends_at": incident.planned_end_at,
        },
    )
    if sent and incident.first_notice_at is None:
        incident.first_notice_at = timezone.now()
        incident.save(update_fields=["first_notice_at"])


def incident_lock(*, pk: int) -> Incident:
    """Re-read the incident under a row lock for a read-modify-write."""
    return Incident.objects.select_for_update().get(pk=pk)


def _status_event_publish(incident: Incident, *, old: str) -> None:
    """``incident.status_changed`` to the integrators' webhooks that subscribe."""
    webhook_event_publish(
        event=NoticeKind.EVENT_INCIDENT_STATUS_CHANGED,
        data={
            "reference": incident.reference,
            "kind": incident.kind,
            "from": old,
            "to": incident.status,
            "impact_started_at": incident.impact_started_at.isoformat(),
            "restored_at": incident.restored_at.isoformat()
            if incident.restored_at
            else None,
        },
        dedupe_key=f"incident:{incident.reference}:status:{old}:{incident.status}:"
        f"{timezone.now().isoformat()}",
        subject_refs=[f"incident:{incident.reference}"],
    )


@transaction.atomic
def incident_transition(
    *,
    incident: Incident,
    to_status: str,
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Incident:
    """Move an incident to ``to_status`` if its kind allows it; else ValidationError.

    Resolved/completed set ``restored_at`` (``at``, default now), which starts
    the capture window's grace period.
    """
    locked = incident_lock(pk=incident.pk)
    old = locked.status
    if to_status == old:
        raise ValidationError({"status": TRANSITION_SAME.format(status=S(old).label)})
    if to_status not in TRANSITIONS[locked.kind].get(old, frozenset()):
        new_label = S(to_status).label if to_status in S.values else to_status
        raise ValidationError(
            {"status": TRANSITION_REFUSED.format(old=S(old).label, new=new_label)}
        )
    now = timezone.now()
    fields = ["status"]
    restoring = False
    if to_status in FINAL_STATUSES:
        at = at or now
        if at > now:
            raise ValidationError({"at": RESTORED_IN_FUTURE.format(at=at.isoformat())})
        if at < locked.impact_started_at:
            raise ValidationError(
                {
                    "at": RESTORED_BEFORE_START.format(
                        at=at.isoformat(), start=locked.impact_started_at.isoformat()
                    )
                }
            )
        locked.restored_at = at
        fields.append("restored_at")
        restoring = True
    elif old == S.SCHEDULED and to_status == S.IN_PROGRESS and at:
        # Maintenance that really began earlier or later than planned: the
        # capture window follows the real start.
        locked.impact_started_at = at
        fields.append("impact_started_at")
    locked.status = to_status
    locked.save(update_fields=fields)
    status_cache_invalidate()
    _status_event_publish(locked, old=old)
    audit_record(
        action="incident.status_changed",
        obj=locked,
        actor=actor,
        data={
            "from": old,
            "to": to_status,
            "impact_started_at": locked.impact_started_at,
            "restored_at": locked.restored_at,
        },
    )
    if restoring:
        # Imported here: the review services build on this module.
        from .review import review_prepare

        review_prepare(incident=locked)
    incident.refresh_from_db()
    return locked


def incident_resolve(
    *, incident: Incident, at: dt.datetime | None = None, actor: User | None = None
) -> Incident:
    """Restore an incident: resolved (outage) or completed (maintenance)."""
    if incident.status in FINAL_STATUSES:
        raise ValidationError(
            {
                "status": INCIDENT_ALREADY_FINAL.format(
                    reference=incident.reference, status=incident.status
                )
            }
        )
    target = S.COMPLETED if incident.kind == Incident.Kind.PLANNED else S.RESOLVED
    return incident_transition(incident=incident, to_status=target, actor=actor, at=at)
