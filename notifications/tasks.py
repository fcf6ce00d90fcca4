"""Thin Celery wrappers: send due notices in batches; the relay catches lost nudges."""

import logging

from celery import shared_task
from django.conf import settings

from .delivery import notices_release_expired_claims, notices_send_due

logger = logging.getLogger(__name__)


@shared_task(name="notifications.send", acks_late=True)  # type: ignore[untyped-decorator]
def notices_send_task() -> int:
    """Send every due notice, batch by batch; idempotent (rows are claimed first)."""
    return notices_send_due()


@shared_task(name="notifications.relay", acks_late=True)  # type: ignore[untyped-decorator]
def notices_relay_task() -> int:
    """Free claims of dead workers, then send whatever is due (nudges may be lost)."""
    released = notices_release_expired_claims()
    if released:
        logger.warning("released %s notices claimed by a worker that stopped", released)
    return notices_send_due()


def notices_nudge() -> bool:
    """Ask a worker to send now; runs after commit and never raises.

    The notices are already committed, so a broker that is down only delays them
    until the relay runs; capture must not fail because Redis did.
    """
    # ignore_result: no one reads a nudge's result, and without it Celery's Redis
    # result backend subscribes to the task's result channel on every nudge.
    try:
        url = settings.NOTICE_NUDGE_BROKER_URL
        if url:
            from outage_desk.celery import app

            with app.connection_for_write(url) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
                notices_send_task.apply_async(
                    connection=conn,
                    queue=settings.NOTICE_TASK_QUEUE,
                    retry=False,
                    ignore_result=True,
                )
        else:
            notices_send_task.apply_async(
                queue=settings.NOTICE_TASK_QUEUE, retry=False, ignore_result=True
            )
    except Exception:
        logger.warning("notice nudge failed; the relay will send them", exc_info=True)
        return False
    return True
