"""A customer reads the status page on a phone and subscribes by e-mail (double opt-in)."""

import re

import pytest
from playwright.sync_api import expect

from incidents.models import Subscriber
from notifications.models import Notice
from tests.browser.conftest import PHONE, check_page
from tests.incidents.factories import ComponentFactory, IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_customer_subscribes_from_a_phone(make_page, db, language):
    ComponentFactory(name="Card payments")
    IncidentFactory(reference="INC-2026-0001", title="Card payments down")
    page = make_page(viewport=PHONE, language=language)

    page.goto(f"{page.base_url}/status/")
    check_page(page, shot=f"customer-status-{language}")
    page.click("a[href='/status/subscribe/']")
    page.wait_for_url("**/status/subscribe/")
    page.check("input[name=channel][value=email]")
    page.fill("input[name=address]", "ann@example.com")
    check_page(page, shot=f"customer-subscribe-{language}")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    check_page(page, shot=f"customer-subscribe-sent-{language}")

    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is None
    assert subscriber.language == language
    notice = Notice.objects.get(kind="subscription_confirm")
    link = re.sub(r"^https?://[^/]+", "", notice.context["confirm_url"])

    page.goto(f"{page.base_url}{link}")  # opening the link alone changes nothing
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    check_page(page, shot=f"customer-confirm-{language}")
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is not None
    expect(page.locator("main .alert-success")).to_be_visible()
    check_page(page, shot=f"customer-confirmed-{language}")
