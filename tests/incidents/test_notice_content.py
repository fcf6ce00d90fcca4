"""Subscriber notices carry what their templates print: title, message, times."""

import datetime as dt

from django.utils import timezone

from incidents.models import Audience
from incidents.services import incident_open
from incidents.services.updates import incident_update_post
from notifications.models import Notice
from tests.incidents.factories import BankContactFactory, SubscriberFactory


def test_the_outage_notice_shows_title_start_time_and_alternatives(db, lead):
    SubscriberFactory(channel="email", address="sub@example.com", language="en")
    starts = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)

    incident_open(title="Card payments down", starts_at=starts, opened_by=lead)

    notice = Notice.objects.get(kind="outage_started")
    assert "Card payments down" in notice.subject + notice.body
    assert starts.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") in notice.body
    assert "bank transfer" in notice.body


def test_an_eta_update_shows_the_message_and_the_eta(db, lead):
    SubscriberFactory(channel="email", address="sub@example.com", language="en")
    incident = incident_open(title="Card payments down", opened_by=lead)
    contact = BankContactFactory(incident=incident)
    eta = (timezone.now() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)

    incident_update_post(
        incident=incident,
        audience=Audience.PUBLIC,
        texts={"en": "The bank is failing over to its second site."},
        author=lead,
        eta=eta,
        eta_source=contact,
        notify_customers=True,
    )

    notice = Notice.objects.get(kind="eta_update")
    assert "The bank is failing over to its second site." in notice.body
    assert eta.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") in notice.body
    assert "Card payments down" in notice.subject + notice.body


def test_an_update_reaches_subscribers_and_depositors_each_once(db, lead):
    from tests.deposits.factories import DepositFactory
    from tests.factories import CustomerFactory

    incident = incident_open(title="Card payments down", opened_by=lead)
    both = CustomerFactory(email="both@example.com", phone="", language="zh-hans")
    only_sms = CustomerFactory(email="", phone="+447700900555", language="en")
    SubscriberFactory(channel="email", address="both@example.com", language="zh-hans")
    for customer in (both, both, only_sms):  # two deposits from one customer
        DepositFactory(incident=incident, customer=customer, account=customer.account)
    contact = BankContactFactory(incident=incident)

    incident_update_post(
        incident=incident,
        audience=Audience.PUBLIC,
        texts={"en": "Back within the hour.", "zh-hans": "一小时内恢复。"},
        author=lead,
        eta=timezone.now() + dt.timedelta(hours=1),
        eta_source=contact,
        notify_customers=True,
    )

    notices = Notice.objects.filter(kind="eta_update")
    assert sorted(notices.values_list("channel", "recipient")) == [
        ("email", "both@example.com"),
        ("sms", "+447700900555"),
    ]
    assert "一小时内恢复。" in notices.get(channel="email").body
