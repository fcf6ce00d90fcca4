"""Periodic jobs of the incidents app: thin wrappers around services, idempotent."""

from celery import shared_task

from .services.bank import bank_follow_up_reminders_send
from .services.roles import role_reminders_send
from .services.status import maintenance_tick as maintenance_tick_run


@shared_task(name="incidents.tasks.maintenance_tick")  # type: ignore[untyped-decorator]
def maintenance_tick() -> dict[str, int]:
    """Start/finish planned maintenance on time and remind subscribers before it."""
    return maintenance_tick_run()


@shared_task(name="incidents.tasks.staff_reminders")  # type: ignore[untyped-decorator]
def staff_reminders() -> dict[str, int]:
    """Remind leads of unfilled roles and bank liaisons of overdue follow-ups."""
    return {
        "roles_unfilled": role_reminders_send(),
        "follow_ups_overdue": bank_follow_up_reminders_send(),
    }
