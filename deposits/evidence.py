"""Evidence files: the type comes from the first bytes, never from the name."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from .errors import (
    ERROR_FILE_NAME,
    ERROR_FILE_TOO_LARGE,
    ERROR_FILE_TYPE,
    ERROR_TOO_MANY_FILES,
)

MAGIC_TYPES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
]


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    content_type: str
    size: int


def evidence_max_bytes() -> int:
    return int(getattr(settings, "DEPOSIT_EVIDENCE_MAX_BYTES", 5 * 1024 * 1024))


def evidence_name_is_plain(name: str) -> bool:
    """No folders, no parent references, no control characters in an uploaded name."""
    return not (
        "/" in name
        or "\\" in name
        or name.startswith(".")
        or any(ord(ch) < 32 for ch in name)
    )


# A name with one of these endings must hold that type: a PNG named .pdf is refused.
_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".pdf": "application/pdf",
}


def _name_fits(name: str, content_type: str) -> bool:
    ext = "." + name.lower().rsplit(".", 1)[-1] if "." in name else ""
    return _EXTENSIONS.get(ext, content_type) == content_type


def evidence_sniff(upload: UploadedFile) -> str | None:
    """The content type read from the file's magic bytes, or None if not allowed."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    for magic, content_type in MAGIC_TYPES:
        if head.startswith(magic):
            return content_type
    return None


def evidence_check(uploads: Sequence[UploadedFile]) -> list[CheckedFile]:
    """Refuse wrong types, oversized files and too many files; nothing is stored."""
    limit_files = int(getattr(settings, "DEPOSIT_EVIDENCE_MAX_FILES", 5))
    if len(uploads) > limit_files:
        raise ValidationError(
            {
                "evidence": ValidationError(
                    ERROR_TOO_MANY_FILES, params={"limit": limit_files}, code="count"
                )
            }
        )
    checked, errors = [], []
    limit = evidence_max_bytes()
    for upload in uploads:
        name = upload.name or "file"
        if not evidence_name_is_plain(name):
            errors.append(
                ValidationError(ERROR_FILE_NAME, params={"name": name}, code="name")
            )
            continue
        if (upload.size or 0) > limit:
            errors.append(
                ValidationError(
                    ERROR_FILE_TOO_LARGE,
                    params={"name": name, "limit": limit // (1024 * 1024)},
                    code="size",
                )
            )
            continue
        content_type = evidence_sniff(upload)
        if content_type is None or not _name_fits(name, content_type):
            errors.append(
                ValidationError(ERROR_FILE_TYPE, params={"name": name}, code="type")
            )
            continue
        checked.append(CheckedFile(upload, content_type, upload.size or 0))
    if errors:
        raise ValidationError({"evidence": errors})
    return checked
