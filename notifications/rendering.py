"""Render notices from their templates, safely; check templates before they are saved.

Staff edit templates in the browser. They are compiled by a Django template engine
that knows only the tags and filters in ``sandbox.py``, and every placeholder must
be one the kind allows (``placeholders.py``). One function, ``render_parts``, turns a
template version (or a shipped default) and a context into subject, text and HTML,
like healthchecks' ``hc/lib/emails.py``.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, VariableNode
from django.utils.translation import gettext_lazy as _

from .models import Channel
from .placeholders import placeholders_for

TEMPLATE_UNKNOWN_PLACEHOLDER = _(
    "%(field)s: unknown placeholder “%(name)s”. Allowed: %(allowed)s."
)
TEMPLATE_DOTTED_PLACEHOLDER = _(
    "%(field)s: “%(name)s” is not allowed; placeholders are plain names."
)
TEMPLATE_SYNTAX_ERROR = _("%(field)s: template syntax error: %(error)s")
TEMPLATE_TAG_NOT_ALLOWED = _("%(field)s: the tag “%(tag)s” is not allowed.")

DEFAULTS_DIR = (
    Path(__file__).resolve().parent / "templates" / "notifications" / "defaults"
)


class SandboxEngine(Engine):
    """An engine whose only built-in library is ``sandbox``: no load, include, url."""

    default_builtins = ["notifications.sandbox"]


_TEXT_ENGINE = SandboxEngine(autoescape=False, string_if_invalid="")
_HTML_ENGINE = SandboxEngine(autoescape=True, string_if_invalid="")
# A notice subject is cut to the column's length.
SUBJECT_MAX_LENGTH = 255
_ALLOWED_NODES = ("TextNode", "VariableNode", "IfNode", "CommentNode")


@dataclass(frozen=True)
class Parts:
    subject: str
    body: str
    body_html: str


def language_normalize(language: str) -> str:
    """Map what callers pass ("zh_Hans", "zh-CN", "EN") to a supported language code."""
    code = (language or "").strip().lower().replace("_", "-")
    if code.startswith("zh"):
        code = "zh-hans"
    supported = {lang for lang, _name in settings.LANGUAGES}
    if code in supported:
        return code
    base = code.split("-")[0]
    return base if base in supported else settings.LANGUAGE_CODE


def _filter_expressions(node: Node) -> list[FilterExpression]:
    """Every expression a node evaluates, including those inside ``if`` conditions."""
    found: list[FilterExpression] = []
    if isinstance(node, VariableNode):
        found.append(node.filter_expression)
    for condition, _nodelist in getattr(node, "conditions_nodelists", []):
        stack = [condition]
        while stack:
            item = stack.pop()
            if item is None:
                continue
            if isinstance(getattr(item, "value", None), FilterExpression):
                found.append(item.value)
            stack.extend([getattr(item, "first", None), getattr(item, "second", None)])
    return found


def _variable_names(fe: FilterExpression) -> list[tuple[str, ...]]:
    names = []
    var = fe.var
    if getattr(var, "lookups", None):
        names.append(var.lookups)
    for _func, args in fe.filters:
        for lookup, arg in args:
            if lookup and getattr(arg, "lookups", None):
                names.append(arg.lookups)
    return names


def _walk(nodelist: Any) -> list[Node]:
    nodes = []
    for node in nodelist:
        nodes.append(node)
        for attr in node.child_nodelists:
            nodes.extend(_walk(getattr(node, attr, None) or []))
        for _condition, child in getattr(node, "conditions_nodelists", []):
            nodes.extend(_walk(child))
    return nodes


def source_validate(*, kind: str, field: str, source: str, html: bool = False) -> None:
    """Refuse broken syntax, other tags and unknown placeholders, naming the culprit."""
    try:
        template = compile_source(source, html=html)
    except TemplateSyntaxError as exc:
        raise ValidationError(
            TEMPLATE_SYNTAX_ERROR, params={"field": field, "error": str(exc)}
        ) from exc
    allowed = placeholders_for(kind)
    for node in _walk(template.nodelist):
        if type(node).__name__ not in _ALLOWED_NODES:
            raise ValidationError(
                TEMPLATE_TAG_NOT_ALLOWED,
                params={"field": field, "tag": type(node).__name__},
            )
        for fe in _filter_expressions(node):
            for lookups in _variable_names(fe):
                name = ".".join(lookups)
                if lookups[0] not in allowed:
                    raise ValidationError(
                        TEMPLATE_UNKNOWN_PLACEHOLDER,
                        params={
                            "field": field,
                            "name": name,
                            "allowed": ", ".join(sorted(allowed)),
                        },
                    )
                if len(lookups) > 1:
                    raise ValidationError(
                        TEMPLATE_DOTTED_PLACEHOLDER,
                        params={"field": field, "name": name},
                    )


@lru_cache(maxsize=512)
def prints_verbatim(source: str, name: str, *, html: bool) -> bool:
    """Whether ``source`` uses ``name`` only as a bare ``{{ name }}`` (no filter, no
    condition): what it renders then holds the value exactly as given, for a value
    that escaping leaves alone, and nothing else in it depends on that value."""
    for node in _walk(compile_source(source, html=html).nodelist):
        for fe in _filter_expressions(node):
            bare = isinstance(node, VariableNode) and not fe.filters
            for lookups in _variable_names(fe):
                if lookups[0] == name and not (bare and lookups == (name,)):
                    return False
    return True


@lru_cache(maxsize=512)
def compile_source(source: str, *, html: bool) -> Template:
    """Compile once per distinct source: versions are never edited, only added."""
    return Template(source, engine=_HTML_ENGINE if html else _TEXT_ENGINE)


def render_parts(
    *,
    channel: str,
    subject: str,
    body_text: str,
    body_html: str,
    context: dict[str, Any],
) -> Parts:
    """The one renderer: subject and text without escaping, HTML autoescaped."""
    ctx = Context(context, autoescape=False)
    body = compile_source(body_text, html=False).render(ctx).strip()
    if channel != Channel.EMAIL:
        return Parts(subject="", body=body, body_html="")
    rendered_subject = " ".join(compile_source(subject, html=False).render(ctx).split())
    html = (
        compile_source(body_html, html=True).render(Context(context)).strip()
        if body_html
        else ""
    )
    return Parts(
        subject=rendered_subject[:SUBJECT_MAX_LENGTH], body=body, body_html=html
    )


def default_sources(*, kind: str, channel: str, language: str) -> dict[str, str]:
    """The shipped default wording, read from the files under ``defaults/<language>/``."""
    folder = DEFAULTS_DIR / language
    if channel == Channel.SMS:
        return {
            "subject": "",
            "body_text": (folder / f"{kind}-sms.txt").read_text(encoding="utf-8"),
            "body_html": "",
        }
    return {
        "subject": (folder / f"{kind}-subject.txt").read_text(encoding="utf-8").strip(),
        "body_text": (folder / f"{kind}-body.txt").read_text(encoding="utf-8"),
        "body_html": (folder / f"{kind}-body.html").read_text(encoding="utf-8"),
    }
