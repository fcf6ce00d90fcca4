"""Infrastructure tasks."""

from celery import shared_task


@shared_task(name="outage_desk.ping")
def ping_task(value: str = "pong") -> str:
    """Echo a value back: proves a message went through the broker to a worker."""
    return value
