"""Factories for incidents tests."""

import datetime as dt

import factory
from django.utils import timezone

from incidents.models import BankContact, Component, Incident, Subscriber


class ComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Component
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Component {n}")


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    reference = factory.Sequence(lambda n: f"INC-2026-{n + 1:04d}")
    title = "Card payments down"
    kind = Incident.Kind.UNPLANNED
    status = Incident.Status.INVESTIGATING
    impact_started_at = factory.LazyFunction(
        lambda: timezone.now() - dt.timedelta(hours=1)
    )


class PlannedIncidentFactory(IncidentFactory):
    title = "Core upgrade"
    kind = Incident.Kind.PLANNED
    status = Incident.Status.SCHEDULED
    impact_started_at = factory.LazyFunction(
        lambda: timezone.now() + dt.timedelta(days=2)
    )
    planned_end_at = factory.LazyAttribute(
        lambda o: o.impact_started_at + dt.timedelta(hours=2)
    )


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    channel = Subscriber.Channel.EMAIL
    address = factory.Sequence(lambda n: f"sub{n}@example.com")
    confirmed_at = factory.LazyFunction(timezone.now)


class BankContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankContact

    incident = factory.SubFactory(IncidentFactory)
    contacted_at = factory.LazyFunction(timezone.now)
    channel = BankContact.Channel.PHONE
    bank_agent = "Agent Smith"
    bank_ticket_ref = "BNK-1"
    summary = "Bank confirms the outage; fix in progress."
    staff = factory.SelfAttribute("recorded_by")
    recorded_by = factory.SubFactory("tests.factories.UserFactory", branch=None)
