import re

import pytest
from django.core import signing
from django.core.cache import cache

from incidents.models import Subscriber
from incidents.services.status import (
    EMAIL_INVALID,
    LINK_INVALID,
    PHONE_INVALID,
    RATE_LIMITED,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent

from .factories import ComponentFactory, IncidentFactory


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def _link(notice: Notice, key: str) -> str:
    return re.sub(r"^https?://[^/]+", "", notice.context[key])


def test_double_opt_in_by_email_then_notices_then_one_click_unsubscribe(client, db):
    cards = ComponentFactory(name="Card payments")
    # when: subscribe
    response = client.post(
        "/status/subscribe/",
        {"channel": "email", "address": "Ann@Example.COM", "components": [cards.pk]},
    )
    # then: stored unconfirmed, a confirm notice written
    assert response.status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.address == "Ann@example.com"
    assert subscriber.confirmed_at is None
    assert list(subscriber.components.all()) == []
    confirm_notice = Notice.objects.get(kind="subscription_confirm")
    assert confirm_notice.recipient == "Ann@example.com"

    # a GET of the link changes nothing (link scanners), the POST confirms
    confirm_url = _link(confirm_notice, "confirm_url")
    assert client.get(confirm_url).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    assert client.post(confirm_url).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.is_active
    assert list(subscriber.components.all()) == [cards]

    # an incident on that component reaches the subscriber
    incident = IncidentFactory()
    incident.components.set([cards])
    from incidents.services.common import incident_notify_subscribers

    incident_notify_subscribers(
        incident=incident, kind="outage_started", event="opened"
    )
    outage_notice = Notice.objects.get(kind="outage_started")

    # one click on the signed unsubscribe link stops it
    response = client.post(_link(outage_notice, "unsubscribe_url"))
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    subscriber.refresh_from_db()
    assert not subscriber.is_active
    assert [e.action for e in AuditEvent.objects.order_by("pk")] == [
        "subscriber.requested",
        "subscriber.confirmed",
        "subscriber.unsubscribed",
    ]
    assert "Ann@example.com" not in str(
        list(AuditEvent.objects.values_list("data", flat=True))
    )


def test_sms_subscription_accepts_an_international_number(client, db):
    client.post("/status/subscribe/", {"channel": "sms", "address": "+44 7700 900123"})

    subscriber = Subscriber.objects.get()
    assert subscriber.address == "+447700900123"
    assert Notice.objects.get().channel == "sms"


@pytest.mark.parametrize(
    ("channel", "address", "message"),
    [
        ("email", "not-an-address", EMAIL_INVALID.format(address="not-an-address")),
        ("email", "a@b", EMAIL_INVALID.format(address="a@b")),
        ("sms", "07700 900123", PHONE_INVALID.format(address="07700 900123")),
    ],
)
def test_a_malformed_address_is_refused_and_nothing_is_stored(
    client, db, channel, address, message
):
    response = client.post(
        "/status/subscribe/", {"channel": channel, "address": address}
    )

    assert response.status_code == 400
    assert message in response.content.decode().replace("&ldquo;", "“").replace(
        "&rdquo;", "”"
    )
    assert Subscriber.objects.count() == 0
    assert Notice.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_requests_are_rate_limited_per_address(client, db, settings):
    settings.INCIDENTS_SUBSCRIBE_PER_ADDRESS = 2
    for _ in range(2):
        assert (
            client.post(
                "/status/subscribe/", {"channel": "email", "address": "x@example.com"}
            ).status_code
            == 200
        )

    response = client.post(
        "/status/subscribe/", {"channel": "email", "address": "x@example.com"}
    )

    assert response.status_code == 400
    assert str(RATE_LIMITED) in response.content.decode()
    assert Notice.objects.count() == 2


def test_requests_are_rate_limited_per_ip(client, db, settings):
    settings.INCIDENTS_SUBSCRIBE_PER_IP = 2
    for n in range(2):
        client.post(
            "/status/subscribe/", {"channel": "email", "address": f"p{n}@example.com"}
        )

    response = client.post(
        "/status/subscribe/", {"channel": "email", "address": "p9@example.com"}
    )

    assert response.status_code == 400
    assert str(RATE_LIMITED) in response.content.decode()
    assert Subscriber.objects.count() == 2


@pytest.mark.parametrize("action", ["confirm", "unsubscribe"])
def test_a_forged_or_tampered_link_is_refused(client, db, action):
    subscriber = Subscriber.objects.create(channel="email", address="a@example.com")
    forged = signing.dumps({"s": subscriber.pk}, salt="wrong")

    response = client.post(f"/status/{action}/{forged}/")

    assert response.status_code == 400
    assert str(LINK_INVALID) in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    assert subscriber.unsubscribed_at is None


def test_the_subscribe_page_renders(client, db):
    ComponentFactory(name="Transfers")
    body = client.get("/status/subscribe/").content.decode()
    assert "Transfers" in body


def test_a_request_for_an_active_address_changes_nothing_until_confirmed(client, db):
    cards = ComponentFactory(name="Card payments")
    from django.utils import timezone

    subscriber = Subscriber.objects.create(
        channel="email", address="ann@example.com", confirmed_at=timezone.now()
    )

    client.post(
        "/status/subscribe/",
        {"channel": "email", "address": "ann@example.com", "components": [cards.pk]},
    )

    subscriber.refresh_from_db()
    assert subscriber.is_active
    assert list(subscriber.components.all()) == []
    notice = Notice.objects.get(kind="subscription_confirm")
    client.post(_link(notice, "confirm_url"))
    assert list(subscriber.components.all()) == [cards]


def test_an_unsubscribed_address_stays_unsubscribed_until_confirmed_again(client, db):
    from django.utils import timezone

    subscriber = Subscriber.objects.create(
        channel="email",
        address="ann@example.com",
        confirmed_at=timezone.now(),
        unsubscribed_at=timezone.now(),
    )

    client.post(
        "/status/subscribe/", {"channel": "email", "address": "ann@example.com"}
    )

    subscriber.refresh_from_db()
    assert not subscriber.is_active
