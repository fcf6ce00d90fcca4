"""Render a notice from its template; the notifications app owns templates."""

from dataclasses import dataclass
from typing import Any

from django.template import Context, Template
from django.utils import translation

from .models import NoticeKind


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str
    body_html: str


def notice_render(
    *, kind: str, channel: str, language: str, context: dict[str, Any]
) -> Rendered:
    """Render subject and body for one kind, channel and language."""
    with translation.override(language):
        subject = str(NoticeKind(kind).label)
        body = Template(
            "{% for k, v in ctx.items %}{{ k }}: {{ v }}\n{% endfor %}"
        ).render(Context({"ctx": context}))
    return Rendered(language=language, subject=subject, body=body, body_html="")
