"""The hash-chained audit log: every state change appends one event in its transaction."""

import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from . import rawsql
from .models import AUDIT_CHAINS, AuditChainHead, AuditEvent, User

GENESIS_HASH = "0" * 64


def _event_text(
    *,
    prev_hash: str,
    created_at: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    data: Any,
) -> str:
    """The canonical text an event's hash is taken over."""
    return json.dumps(
        [prev_hash, created_at, actor_id, action, object_type, object_id, data],
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _event_digest(**fields: Any) -> str:
    return hashlib.sha256(_event_text(**fields).encode()).hexdigest()


def audit_chain_of(object_type: str, object_id: str) -> int:
    """The chain that holds every event of one object (1..AUDIT_CHAINS)."""
    return 1 + zlib.crc32(f"{object_type}:{object_id}".encode()) % AUDIT_CHAINS


def _head_lock(chain: int) -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(id=chain).first()
    if head is None:
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(
            id=chain, defaults={"last_hash": GENESIS_HASH}
        )
    return head


# No savepoint: an append that fails fails the caller's whole transaction anyway, and
# the two extra round trips would be spent holding the chain's lock.
@transaction.atomic(savepoint=False)
def audit_record(
    *,
    action: str,
    obj: models.Model,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain; call it last in the writing transaction."""
    # Everything that needs no lock is prepared first: the head row's lock orders
    # appends to the object's chain across every process and is held until the
    # caller's commit, so the locked part is three statements (lock the head,
    # insert, move the head). Writes about other objects mostly use other chains.
    event = audit_event_build(action=action, obj=obj, actor=actor, data=data)
    head = _head_lock(event.chain)
    audit_event_seal(event, prev_hash=head.last_hash)
    event.save(force_insert=True)
    AuditChainHead.objects.filter(id=event.chain).update(
        last_hash=event.hash, last_event_id=event.pk
    )
    return event


def audit_event_build(
    *,
    action: str,
    obj: models.Model,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """The unsaved event, its chain chosen; ``audit_event_seal`` links it."""
    # Round-trip the data through JSON so the stored form is what gets hashed.
    clean = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    object_type, object_id = obj._meta.label_lower, str(obj.pk)
    return AuditEvent(
        chain=audit_chain_of(object_type, object_id),
        created_at=timezone.now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=clean,
    )


def audit_event_seal(event: AuditEvent, *, prev_hash: str) -> None:
    """Link the event to its chain's newest hash, read under the head's lock."""
    event.prev_hash = prev_hash
    event.hash = hashlib.sha256(audit_event_text(event, prev_hash).encode()).hexdigest()


def audit_event_text(event: AuditEvent, prev_hash: str) -> str:
    """The canonical text of an unsealed event's hash once it follows ``prev_hash``,
    for a writer that hashes it where it reads the chain's head."""
    return _event_text(
        prev_hash=prev_hash,
        created_at=event.created_at.isoformat(),
        actor_id=event.actor_id,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        data=event.data,
    )


def audit_append_sql(event: AuditEvent) -> tuple[str, list[Any]]:
    """One statement inserting a sealed event and moving its chain's head, for a
    caller that locked the head itself (``audit_head_lock_sql``)."""
    head = rawsql.table(AuditChainHead)
    return (
        f"WITH e AS ({rawsql.insert_sql(AuditEvent, returning='id')})"  # noqa: S608
        f" UPDATE {head} SET last_hash = %s, last_event_id = e.id FROM e"
        f" WHERE {head}.id = %s",
        [*rawsql.insert_params(event), event.hash, event.chain],
    )


def audit_head_lock_sql() -> str:
    """A statement locking one chain's head (made if missing) and returning its
    newest hash; its parameters are the chain and the genesis hash."""
    return (
        f"INSERT INTO {rawsql.table(AuditChainHead)} AS h"  # noqa: S608
        " (id, last_hash, last_event_id) VALUES (%s, %s, 0)"
        " ON CONFLICT (id) DO UPDATE SET id = h.id RETURNING h.last_hash"
    )


@dataclass(frozen=True)
class AuditBreak:
    event_id: int
    reason: str


def audit_verify(*, chunk_size: int = 5000) -> tuple[int, AuditBreak | None]:
    """Walk every chain in event order; return how many events were checked and the
    first break (the lowest event id that does not verify, or a chain's missing end).
    """
    prev_hash: dict[int, str] = {}
    last_id: dict[int, int] = {}
    checked = 0
    fields = ("id", "chain", "created_at", "actor_id", "action", "object_type")
    rows = AuditEvent.objects.order_by("pk").values_list(
        *fields, "object_id", "data", "prev_hash", "hash"
    )
    for row in rows.iterator(chunk_size=chunk_size):
        (
            pk,
            chain,
            created_at,
            actor_id,
            action,
            otype,
            oid,
            data,
            stored_prev,
            stored,
        ) = row
        before = prev_hash.get(chain, GENESIS_HASH)
        if stored_prev != before:
            return checked, AuditBreak(
                pk, "prev_hash does not match the event before it"
            )
        expected = _event_digest(
            prev_hash=before,
            created_at=created_at.isoformat(),
            actor_id=actor_id,
            action=action,
            object_type=otype,
            object_id=oid,
            data=data,
        )
        if expected != stored:
            return checked, AuditBreak(pk, "content does not match its hash")
        prev_hash[chain], last_id[chain] = stored, pk
        checked += 1
    heads = {head.id: head for head in AuditChainHead.objects.all()}
    for chain in sorted(set(heads) | set(prev_hash)):
        head = heads.get(chain)
        if head is None or (
            head.last_hash != prev_hash.get(chain, GENESIS_HASH)
            or head.last_event_id != last_id.get(chain, 0)
        ):
            return checked, AuditBreak(
                head.last_event_id if head else last_id[chain],
                "the newest events are missing",
            )
    return checked, None
