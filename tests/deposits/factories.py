"""Factories for deposit tests."""

import datetime as dt
import uuid
from decimal import Decimal

import factory
from django.utils import timezone

from deposits.models import ApprovalThreshold, Deposit
from incidents.models import Incident
from tests.factories import BranchFactory, UserFactory
from tests.log_guard import sensitive


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    reference = factory.Sequence(lambda n: f"INC-2026-{n + 1:04d}")
    title = "Core banking system unavailable"
    status = Incident.Status.INVESTIGATING
    impact_started_at = factory.LazyFunction(
        lambda: timezone.now() - dt.timedelta(hours=3)
    )


class DepositFactory(factory.django.DjangoModelFactory):
    """A saved deposit written straight to the table, for read-side tests."""

    class Meta:
        model = Deposit
        # Deposits are never saved twice (the model refuses an update).
        skip_postgeneration_save = True

    @factory.post_generation
    def _guard(self, create: bool, extracted: object, **kwargs: object) -> None:
        sensitive(self.account, self.payer_name)

    client_uuid = factory.LazyFunction(uuid.uuid4)
    incident = factory.SubFactory(IncidentFactory)
    branch = factory.SubFactory(BranchFactory)
    receipt_number = factory.Sequence(lambda n: f"T-{n + 1:06d}")
    channel = Deposit.Channel.CASH
    account = factory.Sequence(lambda n: f"GB{n:08d}")
    payer_name = "Pat Payer"
    amount = Decimal("100.00")
    currency = "GBP"
    received_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    status = Deposit.Status.PROVISIONAL
    recorded_by = factory.SubFactory(UserFactory)


class ApprovalThresholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalThreshold

    branch = factory.SubFactory(BranchFactory)
    currency = "GBP"
    amount = Decimal("10000.00")
