import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from incidents.models import Incident, IncidentUpdate
from incidents.services import incident_update_post
from incidents.services.updates import (
    ETA_NEEDS_BANK_SOURCE,
    ETA_SOURCE_OTHER_INCIDENT,
    LANGUAGE_UNKNOWN,
    NEXT_UPDATE_IN_PAST,
    NOTIFY_ONLY_PUBLIC,
    TEXT_REQUIRED,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent

from .factories import BankContactFactory, IncidentFactory, SubscriberFactory

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
ETA = NOW + dt.timedelta(hours=3)


@pytest.fixture
def incident(db):
    return IncidentFactory(
        reference="INC-2026-0001", impact_started_at=NOW - dt.timedelta(hours=1)
    )


@time_machine.travel(NOW, tick=False)
def test_a_public_update_with_a_bank_eta_notifies_subscribers_in_their_language(
    incident, lead
):
    # given
    SubscriberFactory(address="en@example.com", language="en")
    SubscriberFactory(address="zh@example.com", language="zh-hans")
    contact = BankContactFactory(incident=incident, eta_given=ETA)
    # when
    update = incident_update_post(
        incident=incident,
        audience="public",
        texts={"en": "Fix expected by 15:00.", "zh-hans": "预计15:00修复。"},
        author=lead,
        eta=ETA,
        eta_source=contact,
        notify_customers=True,
    )
    # then
    assert update.texts == {
        "en": "Fix expected by 15:00.",
        "zh-hans": "预计15:00修复。",
    }
    notices = {n.recipient: n for n in Notice.objects.all()}
    assert sorted(notices) == ["en@example.com", "zh@example.com"]
    assert notices["en@example.com"].kind == "eta_update"
    assert notices["en@example.com"].context["text"] == "Fix expected by 15:00."
    assert notices["zh@example.com"].context["text"] == "预计15:00修复。"
    assert notices["en@example.com"].supersede_key == "incident:INC-2026-0001:eta"
    assert notices["en@example.com"].context["eta"] == "2026-11-22 15:00 UTC"
    incident.refresh_from_db()
    assert incident.first_notice_at == NOW
    event = AuditEvent.objects.get(action="incident.update_posted")
    assert event.data["eta_source"] == contact.pk


@time_machine.travel(NOW, tick=False)
def test_a_subscriber_language_without_text_falls_back_to_english(incident, lead):
    SubscriberFactory(address="zh@example.com", language="zh-hans")

    incident_update_post(
        incident=incident,
        audience="public",
        texts={"en": "Still investigating."},
        author=lead,
        notify_customers=True,
    )

    assert Notice.objects.get().context["text"] == "Still investigating."


@time_machine.travel(NOW, tick=False)
def test_an_update_can_move_the_status_and_resolution_sends_resolved(incident, lead):
    SubscriberFactory(address="en@example.com")

    update = incident_update_post(
        incident=incident,
        audience="public",
        texts={"en": "Fixed."},
        author=lead,
        status=Incident.Status.RESOLVED,
        notify_customers=True,
    )

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert update.status == "resolved"
    assert Notice.objects.get().kind == "resolved"
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "incident.status_changed",
        "review.prepared",
        "incident.update_posted",
    ]


@time_machine.travel(NOW, tick=False)
def test_an_internal_update_with_a_guess_is_allowed_and_sends_nothing(incident, lead):
    SubscriberFactory(address="en@example.com")

    update = incident_update_post(
        incident=incident,
        audience="internal",
        texts={"en": "Our guess: two hours."},
        author=lead,
        eta=ETA,
    )

    assert update.eta == ETA
    assert Notice.objects.count() == 0


BAD = [
    ({"audience": "public", "eta": ETA, "texts": {"en": "x"}}, ETA_NEEDS_BANK_SOURCE),
    ({"audience": "public", "texts": {"en": "  "}}, TEXT_REQUIRED),
    (
        {"audience": "public", "texts": {"fr": "Bonjour"}},
        LANGUAGE_UNKNOWN.format(code="fr"),
    ),
    (
        {"audience": "internal", "texts": {"en": "x"}, "notify_customers": True},
        NOTIFY_ONLY_PUBLIC,
    ),
    (
        {
            "audience": "public",
            "texts": {"en": "x"},
            "next_update_due_at": NOW - dt.timedelta(minutes=1),
        },
        NEXT_UPDATE_IN_PAST,
    ),
]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_bad_updates_are_refused_and_change_nothing(incident, lead, kwargs, message):
    SubscriberFactory(address="en@example.com")

    with pytest.raises(ValidationError) as exc:
        incident_update_post(incident=incident, author=lead, **kwargs)

    assert exc.value.messages == [message]
    assert IncidentUpdate.objects.count() == 0
    assert Notice.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_an_eta_citing_another_incidents_contact_is_refused(incident, lead):
    other = BankContactFactory(incident=IncidentFactory())

    with pytest.raises(ValidationError) as exc:
        incident_update_post(
            incident=incident,
            audience="public",
            texts={"en": "x"},
            author=lead,
            eta=ETA,
            eta_source=other,
        )

    assert exc.value.messages == [ETA_SOURCE_OTHER_INCIDENT]
    assert IncidentUpdate.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_a_refused_status_move_in_an_update_stores_nothing(incident, lead):
    with pytest.raises(ValidationError):
        incident_update_post(
            incident=incident,
            audience="public",
            texts={"en": "x"},
            author=lead,
            status=Incident.Status.COMPLETED,
        )

    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert IncidentUpdate.objects.count() == 0
    assert AuditEvent.objects.count() == 0
