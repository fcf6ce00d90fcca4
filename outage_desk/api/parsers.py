"""Request parsers that refuse bodies over API_MAX_BODY_BYTES with 413.

DRF's JSON parser reads the whole stream whatever its size; Django's
DATA_UPLOAD_MAX_MEMORY_SIZE only guards form fields. The limit here holds for
every body the API parses, before any of it is read.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers

from .errors import ERROR_TOO_LARGE, PayloadTooLarge


def body_too_large(meta: Mapping[str, Any]) -> bool:
    """Whether a request's declared body length is over API_MAX_BODY_BYTES."""
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > int(settings.API_MAX_BODY_BYTES)


def check_body_size(parser_context: Mapping[str, Any] | None) -> None:
    """Raise 413 when the declared body length is over the limit."""
    request = (parser_context or {}).get("request")
    meta = getattr(request, "META", {}) if request is not None else {}
    if body_too_large(meta):
        limit = int(settings.API_MAX_BODY_BYTES)
        raise PayloadTooLarge(detail=str(ERROR_TOO_LARGE % {"limit": limit}))


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        check_body_size(parser_context)
        return super().parse(stream, media_type, parser_context)


class FormParser(parsers.FormParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        check_body_size(parser_context)
        return super().parse(stream, media_type, parser_context)


class MultiPartParser(parsers.MultiPartParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        check_body_size(parser_context)
        return super().parse(stream, media_type, parser_context)
