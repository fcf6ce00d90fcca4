"""Infrastructure tasks."""

from celery import shared_task


@shared_task(name="outage_desk.ping")
def ping_task(value: str = "pong") -> str:
    """Echo a value back: proves a message went through the broker to a worker."""
    return value


@shared_task(name="outage_desk.idempotency_purge")
def idempotency_purge_task() -> int:
    """Forget idempotency keys older than their kept days (idempotent by nature)."""
    from .idempotency import idempotency_records_purge

    return idempotency_records_purge()
