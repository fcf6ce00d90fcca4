import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents.models import Incident
from incidents.services import (
    TRANSITION_REFUSED,
    TRANSITION_SAME,
    TRANSITIONS,
    incident_open,
    incident_resolve,
    incident_transition,
)
from incidents.services.lifecycle import (
    ENDS_BEFORE_START,
    RESTORED_BEFORE_START,
    RESTORED_IN_FUTURE,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent

from .factories import (
    ComponentFactory,
    IncidentFactory,
    PlannedIncidentFactory,
    SubscriberFactory,
)

S = Incident.Status
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def _all_moves(kind: str, allowed: bool) -> list[tuple[str, str]]:
    table = TRANSITIONS[kind]
    return [
        (old, new)
        for old in table
        for new in table
        if old != new and (new in table[old]) is allowed
    ]


def _incident(kind: str, status: str) -> Incident:
    factory = (
        PlannedIncidentFactory if kind == Incident.Kind.PLANNED else IncidentFactory
    )
    return factory(
        status=status, impact_started_at=timezone.now() - dt.timedelta(hours=2)
    )


ALLOWED = [
    (kind, old, new)
    for kind in (Incident.Kind.UNPLANNED, Incident.Kind.PLANNED)
    for old, new in _all_moves(kind, True)
]
REFUSED = [
    (kind, old, new)
    for kind in (Incident.Kind.UNPLANNED, Incident.Kind.PLANNED)
    for old, new in _all_moves(kind, False)
]


def test_the_table_covers_the_expected_moves():
    assert sorted(ALLOWED) == sorted(
        [
            ("unplanned", "investigating", "identified"),
            ("unplanned", "investigating", "monitoring"),
            ("unplanned", "investigating", "resolved"),
            ("unplanned", "identified", "investigating"),
            ("unplanned", "identified", "monitoring"),
            ("unplanned", "identified", "resolved"),
            ("unplanned", "monitoring", "investigating"),
            ("unplanned", "monitoring", "identified"),
            ("unplanned", "monitoring", "resolved"),
            ("planned", "scheduled", "in_progress"),
            ("planned", "in_progress", "verifying"),
            ("planned", "in_progress", "completed"),
            ("planned", "verifying", "in_progress"),
            ("planned", "verifying", "completed"),
        ]
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "old", "new"), ALLOWED)
def test_each_allowed_move_changes_status_and_is_audited(kind, old, new, lead):
    # given
    incident = _incident(kind, old)
    # when
    incident_transition(incident=incident, to_status=new, actor=lead)
    # then
    incident.refresh_from_db()
    assert incident.status == new
    event = AuditEvent.objects.get(action="incident.status_changed")
    assert event.actor == lead
    assert event.data["from"] == old
    assert event.data["to"] == new
    assert (incident.restored_at is not None) is (new in ("resolved", "completed"))


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "old", "new"), REFUSED)
def test_each_refused_move_raises_and_changes_nothing(kind, old, new):
    incident = _incident(kind, old)

    with pytest.raises(ValidationError) as exc:
        incident_transition(incident=incident, to_status=new)

    assert exc.value.messages == [
        TRANSITION_REFUSED.format(old=S(old).label, new=S(new).label)
    ]
    incident.refresh_from_db()
    assert incident.status == old
    assert incident.restored_at is None
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        ("unplanned", "investigating", "in_progress"),
        ("unplanned", "monitoring", "completed"),
        ("planned", "scheduled", "resolved"),
        ("planned", "in_progress", "investigating"),
        ("planned", "scheduled", "cancelled"),
    ],
)
def test_moves_across_vocabularies_are_refused(kind, old, new):
    incident = _incident(kind, old)

    with pytest.raises(ValidationError):
        incident_transition(incident=incident, to_status=new)

    incident.refresh_from_db()
    assert incident.status == old
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_moving_to_the_same_status_is_refused():
    incident = IncidentFactory(status=S.MONITORING)

    with pytest.raises(ValidationError) as exc:
        incident_transition(incident=incident, to_status=S.MONITORING)

    assert exc.value.messages == [TRANSITION_SAME.format(status=S.MONITORING.label)]
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_resolving_sets_restored_at_and_ends_capture_after_grace():
    incident = IncidentFactory(
        impact_started_at=NOW - dt.timedelta(hours=3),
        capture_grace=dt.timedelta(hours=6),
    )
    restored = NOW - dt.timedelta(hours=1)

    incident_resolve(incident=incident, at=restored)

    incident.refresh_from_db()
    assert incident.status == S.RESOLVED
    assert incident.restored_at == restored
    assert incident.capture_ends_at == restored + dt.timedelta(hours=6)
    assert incident.accepts_received_at(restored + dt.timedelta(hours=5))
    assert not incident.accepts_received_at(restored + dt.timedelta(hours=7))


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_resolving_maintenance_completes_it():
    incident = PlannedIncidentFactory(
        status=S.IN_PROGRESS, impact_started_at=NOW - dt.timedelta(hours=1)
    )

    incident_resolve(incident=incident)

    incident.refresh_from_db()
    assert incident.status == S.COMPLETED
    assert incident.restored_at == NOW


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (dt.timedelta(hours=-5), RESTORED_BEFORE_START),
        (dt.timedelta(hours=1), RESTORED_IN_FUTURE),
    ],
)
def test_a_restore_time_out_of_range_is_refused(offset, message):
    incident = IncidentFactory(impact_started_at=NOW - dt.timedelta(hours=3))

    with pytest.raises(ValidationError) as exc:
        incident_resolve(incident=incident, at=NOW + offset)

    assert exc.value.messages[0].startswith(message.split("{")[0])
    incident.refresh_from_db()
    assert incident.status == S.INVESTIGATING
    assert incident.restored_at is None
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_opening_notifies_matching_subscribers_with_outage_started():
    cards = ComponentFactory(name="Card payments")
    transfers = ComponentFactory(name="Transfers")
    SubscriberFactory(address="all@example.com")
    card_fan = SubscriberFactory(address="cards@example.com")
    card_fan.components.set([cards])
    transfer_fan = SubscriberFactory(address="transfers@example.com")
    transfer_fan.components.set([transfers])
    SubscriberFactory(address="pending@example.com", confirmed_at=None)

    incident = incident_open(title="Cards down", components=[cards])

    notices = Notice.objects.order_by("recipient")
    assert [(n.kind, n.recipient) for n in notices] == [
        ("outage_started", "all@example.com"),
        ("outage_started", "cards@example.com"),
    ]
    assert notices[0].context["reference"] == incident.reference
    assert (
        notices[0]
        .context["unsubscribe_url"]
        .startswith("http://127.0.0.1:8000/status/unsubscribe/")
    )
    incident.refresh_from_db()
    assert incident.first_notice_at == NOW
    assert AuditEvent.objects.get().action == "incident.opened"


@pytest.mark.django_db
def test_opening_maintenance_with_an_end_before_start_changes_nothing():
    starts = timezone.now() + dt.timedelta(days=1)

    with pytest.raises(ValidationError) as exc:
        incident_open(
            title="Upgrade",
            planned=True,
            starts_at=starts,
            ends_at=starts - dt.timedelta(hours=1),
        )

    assert "maintenance end" in exc.value.messages[0]
    assert ENDS_BEFORE_START.startswith("The maintenance end")
    assert Incident.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_incident_open_command_prints_the_reference_last():
    out = io.StringIO()

    call_command(
        "incident_open",
        "--title",
        "Upgrade",
        "--planned",
        "--starts",
        "2026-11-23T01:00+00:00",
        "--ends",
        "2026-11-23T03:00+00:00",
        stdout=out,
    )

    reference = out.getvalue().strip().splitlines()[-1]
    assert reference == "INC-2026-0001"
    incident = Incident.objects.get(reference=reference)
    assert incident.status == S.SCHEDULED
    assert incident.impact_started_at == dt.datetime(2026, 11, 23, 1, tzinfo=dt.UTC)
    assert incident.planned_end_at == dt.datetime(2026, 11, 23, 3, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_incident_open_command_rejects_a_naive_time():
    with pytest.raises(CommandError, match="not an ISO 8601 time with an offset"):
        call_command("incident_open", "--title", "X", "--starts", "2026-11-23T01:00")
    assert Incident.objects.count() == 0


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_incident_resolve_command_restores_at_the_given_time():
    incident = IncidentFactory(
        reference="INC-2026-0007", impact_started_at=NOW - dt.timedelta(hours=4)
    )
    out = io.StringIO()

    call_command(
        "incident_resolve",
        "INC-2026-0007",
        "--at",
        "2026-11-22T10:30+00:00",
        stdout=out,
    )

    incident.refresh_from_db()
    assert incident.status == S.RESOLVED
    assert incident.restored_at == dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.UTC)
    assert "INC-2026-0007 resolved" in out.getvalue()


@pytest.mark.django_db
def test_incident_resolve_command_refuses_an_already_resolved_incident():
    IncidentFactory(
        reference="INC-2026-0008", status=S.RESOLVED, restored_at=timezone.now()
    )

    with pytest.raises(CommandError, match="already resolved"):
        call_command("incident_resolve", "INC-2026-0008")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_incident_resolve_command_names_an_unknown_reference():
    with pytest.raises(
        CommandError, match="No incident has the reference “INC-2026-9999”"
    ):
        call_command("incident_resolve", "INC-2026-9999")


@pytest.mark.django_db
def test_a_title_in_an_unknown_language_is_refused_and_changes_nothing():
    from incidents.services.lifecycle import LANGUAGE_UNKNOWN

    with pytest.raises(ValidationError) as exc:
        incident_open(title="Down", title_translations={"fr": "En panne"})

    assert exc.value.messages == [LANGUAGE_UNKNOWN.format(code="fr")]
    assert Incident.objects.count() == 0
