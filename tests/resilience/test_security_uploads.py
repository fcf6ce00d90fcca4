"""Uploads: the content decides the type, archives, markup, oversize files and paths
in names are refused; stored files get random names off the public path and download
as attachments with nosniff."""

import datetime as dt
import io
import re
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from deposits.errors import ERROR_FILE_NAME, ERROR_FILE_TOO_LARGE, ERROR_FILE_TYPE
from deposits.evidence import evidence_check
from deposits.models import Deposit, DepositEvidence
from incidents.models import BankContact
from incidents.services import bank_contact_record
from incidents.services.bank import EVIDENCE_CONTENT, EVIDENCE_NAME, EVIDENCE_TYPE
from outage_desk.tokens import api_token_create
from tests.security_support import branch_world, open_incident

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"\x00" * 64
HTML = b"<!doctype html><script>alert(document.cookie)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def zip_bomb() -> bytes:
    """Ten megabytes of zeros that compress to about ten kilobytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\x00" * 10_000_000)
    return buffer.getvalue()


def pdf_bomb() -> bytes:
    """A PDF whose one stream inflates to ten megabytes; nothing here ever inflates it."""
    import zlib

    stream = zlib.compress(b"\x00" * 10_000_000, 9)
    head = b"%PDF-1.4\n1 0 obj<</Filter/FlateDecode/Length "
    head += str(len(stream)).encode() + b">>stream\n"
    return head + stream + b"\nendstream endobj\n%%EOF"


BAD = {
    "png named pdf": ("slip.pdf", PNG),
    "html named pdf": ("slip.pdf", HTML),
    "html": ("slip.html", HTML),
    "svg": ("slip.svg", SVG),
    "svg named png": ("slip.png", SVG),
    "zip": ("slips.zip", zip_bomb()),
    "zip named pdf": ("slips.pdf", zip_bomb()),
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def world(db, media):
    return branch_world("HQ")


# -- deposits ---------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD))
def test_deposit_evidence_of_a_wrong_type_is_refused(case):
    name, content = BAD[case]

    with pytest.raises(ValidationError) as exc:
        evidence_check([SimpleUploadedFile(name, content)])

    assert exc.value.message_dict["evidence"] == [str(ERROR_FILE_TYPE % {"name": name})]


def test_deposit_evidence_type_comes_from_content_when_the_name_has_none():
    (checked,) = evidence_check([SimpleUploadedFile("IMG_0042", PNG)])

    assert checked.content_type == "image/png"


def test_django_reduces_a_slash_path_to_its_last_part():
    # Uploads never reach the services with a "/" path: UploadedFile strips it.
    assert SimpleUploadedFile("../../etc/passwd.png", PNG).name == "passwd.png"


@pytest.mark.parametrize("name", ["..\\evil.png", "C:\\x\\a.png", ".hidden.png"])
def test_deposit_evidence_with_a_path_in_its_name_is_refused(name):
    upload = SimpleUploadedFile("x.png", PNG)
    upload.name = name  # what a crafted multipart name still carries past basename()

    with pytest.raises(ValidationError) as exc:
        evidence_check([upload])

    assert exc.value.message_dict["evidence"] == [str(ERROR_FILE_NAME % {"name": name})]


def test_oversize_deposit_evidence_is_refused(settings):
    settings.DEPOSIT_EVIDENCE_MAX_BYTES = 1024 * 1024

    with pytest.raises(ValidationError) as exc:
        evidence_check([SimpleUploadedFile("big.pdf", PDF + b"\x00" * 1024 * 1024)])

    assert exc.value.message_dict["evidence"] == [
        str(ERROR_FILE_TOO_LARGE % {"name": "big.pdf", "limit": 1})
    ]


def _api_capture(client, world, incident, files):
    _, key = api_token_create(user=world.clerk, name="uploads")
    return client.post(
        "/api/v1/deposits/",
        {
            "client_uuid": str(uuid.uuid4()),
            "incident": incident.reference,
            "channel": "cash",
            "account": world.customer.account,
            "payer_name": world.customer.name,
            "amount": "10.00",
            "currency": "GBP",
            "reference": f"UP-{uuid.uuid4().hex[:6]}",
            "evidence": files,
        },
        HTTP_AUTHORIZATION=f"Token {key}",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_api_refuses_bad_evidence_and_records_nothing(client, world, case):
    incident = open_incident()
    name, content = BAD[case]

    response = _api_capture(
        client, world, incident, [SimpleUploadedFile(name, content)]
    )

    assert response.status_code == 400, response.content
    assert "evidence" in response.json()["error"]["fields"]
    assert (Deposit.objects.count(), DepositEvidence.objects.count()) == (0, 0)


def test_stored_evidence_is_random_named_private_and_downloads_as_attachment(
    client, world, media, settings
):
    incident = open_incident()

    response = _api_capture(
        client, world, incident, [SimpleUploadedFile("../../pwned.pdf", PDF)]
    )

    assert response.status_code == 201, response.content
    evidence = DepositEvidence.objects.get()
    stored = Path(evidence.file.path)
    assert re.fullmatch(r"evidence/[0-9a-f]{32}\.pdf", evidence.file.name)
    assert stored.is_relative_to(media) and stored.read_bytes() == PDF
    assert not stored.is_relative_to(Path(settings.STATIC_ROOT or "/nonexistent"))
    assert list(media.rglob("pwned*")) == []
    assert client.get(f"{settings.MEDIA_URL}{evidence.file.name}").status_code == 404

    client.force_login(world.clerk)
    download = client.get(f"/deposits/{evidence.deposit_id}/evidence/{evidence.pk}/")

    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF


# -- incidents: bank-contact evidence ---------------------------------------


def _contact(incident, user, evidence):
    return bank_contact_record(
        incident=incident,
        contacted_at=timezone.now() - dt.timedelta(minutes=5),
        channel="phone",
        staff=user,
        recorded_by=user,
        summary="Bank says two hours",
        evidence=evidence,
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("png named pdf", EVIDENCE_CONTENT.format(ext=".pdf")),
        ("html named pdf", EVIDENCE_CONTENT.format(ext=".pdf")),
        ("svg named png", EVIDENCE_CONTENT.format(ext=".png")),
        ("zip named pdf", EVIDENCE_CONTENT.format(ext=".pdf")),
        ("html", None),
        ("svg", None),
        ("zip", None),
    ],
)
def test_bank_contact_evidence_of_a_wrong_type_is_refused(world, case, message):
    from django.conf import settings

    incident = open_incident()
    name, content = BAD[case]
    message = message or EVIDENCE_TYPE.format(
        allowed=", ".join(settings.INCIDENTS_EVIDENCE_TYPES)
    )

    with pytest.raises(ValidationError) as exc:
        _contact(incident, world.supervisor, SimpleUploadedFile(name, content))

    assert exc.value.message_dict["evidence"] == [message]
    assert BankContact.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content"),
    [("note.txt", HTML), ("note.txt", b"  <svg/>"), ("mail.eml", b"<html>")],
)
def test_markup_disguised_as_text_evidence_is_refused(world, name, content):
    incident = open_incident()

    with pytest.raises(ValidationError) as exc:
        _contact(incident, world.supervisor, SimpleUploadedFile(name, content))

    assert exc.value.message_dict["evidence"] == [
        EVIDENCE_CONTENT.format(ext="." + name.rsplit(".", 1)[1])
    ]


def test_bank_contact_evidence_with_a_path_or_oversize_is_refused(world, settings):
    incident = open_incident()
    settings.INCIDENTS_EVIDENCE_MAX_BYTES = 1024 * 1024

    with pytest.raises(ValidationError) as path:
        crafted = SimpleUploadedFile("x.pdf", PDF)
        crafted.name = "..\\..\\x.pdf"
        _contact(incident, world.supervisor, crafted)
    with pytest.raises(ValidationError) as big:
        _contact(
            incident,
            world.supervisor,
            SimpleUploadedFile("big.pdf", PDF + b"\x00" * 1024 * 1024),
        )

    assert path.value.message_dict["evidence"] == [EVIDENCE_NAME]
    assert big.value.message_dict["evidence"] == [
        "The evidence file is larger than 1 MB."
    ]
    assert BankContact.objects.count() == 0


def test_a_compressed_pdf_is_stored_as_is_and_never_inflated(world, media):
    incident = open_incident()
    bomb = pdf_bomb()

    entry = _contact(incident, world.supervisor, SimpleUploadedFile("bank.pdf", bomb))

    stored = Path(entry.evidence.path)
    assert re.fullmatch(r"incidents/evidence/[0-9a-f]{32}\.pdf", entry.evidence.name)
    assert stored.stat().st_size == len(bomb) < 20_000
