"""Periodic jobs of the impact app: thin wrappers, idempotent."""

from celery import shared_task

from incidents.services.review import action_items_remind_overdue

from .aftermath import incident_aftermath_run, incidents_awaiting_aftermath


@shared_task(name="impact.tasks.aftermath_sweep")  # type: ignore[untyped-decorator]
def aftermath_sweep() -> int:
    """Prepare reviews and propose offers for newly restored incidents."""
    done = 0
    for incident in incidents_awaiting_aftermath()[:50]:
        incident_aftermath_run(incident=incident)
        done += 1
    return done


@shared_task(name="impact.tasks.action_reminders")  # type: ignore[untyped-decorator]
def action_reminders() -> int:
    """Remind owners of overdue action items (once a day each)."""
    return action_items_remind_overdue()
