"""Shared helpers for the integrity and security tests in tests/resilience/."""

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from deposits.models import ApprovalThreshold, Branch, Customer, Deposit
from deposits.services import deposit_record
from incidents.models import Incident
from incidents.services import incident_open
from outage_desk.db.append_only import bypass_append_only
from outage_desk.models import User
from outage_desk.roles import Role
from tests.factories import BranchFactory, CustomerFactory, UserFactory
from tests.log_guard import sensitive

_serial = itertools.count(1)


@dataclass
class BranchWorld:
    """A branch with two clerks, two supervisors, a customer and a large-deposit limit."""

    branch: Branch
    clerk: User
    clerk2: User
    supervisor: User
    supervisor2: User
    customer: Customer


def branch_world(code: str, *, currency: str = "GBP") -> BranchWorld:
    """Make a branch and its staff; usernames are unique per call."""
    n = next(_serial)
    branch = BranchFactory(code=code, name=f"Branch {code}", currency=currency)
    ApprovalThreshold.objects.create(
        branch=branch, currency=currency, amount=Decimal("1000.00")
    )

    def staff(kind: str, role: str) -> User:
        return UserFactory(
            username=f"{kind}{n}{code.lower()}", branch=branch, roles=[role]
        )

    return BranchWorld(
        branch=branch,
        clerk=staff("clerk", Role.CLERK),
        clerk2=staff("clerkb", Role.CLERK),
        supervisor=staff("sup", Role.SUPERVISOR),
        supervisor2=staff("supb", Role.SUPERVISOR),
        customer=CustomerFactory(branch=branch),
    )


def open_incident(title: str = "Core system down") -> Incident:
    """An unplanned incident whose capture window opened three hours ago."""
    return incident_open(title=title, starts_at=timezone.now() - dt.timedelta(hours=3))


def capture(
    *,
    world: BranchWorld,
    incident: Incident,
    amount: Decimal,
    currency: str = "GBP",
    recorded_by: User | None = None,
    reference: str | None = None,
    duplicate_reason: str = "",
) -> Deposit:
    """Record one deposit through the service with a fresh UUID and reference."""
    deposit, created = deposit_record(
        incident=incident,
        branch=world.branch,
        recorded_by=recorded_by or world.clerk,
        client_uuid=uuid.uuid4(),
        channel=Deposit.Channel.CASH,
        account=world.customer.account,
        payer_name=world.customer.name,
        customer=world.customer,
        amount=amount,
        currency=currency,
        received_at=timezone.now() - dt.timedelta(minutes=5),
        reference=reference or f"REF-{next(_serial)}",
        source=Deposit.Source.FORM,
        duplicate_reason=duplicate_reason,
    )
    assert created
    sensitive(deposit.account, deposit.payer_name)
    return deposit


def tamper(sql: str, params: list[object]) -> None:
    """Change rows behind the application's back, as a database administrator could."""
    with bypass_append_only(), connection.cursor() as cursor:
        cursor.execute(sql, params)
