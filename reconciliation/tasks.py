"""Thin Celery wrappers: load the row, call the service. Safe to run twice.

Past its attempt limit (outage_desk.task_base.AppTask) a task's run or import is
marked failed through ``on_given_up``.
"""

from pathlib import Path
from typing import Any

from celery import shared_task

from .models import ImportBatch, ReconciliationRun


def _run_given_up(task: Any, run_id: int, *args: Any, **kwargs: Any) -> None:
    from .services import run_failed

    run_failed(run_id=run_id)


def _merge_given_up(task: Any, partitions: Any, run_id: int) -> None:
    _run_given_up(task, run_id)


def _import_given_up(task: Any, batch_id: int) -> None:
    from .uploads import batch_give_up

    batch_give_up(batch_id=batch_id)


@shared_task(acks_late=True, on_given_up=_run_given_up)
def reconciliation_run_task(run_id: int, partitions: int = 1) -> None:
    from .services import run_dispatch, run_execute

    run = ReconciliationRun.objects.select_related("incident").get(pk=run_id)
    if run.status != ReconciliationRun.Status.QUEUED:
        return  # already done (or running elsewhere): a redelivery does nothing
    if partitions > 1:
        run_dispatch(run=run, partitions=partitions)
    else:
        run_execute(run=run)


@shared_task(acks_late=True, on_given_up=_run_given_up)
def reconciliation_partition_task(
    run_id: int, index: int, count: int
) -> dict[str, Any]:
    """One partition of a fanned-out run: reads only, so a redelivery is harmless."""
    from .services import run_partition

    run = ReconciliationRun.objects.select_related("incident").get(pk=run_id)
    return run_partition(run=run, index=index, count=count)


@shared_task(acks_late=True, on_given_up=_merge_given_up)
def reconciliation_merge_task(partitions: list[dict[str, Any]], run_id: int) -> None:
    """The chord's body: every partition's result, merged and stored once."""
    from .services import run_merge

    run = ReconciliationRun.objects.select_related("incident").get(pk=run_id)
    run_merge(run=run, partitions=partitions)


@shared_task(acks_late=True, on_given_up=_run_given_up)
def reconciliation_failed_task(run_id: int) -> None:
    """A partition (or the merge) raised: the run is marked failed."""
    from .services import run_failed

    run_failed(run_id=run_id)


@shared_task(acks_late=True, on_given_up=_import_given_up)
def records_import_task(batch_id: int) -> None:
    from .uploads import batch_process

    batch = ImportBatch.objects.select_related("incident", "profile").get(pk=batch_id)
    if batch.status != ImportBatch.Status.QUEUED:
        return
    batch_process(batch=batch, path=Path(batch.upload))
