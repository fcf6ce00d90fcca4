"""The one entry point other apps call: notify() writes outbox rows, nothing else."""

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outage_desk import rawsql

from ..models import (
    EVENT_KINDS,
    MANDATORY_KINDS,
    TEMPLATED_CHANNELS,
    Channel,
    Notice,
    NoticeKind,
    NoticeRef,
    NoticeTemplate,
    NoticeTemplateVersion,
    OptOut,
    WebhookEndpoint,
)
from ..preferences import unsubscribe_url
from ..rendering import default_sources, language_normalize, render_parts

logger = logging.getLogger(__name__)

NOTIFY_UNKNOWN_KIND = _("Unknown notice kind “%(kind)s”.")
NOTIFY_UNKNOWN_CHANNEL = _("Recipient %(index)s: unknown channel “%(channel)s”.")
NOTIFY_INVALID_EMAIL = _(
    "Recipient %(index)s: “%(address)s” is not a valid e-mail address."
)
NOTIFY_INVALID_PHONE = _(
    "Recipient %(index)s: “%(address)s” is not a valid phone number; "
    "use the international form, e.g. +447700900123."
)
NOTIFY_UNKNOWN_WEBHOOK = _(
    "Recipient %(index)s: “%(address)s” is not an active webhook endpoint."
)
NOTIFY_NO_TEMPLATE = _("No approved %(channel)s template for “%(kind)s”.")


@dataclass(frozen=True)
class Recipient:
    """Where one notice goes: a channel, an address and the language to write it in."""

    channel: str
    address: str
    language: str = "en"


# Built once: a choices class's .values builds a new list on every call.
_CHANNELS = frozenset(Channel.values)
_KINDS = frozenset(NoticeKind.values)


def recipient_clean(recipient: Recipient, *, index: int = 1) -> Recipient:
    """The recipient with its address normalised, or a ValidationError naming it."""
    params = {
        "index": index,
        "address": recipient.address,
        "channel": recipient.channel,
    }
    if recipient.channel not in _CHANNELS:
        raise ValidationError(NOTIFY_UNKNOWN_CHANNEL, params=params)
    address = (recipient.address or "").strip()
    if recipient.channel == Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(NOTIFY_INVALID_EMAIL, params=params) from None
    elif recipient.channel == Channel.SMS:
        address = _phone_e164(address, params)
    return Recipient(recipient.channel, address, language_normalize(recipient.language))


def _phone_e164(address: str, params: dict[str, Any]) -> str:
    try:
        number = phonenumbers.parse(address, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(NOTIFY_INVALID_PHONE, params=params) from None
    # "Possible" (right length for the country), not "valid": fictional test ranges
    # such as +44 7700 900xxx must pass, and the provider has the final word.
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(NOTIFY_INVALID_PHONE, params=params)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _dedupe(key: str, channel: str, address: str) -> str:
    full = f"{key}:{channel}:{address}"
    if len(full) <= 200:
        return full
    # Long keys keep a readable prefix and a digest of the whole for uniqueness.
    return f"{full[:150]}#{hashlib.sha256(full.encode()).hexdigest()}"[:200]


def template_version_current(
    *, kind: str, channel: str, language: str
) -> NoticeTemplateVersion:
    """The approved version to render from, falling back to the default language."""
    for lang in dict.fromkeys([language, settings.LANGUAGE_CODE]):
        version = (
            NoticeTemplateVersion.objects.filter(
                template__kind=kind,
                template__channel=channel,
                template__language=lang,
                status=NoticeTemplateVersion.Status.APPROVED,
            )
            .select_related("template")
            .order_by("-number")
            .first()
        )
        if version is not None:
            return version
    if templates_load_defaults(kinds=[kind]):
        return template_version_current(kind=kind, channel=channel, language=language)
    raise ValidationError(NOTIFY_NO_TEMPLATE, params={"kind": kind, "channel": channel})


def templates_load_defaults(
    *,
    kinds: Iterable[str] | None = None,
    template_model: Any = NoticeTemplate,
    version_model: Any = NoticeTemplateVersion,
) -> int:
    """Create the shipped default templates that are missing, approved; returns how many.

    The data migration passes its historical models; notify() calls it when a
    database lost its defaults (a flushed test database, a kind added later).
    """
    from ..models import TEMPLATED_CHANNELS, TEMPLATED_KINDS

    created = 0
    now = timezone.now()
    for kind in kinds or TEMPLATED_KINDS:
        if kind == NoticeKind.WEBHOOK:
            continue
        for channel in TEMPLATED_CHANNELS:
            for language, _name in settings.LANGUAGES:
                template, _new = template_model.objects.get_or_create(
                    kind=kind, channel=channel, language=language
                )
                if template.versions.exists():
                    continue
                sources = default_sources(kind=kind, channel=channel, language=language)
                version_model.objects.create(
                    template=template,
                    number=1,
                    status="approved",
                    approved_at=now,
                    **sources,
                )
                created += 1
    return created


def _webhook_recipients(
    kind: str,
    explicit: list[Recipient],
    endpoints: list[WebhookEndpoint] | None = None,
) -> list[Recipient]:
    if endpoints is None:
        endpoints = list(WebhookEndpoint.objects.filter(active=True))
    urls = {endpoint.url for endpoint in endpoints}
    for index, recipient in enumerate(explicit, start=1):
        if recipient.channel == Channel.WEBHOOK and recipient.address not in urls:
            raise ValidationError(
                NOTIFY_UNKNOWN_WEBHOOK,
                params={"index": index, "address": recipient.address},
            )
    # Integrators' subscriptions: every active endpoint listening for this kind.
    return [
        Recipient(Channel.WEBHOOK, endpoint.url, settings.LANGUAGE_CODE)
        for endpoint in endpoints
        if kind in endpoint.events
    ]


def _opted_out(kind: str, recipients: list[Recipient]) -> set[tuple[str, str]]:
    if kind in MANDATORY_KINDS or not recipients:
        return set()
    addresses = {r.address for r in recipients}
    return set(
        OptOut.objects.filter(address__in=addresses).values_list("channel", "address")
    )


def notify(
    *,
    kind: str,
    recipients: Iterable[Recipient],
    context: dict[str, Any],
    dedupe_key: str,
    subject_refs: Iterable[str] = (),
    supersede_key: str = "",
    fresh: bool = False,
) -> list[Notice]:
    """Write one pending notice per recipient in the caller's transaction.

    ``dedupe_key`` names the event ("deposit:42:received"); with the channel and
    address it makes each notice unique, so a repeated call adds nothing. A bad
    recipient raises ValidationError before anything is written. Opted-out
    addresses get nothing for kinds that are not mandatory.

    ``fresh`` says the event itself was written in this transaction (its key names
    a row inserted in it), so no notice of it can exist yet: the rows are inserted
    without first looking for earlier ones, two round trips fewer.
    """
    rows = notices_prepare(
        kind=kind,
        recipients=recipients,
        context=context,
        dedupe_key=dedupe_key,
        subject_refs=subject_refs,
        supersede_key=supersede_key,
    )
    # Checks and rendering above only read (or raise before anything is written).
    # The writes need no savepoint of their own: a database error in them fails
    # the caller's transaction anyway, and a savepoint costs two round trips inside
    # the caller's locks (a capture holds its branch's receipt counter).
    with transaction.atomic(savepoint=False):
        return _notices_write(rows, fresh=fresh)[0]


def notices_prepare(
    *,
    kind: str,
    recipients: Iterable[Recipient],
    context: dict[str, Any],
    dedupe_key: str,
    subject_refs: Iterable[str] = (),
    supersede_key: str = "",
    lookups: "NoticeLookups | None" = None,
) -> dict[str, Notice]:
    """notify()'s checks and rendering: the unsaved notices by dedupe key.

    ``lookups``: the webhook endpoints and template versions, read by the caller
    in one of its own statements (see ``notice_lookups_sql``); without them each is
    read here.
    """
    if kind not in _KINDS:
        raise ValidationError(NOTIFY_UNKNOWN_KIND, params={"kind": kind})
    clean = json.loads(json.dumps(context, cls=DjangoJSONEncoder))
    wanted = [recipient_clean(r, index=i) for i, r in enumerate(recipients, start=1)]
    endpoints = lookups.endpoints if lookups else None
    wanted += _webhook_recipients(kind, wanted, endpoints)
    refs = list(dict.fromkeys(str(ref)[:100] for ref in subject_refs))
    skip = _opted_out(kind, wanted)
    rows: dict[str, Notice] = {}
    cache: dict[tuple[str, str], Any] = dict(lookups.cache) if lookups else {}
    for recipient in wanted:
        key = _dedupe(dedupe_key, recipient.channel, recipient.address)
        if (recipient.channel, recipient.address) in skip or key in rows:
            continue
        rows[key] = _notice_build(kind, recipient, clean, refs, supersede_key, cache)
        rows[key].dedupe_key = key
    return rows


@dataclass(frozen=True)
class NoticeLookups:
    """What rendering notices reads: the active webhook endpoints, and the current
    version per (channel, asked-for language) with the default-language fallback
    applied. A combination not in ``cache`` is read as usual."""

    endpoints: list[WebhookEndpoint]
    cache: dict[tuple[str, str], Any]


def notice_lookups_sql(*, kind: str) -> str:
    """A SQL expression (one json value) with what notices of ``kind`` need: every
    active endpoint, and every approved version of the kind's templates, newest
    first. Its one parameter is the list of languages to read versions in.
    """
    endpoints = WebhookEndpoint._meta.db_table
    versions = NoticeTemplateVersion._meta.db_table
    templates = NoticeTemplate._meta.db_table
    return (
        "json_build_array("  # noqa: S608 (model names and a checked kind only)
        "(SELECT coalesce(json_agg(json_build_array(e.id, e.url, e.events)"
        f" ORDER BY e.id), '[]') FROM {endpoints} e WHERE e.active),"
        "(SELECT coalesce(json_agg(json_build_array(v.id, v.template_id, v.number,"
        " v.subject, v.body_text, v.body_html, t.channel, t.language)"
        " ORDER BY v.number DESC), '[]')"
        f" FROM {versions} v JOIN {templates} t ON t.id = v.template_id"
        f" WHERE t.kind = '{NoticeKind(kind).value}' AND v.status = 'approved'"
        " AND t.language = ANY(%s)))"
    )


def notice_lookups_parse(
    value: Any, *, kind: str, languages: Iterable[str]
) -> NoticeLookups:
    """The NoticeLookups of one ``notice_lookups_sql`` value (a parsed json array)."""
    endpoint_rows, version_rows = value
    endpoints = [
        WebhookEndpoint.from_db(
            connection.alias, ["id", "url", "events", "active"], [*row, True]
        )
        for row in endpoint_rows
    ]
    newest: dict[tuple[str, str], NoticeTemplateVersion] = {}
    for pk, template_id, number, subject, text, html, channel, lang in version_rows:
        if (channel, lang) in newest:
            continue
        version = NoticeTemplateVersion.from_db(
            connection.alias,
            ["id", "template_id", "number", "subject", "body_text", "body_html"],
            [pk, template_id, number, subject, text, html],
        )
        version.template = NoticeTemplate.from_db(
            connection.alias,
            ["id", "kind", "channel", "language"],
            [template_id, kind, channel, lang],
        )
        newest[(channel, lang)] = version
    cache: dict[tuple[str, str], Any] = {
        (str(Channel.WEBHOOK), e.url): e for e in endpoints
    }
    for channel in TEMPLATED_CHANNELS:
        for language in languages:
            for lang in dict.fromkeys([language, settings.LANGUAGE_CODE]):
                if (channel, lang) in newest:
                    cache[(str(channel), language)] = newest[(channel, lang)]
                    break
    return NoticeLookups(endpoints=endpoints, cache=cache)


def notices_insert_sql(rows: Iterable[Notice]) -> tuple[str, list[Any]]:
    """One statement inserting new notices (see ``fresh``) with their refs.

    For a caller that writes in statements of its own; it calls
    ``notices_written()`` after running it.
    """
    notices = list(rows)
    columns = rawsql.insert_fields(Notice)
    notice_table, ref_table = rawsql.table(Notice), rawsql.table(NoticeRef)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list[Any] = []
    for notice in notices:
        params += rawsql.insert_params(notice)
    refs = [(n.dedupe_key, ref) for n in notices for ref in n.subject_refs]
    for key, ref in refs:
        params += [key, ref]
    quote = connection.ops.quote_name
    insert = (
        f"INSERT INTO {notice_table} ({', '.join(quote(c.column) for c in columns)})"  # noqa: S608
        f" VALUES {', '.join([one] * len(notices))} RETURNING id, dedupe_key"
    )
    if not refs:
        return insert, params
    return (
        f"WITH n AS ({insert}) INSERT INTO {ref_table} (notice_id, ref)"  # noqa: S608
        " SELECT n.id, r.ref FROM n JOIN (VALUES "
        + ", ".join(["(%s, %s)"] * len(refs))
        + ") AS r (k, ref) ON r.k = n.dedupe_key",
        params,
    )


def notices_written() -> None:
    """After notices were inserted in the current transaction: wake the workers
    once it commits."""
    _nudge_once_after_commit()


def _notices_write(rows: dict[str, Notice], *, fresh: bool) -> tuple[list[Notice], int]:
    """Insert the rows not written yet (by dedupe key) with their refs (each notice's
    ``subject_refs``); returns every row's notice and how many were new.

    ``fresh`` (see ``notify()``): none can exist yet, so none is looked for.
    """
    if fresh and connection.features.can_return_rows_from_bulk_insert:
        notices = Notice.objects.bulk_create(list(rows.values()), batch_size=1000)
        existing: set[str] = set()
    else:
        existing = set(
            Notice.objects.filter(dedupe_key__in=list(rows)).values_list(
                "dedupe_key", flat=True
            )
        )
        new = [row for key, row in rows.items() if key not in existing]
        Notice.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
        notices = list(Notice.objects.filter(dedupe_key__in=list(rows)).order_by("pk"))
    NoticeRef.objects.bulk_create(
        [
            NoticeRef(notice=notice, ref=ref)
            for notice in notices
            if notice.dedupe_key not in existing
            for ref in notice.subject_refs
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    written = len(rows) - len(existing)
    if written:
        _nudge_once_after_commit()
    return notices, written


def webhook_event_publish(
    *,
    event: str,
    data: dict[str, Any],
    dedupe_key: str,
    subject_refs: Iterable[str] = (),
    fresh: bool = False,
) -> list[Notice]:
    """One signed webhook per active endpoint subscribed to ``event``, via the outbox.

    Runs in the caller's transaction like ``notify()`` (``fresh`` as there);
    ``dedupe_key`` names the occurrence, so a repeated call sends nothing twice.
    """
    if event not in EVENT_KINDS:
        raise ValidationError(NOTIFY_UNKNOWN_KIND, params={"kind": event})
    return notify(
        kind=event,
        recipients=[],
        context=data,
        dedupe_key=dedupe_key,
        subject_refs=subject_refs,
        fresh=fresh,
    )


def _notice_build(
    kind: str,
    recipient: Recipient,
    context: dict[str, Any],
    refs: list[str],
    supersede_key: str,
    cache: dict[tuple[str, str], Any],
) -> Notice:
    """An unsaved notice, rendered; ``cache`` keeps lookups to one per channel."""
    notice = Notice(
        kind=kind,
        channel=recipient.channel,
        recipient=recipient.address,
        language=recipient.language,
        context=context,
        subject_refs=refs,
        supersede_key=supersede_key,
    )
    if recipient.channel == Channel.WEBHOOK:
        ckey: tuple[str, str] = (str(Channel.WEBHOOK), recipient.address)
        if ckey not in cache:
            cache[ckey] = WebhookEndpoint.objects.get(url=recipient.address)
        notice.webhook_endpoint = cache[ckey]
        notice.body = json.dumps(
            {"event": kind, "data": context, "refs": refs},
            ensure_ascii=False,
            sort_keys=True,
        )
        return notice
    ckey = (str(recipient.channel), recipient.language)
    if ckey not in cache:
        cache[ckey] = template_version_current(
            kind=kind, channel=recipient.channel, language=recipient.language
        )
    version = cache[ckey]
    parts = render_parts(
        channel=recipient.channel,
        subject=version.subject,
        body_text=version.body_text,
        body_html=version.body_html,
        context=notice_template_context(
            kind=kind,
            channel=recipient.channel,
            address=recipient.address,
            context=context,
        ),
    )
    notice.template_version = version
    notice.language = version.template.language
    notice.subject, notice.body, notice.body_html = (
        parts.subject,
        parts.body,
        parts.body_html,
    )
    return notice


def notice_template_context(
    *, kind: str, channel: str, address: str, context: dict[str, Any]
) -> dict[str, Any]:
    """What a notice's template is rendered with: the caller's context, the site's
    address and, in optional e-mails, the recipient's own unsubscribe link."""
    full = {"site_url": settings.SITE_URL, **context}
    if kind not in MANDATORY_KINDS and channel == Channel.EMAIL:
        full["unsubscribe_url"] = unsubscribe_url(channel=channel, address=address)
    return full


def _nudge_once_after_commit() -> None:
    """One nudge per transaction, however many notify() calls a fan-out makes."""
    conn = transaction.get_connection()
    if not any(
        func is _nudge_after_commit for _sids, func, _robust in conn.run_on_commit
    ):
        transaction.on_commit(_nudge_after_commit)


# How long a request waits for its nudge; a broker that is slower (or hung: it
# accepts and never answers) is left to the nudging thread and the relay.
NUDGE_WAIT_SECONDS = 0.2


class _Nudger:
    """The process's one nudging thread, started on first use (again in a forked child).

    A worker woken once sends every due notice, so a busy process nudges at most
    once per NOTICE_NUDGE_MIN_INTERVAL: a commit inside the interval leaves one
    trailing nudge for its end instead of a broker call of its own. One nudge is on
    its way at a time: while one waits on a slow broker, later commits owe one
    more for after it instead of waiting (the relay catches what a lost nudge
    leaves), so a hung Redis never holds a request for its socket timeouts. The
    thread lives as long as the process, so its broker producer and Celery's
    per-thread result backend are made once, not once per nudge.
    """

    def __init__(self) -> None:
        self._reset()
        # A forked child (a gunicorn or Celery worker) has none of the parent's
        # threads and perhaps a lock the parent held: it starts afresh.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last = 0.0  # time.monotonic() of the latest nudge
        self._due: float | None = None  # when the owed trailing nudge goes
        self._asked = False  # a commit waits for a nudge now
        self._busy = False  # a nudge is on its way
        self._done = 0  # nudges finished

    def nudge(self) -> None:
        """Nudge now and wait up to NUDGE_WAIT_SECONDS for it, or owe a trailing one."""
        interval = settings.NOTICE_NUDGE_MIN_INTERVAL
        with self._cond:
            self._start()
            now = time.monotonic()
            if now < self._last + interval:
                if self._due is None:
                    self._due = self._last + interval
                    self._cond.notify_all()
                return
            self._last = now
            if self._busy or self._asked:  # one on its way: one more after it
                if self._due is None:
                    self._due = now
                return
            self._asked, self._due = True, None
            ticket = self._done + 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._done >= ticket, NUDGE_WAIT_SECONDS)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="notice-nudger", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                if not self._asked and (self._due is None or now < self._due):
                    self._cond.wait(None if self._due is None else self._due - now)
                    continue
                if not self._asked:  # the trailing nudge
                    self._last = now
                self._asked, self._due, self._busy = False, None, True
                self._cond.release()
                try:
                    _nudge_send()
                except Exception:  # the thread must outlive any one nudge
                    logger.exception("notice nudge failed")
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._done += 1
                    self._cond.notify_all()


_nudger = _Nudger()


def _nudge_after_commit() -> None:
    """Wake a worker, waiting at most NUDGE_WAIT_SECONDS for the broker."""
    _nudger.nudge()


def _nudge_send() -> None:
    # Imported late: tasks import the delivery code, which imports this module.
    from ..tasks import notices_nudge

    notices_nudge()
