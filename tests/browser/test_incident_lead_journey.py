"""An incident lead declares an outage, assigns roles, logs a bank call and posts an update."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import BankContact, Incident, IncidentUpdate, RoleAssignment
from tests.browser.conftest import check_page, login, set_language

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_lead_runs_the_first_hour_of_an_outage(make_page, lead, clerk, language):
    page = make_page()
    login(page, "dana")
    if language != "en":
        set_language(page, language)

    # Declare.
    page.goto(f"{page.base_url}/incidents/")
    check_page(page, shot=f"lead-incidents-{language}")
    page.click("details.card > summary")
    form = page.locator("form[action$='/incidents/open/']")
    form.locator("[name=title]").fill("Card payments down")
    form.locator("[name=title_zh_hans]").fill("银行卡支付中断")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/incidents/INC-*/")
    incident = Incident.objects.get()
    expect(page.get_by_test_id("status")).to_be_visible()

    # Assign outage roles.
    for role in ("phone_desk", "bank_liaison"):
        roles = page.locator("form[action$='/roles/']")
        roles.locator("[name=role]").select_option(role)
        roles.locator("[name=user]").select_option(label="alice")
        roles.locator("button[type=submit]").click()
        page.wait_for_load_state()
    assert set(
        RoleAssignment.objects.filter(incident=incident).values_list("role", flat=True)
    ) >= {"phone_desk", "bank_liaison"}

    # Log the call with the bank.
    page.click("details:has(form[action$='/bank-contacts/']) > summary")
    contact = page.locator("form[action$='/bank-contacts/']")
    called = timezone.now() - dt.timedelta(minutes=10)
    contact.locator("[name=contacted_at]").fill(called.strftime("%Y-%m-%dT%H:%M"))
    contact.locator("[name=summary]").fill("Core switch failed; vendor on site.")
    contact.locator("[name=bank_ticket_ref]").fill("BNK-4711")
    contact.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert BankContact.objects.get(incident=incident).bank_ticket_ref == "BNK-4711"

    # Post a public update in both languages.
    page.click("details:has(form[action$='/updates/']) > summary")
    update = page.locator("form[action$='/updates/']")
    update.locator("[name=audience]").select_option("public")
    update.locator("[name=text_en]").fill("We are working with the bank on a fix.")
    update.locator("[name=text_zh_hans]").fill("我们正在与银行一起修复。")
    update.locator("button[type=submit]").click()
    page.wait_for_load_state()

    assert IncidentUpdate.objects.filter(incident=incident, audience="public").exists()
    expected = (
        "我们正在与银行一起修复。" if language != "en" else "working with the bank"
    )
    assert expected in page.locator("#timeline").inner_text()
    page.locator("#timeline").scroll_into_view_if_needed()
    check_page(page, shot=f"lead-incident-{language}")
