import csv
from io import StringIO
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deposits.models import Deposit
from reconciliation.models import ImportBatch, Match, ReconciliationRun, SystemRecord
from reconciliation.tasks import reconciliation_run_task, records_import_task

from . import samples
from .factories import deposit_make, incident_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db):
    return incident_make()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("clerk", 403), ("supervisor", 403), ("lead", 403), ("finance", 200)],
)
def test_only_finance_sees_the_screens(client, request, incident, persona, status):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/reconciliation/").status_code == status
    assert client.get(f"/reconciliation/{incident.reference}/").status_code == status


def test_anonymous_users_are_sent_to_log_in(client, incident):
    response = client.get(f"/reconciliation/{incident.reference}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_clerk_cannot_upload(client, clerk, incident):
    client.force_login(clerk)
    upload = SimpleUploadedFile("r.csv", samples.CANONICAL.encode())

    response = client.post(
        f"/reconciliation/{incident.reference}/upload/",
        {"file": upload, "format": "csv"},
    )

    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0


def test_an_upload_is_imported_in_the_background(
    client, finance, incident, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(finance)
    upload = SimpleUploadedFile("r.csv", samples.CANONICAL.encode())

    with mock.patch.object(records_import_task, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/reconciliation/{incident.reference}/upload/",
                {"file": upload, "format": "csv"},
            )

    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.QUEUED
    delay.assert_called_once_with(batch.pk)
    records_import_task(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded) == (ImportBatch.Status.LOADED, 3)
    assert SystemRecord.objects.count() == 3
    records_import_task(batch.pk)  # a redelivery changes nothing
    assert SystemRecord.objects.count() == 3


def test_a_bad_upload_is_rejected_with_its_rows_listed(
    client, finance, incident, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(finance)
    bad = samples.CANONICAL.replace("250.50", "abc")
    with mock.patch.object(records_import_task, "delay"):
        client.post(
            f"/reconciliation/{incident.reference}/upload/",
            {"file": SimpleUploadedFile("r.csv", bad.encode()), "format": "csv"},
        )
    batch = ImportBatch.objects.get()

    records_import_task(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.REJECTED
    assert batch.errors == [
        {"line": 3, "field": "amount", "reason": "“abc” is not an amount."}
    ]
    assert SystemRecord.objects.count() == 0
    page = client.get(f"/reconciliation/{incident.reference}/")
    assert "“abc” is not an amount." in page.content.decode()


def test_finance_runs_confirms_and_exports_from_the_screens(
    client, finance, incident, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    deposit_make(incident, receipt_number="R-1", amount="100.00", reference="INV-1")
    path = tmp_path / "r.csv"
    path.write_text(samples.CANONICAL)
    from reconciliation.loading import records_import

    records_import(path=path, incident=incident)
    client.force_login(finance)

    with mock.patch.object(reconciliation_run_task, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/reconciliation/{incident.reference}/run/")
    run = ReconciliationRun.objects.get()
    delay.assert_called_once_with(run.pk)
    reconciliation_run_task(run.pk)
    match = Match.objects.get()
    page = client.get(f"/reconciliation/{incident.reference}/")
    assert "R-1" in page.content.decode()
    response = client.post(f"/reconciliation/matches/{match.pk}/confirm/")
    assert response.status_code == 302
    assert Deposit.objects.get().status == Deposit.Status.CONFIRMED
    export = client.get(f"/reconciliation/runs/{run.pk}/export.csv")
    rows = list(csv.reader(StringIO(export.content.decode())))
    assert rows[1][:4] == ["matched", "reference", "R-1", "TX-1"]
    assert rows[1][-1] == "confirmed"


def test_the_progress_fragment_refreshes_the_page_when_work_ends(
    client, finance, incident
):
    client.force_login(finance)

    response = client.get(
        f"/reconciliation/{incident.reference}/", headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert "<html" not in response.content.decode()


def test_a_dry_run_shows_what_a_real_run_would_change(client, finance, incident):
    from reconciliation.services import run_create, run_execute

    deposit_make(incident, receipt_number="R-1", amount="10.00")
    run_execute(run=run_create(incident=incident, dry_run=True))
    client.force_login(finance)

    html = client.get(f"/reconciliation/{incident.reference}/").content.decode()

    assert 'data-testid="dry-run"' in html
    assert "a real run now would make 0 matches (0 new, 0 fewer" in html
    assert "and 1 discrepancies." in html


@pytest.mark.django_db(transaction=True)
def test_upload_progress_is_written_from_its_own_connection():
    from reconciliation.uploads import _progress_write

    incident = incident_make()
    batch = ImportBatch.objects.create(
        incident=incident, file_name="big.csv", sha256="0" * 64, format="csv"
    )

    _progress_write(batch.pk, 40000)

    batch.refresh_from_db()
    assert batch.rows_seen == 40000
