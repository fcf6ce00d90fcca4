import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from incidents.models import OutageRole, RoleAssignment
from incidents.services import role_assign, role_release, role_reminders_send
from incidents.services.roles import (
    ROLE_ALREADY_HELD,
    ROLE_ASSIGN_CLOSED,
    roles_unfilled,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent
from tests.factories import UserFactory

from .factories import IncidentFactory

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def incident(db, lead):
    return IncidentFactory(reference="INC-2026-0001", created_by=lead)


def test_assigning_a_role_replaces_the_previous_holder(incident, lead):
    first = UserFactory(username="pat", branch=None)
    second = UserFactory(username="sam", branch=None)
    role_assign(incident=incident, role="phone_desk", user=first, assigned_by=lead)

    role_assign(incident=incident, role="phone_desk", user=second, assigned_by=lead)

    current = RoleAssignment.objects.get(incident=incident, ended_at__isnull=True)
    assert current.user == second
    assert RoleAssignment.objects.get(user=first).ended_at is not None
    event = AuditEvent.objects.filter(action="incident.role_assigned").last()
    assert event.data["replaced"] == "pat"


def test_assigning_the_same_holder_again_is_refused(incident, lead):
    role_assign(incident=incident, role="fixer", user=lead, assigned_by=lead)

    with pytest.raises(ValidationError) as exc:
        role_assign(incident=incident, role="fixer", user=lead, assigned_by=lead)

    assert exc.value.messages == [ROLE_ALREADY_HELD.format(user=lead, role="Fixer")]
    assert RoleAssignment.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_roles_cannot_be_assigned_on_a_resolved_incident(lead):
    incident = IncidentFactory(status="resolved")

    with pytest.raises(ValidationError) as exc:
        role_assign(incident=incident, role="fixer", user=lead, assigned_by=lead)

    assert exc.value.messages == [ROLE_ASSIGN_CLOSED.format(status="Resolved")]
    assert RoleAssignment.objects.count() == 0


def test_required_roles_unfilled_until_assigned_and_again_after_release(incident, lead):
    assert roles_unfilled(incident) == [
        "lead",
        "phone_desk",
        "status_publisher",
        "bank_liaison",
    ]
    assignment = role_assign(
        incident=incident, role=OutageRole.LEAD, user=lead, assigned_by=lead
    )
    assert "lead" not in roles_unfilled(incident)

    role_release(assignment=assignment, actor=lead)

    assert "lead" in roles_unfilled(incident)


def test_the_lead_is_reminded_once_per_hour_while_a_role_is_unfilled(incident, lead):
    lead.email = "dana@example.com"
    lead.save()

    with time_machine.travel(NOW, tick=False):
        assert role_reminders_send() == 1
        assert role_reminders_send() == 1
    assert Notice.objects.count() == 1
    notice = Notice.objects.get()
    assert notice.kind == "staff_role_unfilled"
    assert notice.channel == "email"
    assert notice.recipient == "dana@example.com"
    assert notice.context["roles"] == [
        "Incident lead",
        "Phone desk",
        "Status-page publisher",
        "Bank liaison",
    ]

    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        role_reminders_send()
    assert Notice.objects.count() == 2


def test_no_reminder_once_every_required_role_is_filled(incident, lead):
    lead.email = "dana@example.com"
    lead.save()
    for role in ("lead", "phone_desk", "status_publisher", "bank_liaison"):
        role_assign(incident=incident, role=role, user=lead, assigned_by=lead)

    assert role_reminders_send() == 0
    assert Notice.objects.count() == 0
