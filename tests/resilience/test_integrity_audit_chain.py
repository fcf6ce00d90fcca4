"""After a random mix of captures, approvals, reversals and incident changes the audit
chain verifies; one altered byte or one deleted row is caught at the first broken link."""

import random
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from deposits.models import Deposit, DepositReversal
from deposits.services import (
    deposit_approve,
    deposit_reversal_approve,
    deposit_reversal_reject,
    deposit_reversal_request,
)
from incidents.models import Audience
from incidents.services import (
    incident_transition,
    incident_update_post,
    transitions_allowed,
)
from outage_desk.audit import audit_verify
from outage_desk.models import AuditEvent
from tests.security_support import (
    BranchWorld,
    branch_world,
    capture,
    open_incident,
    tamper,
)

SEEDS = [7, 1234, 90210]


def random_workload(rng: random.Random, steps: int) -> Counter:
    """Drive the services with a seeded random mix; returns how often each step ran."""
    worlds = [
        branch_world(f"W{rng.randrange(10**6)}"),
        branch_world(f"V{rng.randrange(10**6)}"),
    ]
    capture_incident = open_incident("Core banking down")
    side_incident = open_incident("Card terminals down")
    ran: Counter = Counter()
    for _ in range(steps):
        world: BranchWorld = rng.choice(worlds)
        step = rng.choice(
            ["capture", "capture", "approve", "reverse", "decide", "incident"]
        )
        mine = Deposit.objects.filter(branch=world.branch)
        if step == "capture":
            minor = rng.choice([rng.randint(1, 99_999), rng.randint(100_001, 900_000)])
            capture(
                world=world,
                incident=capture_incident,
                amount=Decimal(minor) / 100,
                duplicate_reason="Separate deposit",
            )
        elif step == "approve" and (
            pending := mine.filter(status=Deposit.Status.PENDING_APPROVAL).first()
        ):
            deposit_approve(deposit=pending, approved_by=world.supervisor)
        elif step == "reverse" and (
            target := mine.filter(status=Deposit.Status.PROVISIONAL)
            .exclude(reversal_requests__status=DepositReversal.Status.PENDING)
            .first()
        ):
            deposit_reversal_request(
                deposit=target, requested_by=world.clerk2, reason="Wrong account"
            )
        elif step == "decide" and (
            request := DepositReversal.objects.filter(
                deposit__branch=world.branch, status=DepositReversal.Status.PENDING
            ).first()
        ):
            if rng.random() < 0.7:
                deposit_reversal_approve(reversal=request, approved_by=world.supervisor)
            else:
                deposit_reversal_reject(reversal=request, rejected_by=world.supervisor2)
        elif step == "incident":
            side_incident.refresh_from_db()
            allowed = transitions_allowed(side_incident)
            if allowed and rng.random() < 0.5:
                incident_transition(
                    incident=side_incident, to_status=rng.choice(allowed)
                )
            else:
                incident_update_post(
                    incident=capture_incident,
                    audience=Audience.INTERNAL,
                    texts={"en": f"Still down, check {rng.randrange(1000)}"},
                    author=None,
                )
        else:
            continue
        ran[step] += 1
    return ran


@pytest.fixture(params=SEEDS)
def workload(request, db):
    ran = random_workload(random.Random(request.param), steps=60)
    assert sum(ran.values()) > 30
    events = list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True))
    print(f"seed {request.param}: {dict(sorted(ran.items()))}, {len(events)} events")
    return events


def test_the_chain_verifies_after_a_random_workload(workload, capsys):
    call_command("verify_audit")

    assert capsys.readouterr().out.strip() == (
        f"Audit chain intact: {len(workload)} events verified."
    )


def test_one_altered_byte_in_an_old_event_is_named(workload, request):
    rng = random.Random(request.node.callspec.id)
    victim = rng.choice(workload[:-5])
    action = AuditEvent.objects.get(pk=victim).action
    forged = action[:-1] + ("x" if action[-1] != "x" else "y")
    tamper(
        "UPDATE outage_desk_auditevent SET action = %s WHERE id = %s", [forged, victim]
    )

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    position = workload.index(victim)
    assert str(exc.value) == (
        f"Audit chain broken at event #{victim}: content does not match its hash "
        f"({position} events verified before it)."
    )


def test_one_altered_byte_of_data_is_named(workload, request):
    rng = random.Random(request.node.callspec.id + "data")
    victim = rng.choice(workload[:-5])
    tamper(
        "UPDATE outage_desk_auditevent SET object_id = object_id || '0' WHERE id = %s",
        [victim],
    )

    checked, broken = audit_verify()

    assert (checked, broken.event_id) == (workload.index(victim), victim)


def test_a_deleted_row_is_named_by_the_link_after_it(workload, request):
    rng = random.Random(request.node.callspec.id + "delete")
    chains = dict(AuditEvent.objects.values_list("pk", "chain"))
    # An event with a later one in its own chain: that later link names the break.
    followed = [
        pk
        for i, pk in enumerate(workload[1:-1], start=1)
        if any(chains[later] == chains[pk] for later in workload[i + 1 :])
    ]
    victim = rng.choice(followed)
    after = next(pk for pk in workload if pk > victim and chains[pk] == chains[victim])
    tamper("DELETE FROM outage_desk_auditevent WHERE id = %s", [victim])

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    verified = workload.index(after) - 1  # every earlier event but the deleted one
    assert str(exc.value) == (
        f"Audit chain broken at event #{after}: prev_hash does not "
        f"match the event before it ({verified} events verified before it)."
    )


def test_deleting_the_newest_event_of_a_chain_is_named(workload, request):
    rng = random.Random(request.node.callspec.id + "newest")
    chains = dict(AuditEvent.objects.values_list("pk", "chain"))
    newest = {chains[pk]: pk for pk in workload}  # the last event of each chain
    victim = rng.choice(sorted(newest.values()))
    tamper("DELETE FROM outage_desk_auditevent WHERE id = %s", [victim])

    checked, broken = audit_verify()

    assert (checked, broken.event_id) == (len(workload) - 1, victim)
    assert broken.reason == "the newest events are missing"


def test_events_of_one_object_share_a_chain_and_objects_spread_over_chains(workload):
    rows = AuditEvent.objects.values_list("object_type", "object_id", "chain")
    by_object: dict[tuple[str, str], set[int]] = {}
    for otype, oid, chain in rows:
        by_object.setdefault((otype, oid), set()).add(chain)

    assert all(len(chains) == 1 for chains in by_object.values())
    assert len({c for chains in by_object.values() for c in chains}) > 8
