import datetime as dt

import pytest
import time_machine

from incidents.models import Incident
from incidents.services import maintenance_tick
from incidents.tasks import maintenance_tick as maintenance_tick_task
from notifications.models import Notice
from outage_desk.models import AuditEvent

from .factories import PlannedIncidentFactory, SubscriberFactory

START = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=2)


@pytest.fixture
def maintenance(db):
    SubscriberFactory(address="sub@example.com")
    return PlannedIncidentFactory(
        reference="INC-2026-0001", impact_started_at=START, planned_end_at=END
    )


def _tick_at(moment):
    with time_machine.travel(moment, tick=False):
        return maintenance_tick_task()


def test_nothing_moves_before_the_start(maintenance):
    counts = _tick_at(START - dt.timedelta(days=3))

    assert counts == {"started": 0, "completed": 0, "reminded": 0}
    maintenance.refresh_from_db()
    assert maintenance.status == "scheduled"


def test_it_starts_at_its_start_time_once(maintenance):
    assert _tick_at(START)["started"] == 1
    assert _tick_at(START + dt.timedelta(minutes=1))["started"] == 0

    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"
    assert AuditEvent.objects.get().data["to"] == "in_progress"
    assert Notice.objects.filter(kind="outage_started").count() == 1


def test_it_completes_at_its_end_and_restore_is_the_planned_end(maintenance):
    _tick_at(START)

    counts = _tick_at(END + dt.timedelta(minutes=1))

    assert counts["completed"] == 1
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert maintenance.restored_at == END
    assert maintenance.capture_ends_at == END + dt.timedelta(hours=24)
    assert Notice.objects.filter(kind="resolved").count() == 1


def test_a_tick_after_a_missed_window_starts_and_completes_in_turn(maintenance):
    counts = _tick_at(END + dt.timedelta(hours=1))

    assert counts == {"started": 1, "completed": 1, "reminded": 0}
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert maintenance.restored_at == END


def test_verifying_is_left_to_staff_at_the_end(maintenance):
    _tick_at(START)
    Incident.objects.filter(pk=maintenance.pk).update(status="verifying")

    assert _tick_at(END + dt.timedelta(minutes=5))["completed"] == 0
    maintenance.refresh_from_db()
    assert maintenance.status == "verifying"


def test_reminders_go_out_24h_and_1h_before_each_once(maintenance):
    assert _tick_at(START - dt.timedelta(hours=25))["reminded"] == 0
    assert _tick_at(START - dt.timedelta(hours=24))["reminded"] == 1
    assert _tick_at(START - dt.timedelta(hours=23))["reminded"] == 0
    assert _tick_at(START - dt.timedelta(minutes=60))["reminded"] == 1
    assert _tick_at(START - dt.timedelta(minutes=30))["reminded"] == 0

    reminders = Notice.objects.filter(kind="maintenance_reminder")
    assert reminders.count() == 2
    maintenance.refresh_from_db()
    assert maintenance.reminders_sent == [60, 1440]


def test_a_maintenance_scheduled_late_gets_only_the_nearest_reminder(db, settings):
    SubscriberFactory(address="sub@example.com")
    with time_machine.travel(START - dt.timedelta(hours=2), tick=False):
        late = PlannedIncidentFactory(impact_started_at=START, planned_end_at=END)
        assert maintenance_tick()["reminded"] == 1
    late.refresh_from_db()
    assert late.reminders_sent == [1440]
    assert Notice.objects.filter(kind="maintenance_reminder").count() == 1


def test_reminder_offsets_are_configurable(maintenance, settings):
    settings.INCIDENTS_MAINTENANCE_REMINDERS = [30]

    assert _tick_at(START - dt.timedelta(hours=1))["reminded"] == 0
    assert _tick_at(START - dt.timedelta(minutes=30))["reminded"] == 1
