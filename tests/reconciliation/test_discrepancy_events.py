"""``discrepancy.opened`` reaches subscribed integrators, signed, once per discrepancy."""

import json

import pytest

from notifications.delivery import notices_send_batch
from notifications.models import Notice
from notifications.services import webhook_endpoint_create
from reconciliation.finance_models import Case
from tests.api.test_webhooks import verify

from .factories import deposit_make, incident_make
from .finance_helpers import load, reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db):
    incident = incident_make()
    deposit_make(incident, receipt_number="R-1", amount="100.00", reference="INV-1")
    deposit_make(incident, receipt_number="R-3", amount="70.00", account="GB00000003")
    return incident


def subscribe(settings, url, lead, events):
    settings.DEBUG = True  # a plain-http receiver on 127.0.0.1
    endpoint = webhook_endpoint_create(
        name="Ledger", url=url, events=events, actor=lead
    )
    settings.DEBUG = False
    return endpoint


def test_each_opened_discrepancy_reaches_the_endpoint_signed(
    settings, tmp_path, incident, hook_receiver, lead
):
    # given an endpoint subscribed to discrepancy.opened, and records for one deposit
    endpoint = subscribe(settings, hook_receiver.url, lead, ["discrepancy.opened"])
    load(tmp_path, incident, ["TX-1,GB00000001,100.00,GBP,2026-03-02,Ann Lee,INV-1,"])
    load(
        tmp_path,
        incident,
        ["TX-9,GB00000009,12.50,GBP,2026-03-02,Dee Ell,,"],
        name="more.csv",
    )

    # when the run opens two discrepancies and the outbox is sent
    reconcile(incident)
    sent = notices_send_batch(channel="webhook")

    # then each arrives once, signed, with amounts as strings
    assert sent == 2
    cases = {c.kind: c for c in Case.objects.all()}
    assert set(cases) == {"missing_in_system", "missing_manual"}
    got = {}
    for request in hook_receiver.requests:
        header = request["headers"]["X-OutageDesk-Signature"]
        assert verify(endpoint.secret, request["body"], header)
        event = json.loads(request["body"])
        assert event["event"] == "discrepancy.opened"
        got[event["data"]["kind"]] = event["data"]
    missing = got["missing_in_system"]
    assert missing["id"] == cases["missing_in_system"].pk
    assert missing["incident"] == incident.reference
    assert (missing["amount"], missing["currency"]) == ("70.00", "GBP")
    assert missing["receipt_numbers"] == ["R-3"]
    assert missing["external_ids"] == []
    assert got["missing_manual"]["external_ids"] == ["TX-9"]
    assert got["missing_manual"]["amount"] == "12.50"


def test_a_rerun_does_not_announce_the_same_discrepancy_again(
    settings, tmp_path, incident, hook_receiver, lead
):
    subscribe(settings, hook_receiver.url, lead, ["discrepancy.opened"])
    load(tmp_path, incident, ["TX-1,GB00000001,100.00,GBP,2026-03-02,Ann Lee,INV-1,"])
    reconcile(incident)
    assert Notice.objects.filter(kind="discrepancy.opened").count() == 1

    # a second run finds the same missing deposit, and a new one
    deposit_make(incident, receipt_number="R-4", amount="40.00", account="GB00000004")
    reconcile(incident)

    notices = Notice.objects.filter(kind="discrepancy.opened").order_by("pk")
    assert [n.context["receipt_numbers"] for n in notices] == [["R-3"], ["R-4"]]
    assert Case.objects.filter(kind="missing_in_system").count() == 3


def test_nothing_is_written_when_no_endpoint_listens(
    settings, tmp_path, incident, hook_receiver, lead
):
    subscribe(settings, hook_receiver.url, lead, ["deposit.recorded"])
    load(tmp_path, incident, ["TX-1,GB00000001,100.00,GBP,2026-03-02,Ann Lee,INV-1,"])

    reconcile(incident)

    assert Case.objects.filter(kind="missing_in_system").count() == 1
    assert not Notice.objects.filter(kind="discrepancy.opened").exists()


def test_a_large_run_writes_its_events_in_a_constant_number_of_queries(
    settings, tmp_path, incident, hook_receiver, lead, django_assert_max_num_queries
):
    from reconciliation.events import discrepancies_opened_publish
    from reconciliation.models import Discrepancy

    subscribe(settings, hook_receiver.url, lead, ["discrepancy.opened"])
    subscribe(settings, hook_receiver.url + "2", lead, ["discrepancy.opened"])
    for n in range(30):
        deposit_make(
            incident, receipt_number=f"B-{n}", amount="5.00", account=f"GB1{n:07}"
        )
    run = reconcile(incident)
    Notice.objects.filter(kind="discrepancy.opened").delete()
    cases = list(Case.objects.filter(run=run).select_related("discrepancy"))
    through = Discrepancy.deposits.through.objects.filter(discrepancy__run=run)
    deposits = {}
    for did, dep in through.values_list("discrepancy_id", "deposit_id"):
        deposits.setdefault(did, []).append(dep)

    with django_assert_max_num_queries(8):
        written = discrepancies_opened_publish(
            run=run, cases=cases, deposits=deposits, records={}
        )

    assert written == 2 * len(cases) == 2 * 32
