import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.models import BankContact
from incidents.services import (
    bank_contact_record,
    bank_follow_up_reminders_send,
    role_assign,
)
from incidents.services.bank import (
    CORRECTS_OTHER_INCIDENT,
    ESCALATION_NEEDS_DATE,
    EVIDENCE_TYPE,
    FOLLOW_UP_IN_PAST,
    SUMMARY_REQUIRED,
    TIMEZONE_UNKNOWN,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent
from tests.factories import UserFactory

from .factories import BankContactFactory, IncidentFactory

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def incident(db):
    return IncidentFactory(
        reference="INC-2026-0001", impact_started_at=NOW - dt.timedelta(hours=2)
    )


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _record(incident, user, **kwargs):
    values = {
        "incident": incident,
        "contacted_at": NOW - dt.timedelta(minutes=10),
        "contacted_tz": "Europe/London",
        "channel": "phone",
        "staff": user,
        "recorded_by": user,
        "summary": "Bank says the switch failed.",
        "bank_agent": "J. Li",
        "bank_ticket_ref": "BNK-77",
    }
    values.update(kwargs)
    return bank_contact_record(**values)


@time_machine.travel(NOW, tick=False)
def test_an_entry_is_recorded_with_evidence_under_a_random_name(incident, lead, media):
    evidence = SimpleUploadedFile("call notes.pdf", b"%PDF-1.4 notes")

    entry = _record(
        incident,
        lead,
        commitments="Call back at 13:00",
        eta_given=NOW + dt.timedelta(hours=2),
        follow_up_due_at=NOW + dt.timedelta(hours=1),
        evidence=evidence,
        escalation="bank_management",
        escalated_on=dt.date(2026, 11, 22),
    )

    entry = BankContact.objects.get(pk=entry.pk)
    assert entry.evidence_name == "call notes.pdf"
    stored = Path(entry.evidence.path)
    assert stored.parent == media / "incidents" / "evidence"
    assert stored.suffix == ".pdf"
    assert "call" not in stored.name
    assert stored.read_bytes() == b"%PDF-1.4 notes"
    assert AuditEvent.objects.get().action == "incident.bank_contact_recorded"


@time_machine.travel(NOW, tick=False)
def test_a_correction_points_at_the_entry_it_corrects(incident, lead):
    first = _record(incident, lead)

    second = _record(
        incident, lead, summary="Correction: agent was K. Li", corrects=first
    )

    assert second.corrects == first
    assert list(first.corrections.all()) == [second]
    first.refresh_from_db()
    assert first.summary == "Bank says the switch failed."


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"follow_up_due_at": NOW - dt.timedelta(minutes=1)}, FOLLOW_UP_IN_PAST),
        ({"follow_up_due_at": NOW}, FOLLOW_UP_IN_PAST),
        ({"summary": "   "}, SUMMARY_REQUIRED),
        ({"contacted_tz": "Mars/Olympus"}, TIMEZONE_UNKNOWN.format(tz="Mars/Olympus")),
        ({"escalation": "regulator"}, ESCALATION_NEEDS_DATE),
        (
            {"evidence": SimpleUploadedFile("run.exe", b"MZ")},
            EVIDENCE_TYPE.format(allowed=".pdf, .png, .jpg, .jpeg, .txt, .eml, .msg"),
        ),
    ],
)
def test_bad_entries_are_refused_and_change_nothing(
    incident, lead, media, kwargs, message
):
    with pytest.raises(ValidationError) as exc:
        _record(incident, lead, **kwargs)

    assert exc.value.messages == [message]
    assert BankContact.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert list(media.rglob("*.*")) == []


@time_machine.travel(NOW, tick=False)
def test_a_correction_of_another_incidents_entry_is_refused(incident, lead):
    other = BankContactFactory(incident=IncidentFactory())

    with pytest.raises(ValidationError) as exc:
        _record(incident, lead, corrects=other)

    assert exc.value.messages == [CORRECTS_OTHER_INCIDENT]
    assert BankContact.objects.count() == 1


def test_an_overdue_follow_up_reminds_the_bank_liaison_hourly(incident, lead):
    liaison = UserFactory(username="liz", branch=None, email="liz@example.com")
    with time_machine.travel(NOW, tick=False):
        role_assign(
            incident=incident, role="bank_liaison", user=liaison, assigned_by=lead
        )
        _record(incident, lead, follow_up_due_at=NOW + dt.timedelta(minutes=30))
        assert bank_follow_up_reminders_send() == 0

    with time_machine.travel(NOW + dt.timedelta(minutes=31), tick=False):
        assert bank_follow_up_reminders_send() == 1
        assert bank_follow_up_reminders_send() == 1

    notice = Notice.objects.get()
    assert notice.kind == "staff_follow_up_overdue"
    assert notice.recipient == "liz@example.com"
    assert notice.context["bank_ticket_ref"] == "BNK-77"


def test_a_later_entry_answers_the_follow_up(incident, lead):
    lead.email = "dana@example.com"
    lead.save()
    with time_machine.travel(NOW, tick=False):
        _record(incident, lead, follow_up_due_at=NOW + dt.timedelta(minutes=30))
    with time_machine.travel(NOW + dt.timedelta(minutes=20), tick=False):
        _record(incident, lead, summary="Called back; still down.", contacted_at=NOW)

    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert bank_follow_up_reminders_send() == 0
    assert Notice.objects.count() == 0
