"""The base class of every app task: a bounded number of deliveries, then failed.

With acks late and reject on worker lost, a message is delivered again when its
worker dies, and Redis hands it out again when it runs past the visibility timeout.
Each delivery of one message (same task id) is counted in a ``TaskRun`` row; one past
``TASK_MAX_ATTEMPTS`` runs nothing: the row is marked failed, staff are alerted and
the task's ``on_given_up`` marks its own object failed. A task that raises (or hits
its hard time limit) ends the same way at once: acks late acknowledges it, so it is
never delivered again. A success forgets the row.
"""

import logging
from typing import Any

from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

ERROR_ATTEMPTS_EXHAUSTED = "delivered %(attempts)s times; the limit is %(limit)s"


class AppTask(DjangoTask):  # type: ignore[misc]
    """Counts deliveries per message and fails for good past ``max_attempts``."""

    abstract = True
    # Deliveries of one message, counting those after a lost worker or timeout.
    max_attempts: int = settings.TASK_MAX_ATTEMPTS

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = self.request.id
        if task_id is None or self.request.called_directly or _builtin(self.name):
            return super().__call__(*args, **kwargs)
        attempts = task_run_attempt(task_id=task_id, name=self.name)
        if attempts > self.max_attempts:
            error = ERROR_ATTEMPTS_EXHAUSTED % {
                "attempts": attempts,
                "limit": self.max_attempts,
            }
            self._fail(task_id, args, kwargs, error)
            return None
        result = super().__call__(*args, **kwargs)
        _task_run_model().objects.filter(
            task_id=task_id, status=_task_run_model().Status.RUNNING
        ).delete()
        return result

    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Raised, or killed at the hard time limit: acknowledged, so failed for good."""
        if task_id and not _builtin(self.name):
            self._fail(task_id, args, kwargs, f"{type(exc).__name__}: {exc}")
        super().on_failure(exc, task_id, args, kwargs, einfo)

    def on_given_up(self, *args: Any, **kwargs: Any) -> None:
        """Mark the task's own object failed; a task with one overrides this."""

    def _fail(self, task_id: str, args: Any, kwargs: Any, error: str) -> None:
        if task_run_fail(task_id=task_id, name=self.name, error=error):
            self.on_given_up(*(args or ()), **(kwargs or {}))
            task_failure_alert(name=self.name, task_id=task_id, error=error)


def _builtin(name: str) -> bool:
    return name.startswith("celery.")


def _task_run_model() -> Any:
    from .models import TaskRun

    return TaskRun


def task_run_attempt(*, task_id: str, name: str) -> int:
    """Count one more delivery of a message; returns how many there have been."""
    model = _task_run_model()
    model.objects.get_or_create(task_id=task_id, defaults={"name": name[:255]})
    model.objects.filter(task_id=task_id).update(attempts=F("attempts") + 1)
    return int(model.objects.values_list("attempts", flat=True).get(task_id=task_id))


def task_run_fail(*, task_id: str, name: str, error: str) -> bool:
    """Mark a message failed; True only the first time (one alert per message)."""
    model = _task_run_model()
    model.objects.get_or_create(task_id=task_id, defaults={"name": name[:255]})
    return bool(
        model.objects.filter(task_id=task_id)
        .exclude(status=model.Status.FAILED)
        .update(
            status=model.Status.FAILED, error=error[:2000], failed_at=timezone.now()
        )
    )


def task_failure_alert(*, name: str, task_id: str, error: str) -> None:
    """Tell operations a task failed for good: an error log line and an e-mail."""
    logger.error("task %s [%s] failed for good: %s", name, task_id, error)
    recipients = settings.TASK_FAILURE_ALERT_EMAILS
    if not recipients:
        return
    # Sent straight away (not through the notice outbox, which is itself run by
    # tasks); a mail server that is down leaves the log line and the failed row.
    send_mail(
        subject=_("Task failed: %(name)s") % {"name": name},
        message=_(
            "The background task %(name)s (id %(task_id)s) failed and will not run "
            "again by itself.\n\nError: %(error)s\n\nWhat it was doing has been "
            "marked failed; start it again once the cause is fixed."
        )
        % {"name": name, "task_id": task_id, "error": error},
        from_email=None,
        recipient_list=list(recipients),
        fail_silently=True,
    )
