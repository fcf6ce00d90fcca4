"""The hash-chained audit log: every state change appends one event in its transaction."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEvent, User

GENESIS_HASH = "0" * 64


def _event_digest(
    *,
    prev_hash: str,
    created_at: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    data: Any,
) -> str:
    payload = json.dumps(
        [prev_hash, created_at, actor_id, action, object_type, object_id, data],
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _head_lock() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS_HASH}
        )
    return head


# No savepoint: an append that fails fails the caller's whole transaction anyway, and
# the two extra round trips would be spent holding the chain's global lock.
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
    # appends across every process and is held until the caller's commit, so the
    # locked part is three statements (lock the head, insert, move the head).
    # Round-trip the data through JSON so the stored form is what gets hashed.
    clean = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    now = timezone.now()
    fields = {
        "created_at": now.isoformat(),
        "actor_id": actor.pk if actor else None,
        "action": action,
        "object_type": obj._meta.label_lower,
        "object_id": str(obj.pk),
        "data": clean,
    }
    event = AuditEvent(
        created_at=now,
        actor=actor,
        action=action,
        object_type=fields["object_type"],
        object_id=fields["object_id"],
        data=clean,
    )
    head = _head_lock()
    event.prev_hash = head.last_hash
    event.hash = _event_digest(prev_hash=head.last_hash, **fields)
    event.save(force_insert=True)
    AuditChainHead.objects.filter(id=1).update(
        last_hash=event.hash, last_event_id=event.pk
    )
    return event


@dataclass(frozen=True)
class AuditBreak:
    event_id: int
    reason: str


def audit_verify(*, chunk_size: int = 5000) -> tuple[int, AuditBreak | None]:
    """Walk the chain in order; return how many events were checked and the first break."""
    prev_hash = GENESIS_HASH
    checked = 0
    last_id = 0
    fields = ("id", "created_at", "actor_id", "action", "object_type", "object_id")
    rows = AuditEvent.objects.order_by("pk").values_list(
        *fields, "data", "prev_hash", "hash"
    )
    for row in rows.iterator(chunk_size=chunk_size):
        pk, created_at, actor_id, action, otype, oid, data, stored_prev, stored = row
        if stored_prev != prev_hash:
            return checked, AuditBreak(
                pk, "prev_hash does not match the event before it"
            )
        expected = _event_digest(
            prev_hash=prev_hash,
            created_at=created_at.isoformat(),
            actor_id=actor_id,
            action=action,
            object_type=otype,
            object_id=oid,
            data=data,
        )
        if expected != stored:
            return checked, AuditBreak(pk, "content does not match its hash")
        prev_hash, last_id = stored, pk
        checked += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head and (head.last_hash != prev_hash or head.last_event_id != last_id):
        return checked, AuditBreak(head.last_event_id, "the newest events are missing")
    return checked, None
