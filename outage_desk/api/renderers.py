"""Renderers that only let content negotiation accept file downloads.

Views that serve a file return a Django ``HttpResponse`` themselves; listing one
of these next to the JSON renderer lets a client ask for the file's type in
``Accept`` while errors still come back in the JSON error shape.
"""

from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer


class _FileRenderer(BaseRenderer):
    charset = None
    format = "file"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> Any:
        if isinstance(data, bytes | str):
            return data
        # An error asked for as a file still says what went wrong, in JSON.
        return JSONRenderer().render(data)


class CSVRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class PDFRenderer(_FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class MarkdownRenderer(_FileRenderer):
    media_type = "text/markdown"
    format = "md"


class OctetStreamRenderer(_FileRenderer):
    media_type = "application/octet-stream"
    format = "bin"


class FileDownloadMixin:
    """For views that serve a file: errors always come back as JSON (the documented
    error shape), even when ``Accept`` or ``?format=`` asked for the file's type."""

    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)  # type: ignore[misc]
        request = self.request  # type: ignore[attr-defined]
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        return response
