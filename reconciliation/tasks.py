"""Thin Celery wrappers: load the row, call the service. Safe to run twice."""

from pathlib import Path

from celery import shared_task

from .models import ImportBatch, ReconciliationRun


@shared_task(acks_late=True)
def reconciliation_run_task(run_id: int) -> None:
    from .services import run_execute

    run = ReconciliationRun.objects.select_related("incident").get(pk=run_id)
    if run.status != ReconciliationRun.Status.QUEUED:
        return  # already done (or running elsewhere): a redelivery does nothing
    run_execute(run=run)


@shared_task(acks_late=True)
def records_import_task(batch_id: int) -> None:
    from .uploads import batch_process

    batch = ImportBatch.objects.select_related("incident", "profile").get(pk=batch_id)
    if batch.status != ImportBatch.Status.QUEUED:
        return
    batch_process(batch=batch, path=Path(batch.upload))
