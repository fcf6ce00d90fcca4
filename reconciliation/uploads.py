"""Uploads from the finance screens: store the file, import it in a worker."""

import hashlib
import threading
import uuid
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from outage_desk.audit import audit_record
from outage_desk.models import User

from .loading import MAX_STORED_ERRORS, records_import
from .models import ImportBatch, ImportProfile
from .parsers import ImportRejected

ERROR_IMPORT_FAILED = _("The import failed unexpectedly; nothing was loaded.")
ERROR_ALREADY_IMPORTED = _(
    "This file was already imported (batch %(batch)s); nothing was added."
)


def _upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "reconciliation"
    path.mkdir(parents=True, exist_ok=True)
    return path


@transaction.atomic
def batch_upload(
    *,
    incident: Incident,
    upload: UploadedFile,
    format: str,
    profile: ImportProfile | None,
    actor: User | None,
) -> ImportBatch:
    """Keep the uploaded file and queue its import; the task goes after commit."""
    from .tasks import records_import_task

    target = _upload_dir() / f"{uuid.uuid4().hex}{Path(upload.name or '').suffix[:10]}"
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            out.write(chunk)
    batch = ImportBatch.objects.create(
        incident=incident,
        file_name=(upload.name or target.name)[:255],
        sha256=digest.hexdigest(),
        format=format,
        profile=profile,
        upload=str(target),
        created_by=actor,
    )
    audit_record(
        action="records.upload_queued",
        obj=batch,
        actor=actor,
        data={"incident": incident.reference, "file": batch.file_name},
    )
    transaction.on_commit(partial(records_import_task.delay, batch.pk))
    return batch


def _progress_write(batch_pk: int, rows: int) -> None:
    """Write the row count from a connection of its own, so the screen sees it while
    the import's transaction is still open; skipped if the row is busy."""

    def write() -> None:
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL lock_timeout = '1s'")
                ImportBatch.objects.filter(pk=batch_pk).update(rows_seen=rows)
        except DatabaseError:
            pass  # progress is a courtesy; the import itself goes on
        finally:
            connection.close()

    # Django gives each thread its own connection; joining keeps the updates in order.
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join()


def batch_process(*, batch: ImportBatch, path: Path) -> ImportBatch:
    """Run a queued upload: progress while parsing, then load whole or reject."""
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, status=ImportBatch.Status.QUEUED
    ).update(status=ImportBatch.Status.RUNNING)
    if claimed != 1:
        return batch

    def progress(rows: int) -> None:
        _progress_write(batch.pk, rows)

    try:
        outcome = records_import(
            path=path,
            incident=batch.incident,
            format=batch.format,
            profile=batch.profile,
            actor=batch.created_by,
            batch=batch,
            progress=progress,
        )
    except ImportRejected as exc:
        return _batch_reject(batch, [e.as_dict() for e in exc.errors])
    except Exception:
        # Leave no batch "running" forever; the worker log has the traceback.
        _batch_reject(
            batch, [{"line": 0, "field": "file", "reason": str(ERROR_IMPORT_FAILED)}]
        )
        raise
    if outcome.already_imported:
        reason = str(ERROR_ALREADY_IMPORTED) % {"batch": outcome.batch.pk}
        return _batch_reject(batch, [{"line": 0, "field": "file", "reason": reason}])
    return outcome.batch


@transaction.atomic
def _batch_reject(batch: ImportBatch, errors: list[dict[str, object]]) -> ImportBatch:
    batch.status = ImportBatch.Status.REJECTED
    batch.errors = errors[:MAX_STORED_ERRORS]
    batch.error_count = len(errors)
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "errors", "error_count", "finished_at"])
    audit_record(
        action="records.rejected",
        obj=batch,
        actor=batch.created_by,
        data={"errors": len(errors)},
    )
    return batch


def batch_give_up(*, batch_id: int) -> bool:
    """Reject a queued or running import whose task failed for good."""
    with transaction.atomic():
        batch = (
            ImportBatch.objects.select_for_update()
            .filter(
                pk=batch_id,
                status__in=[ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING],
            )
            .first()
        )
        if batch is None:
            return False
        reason = str(ERROR_IMPORT_FAILED)
        _batch_reject(batch, [{"line": 0, "field": "file", "reason": reason}])
    return True
