"""Every impact figure against a known data set, with exact values."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from deposits.models import Deposit
from impact.selectors import impact_charts, impact_figures
from notifications.models import Notice
from outage_desk.audit import audit_record
from tests.deposits.factories import DepositFactory
from tests.factories import BranchFactory
from tests.impact.data import NOW, RESTORED, T0, at, known_outage, make_notice
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage():
    return known_outage()


def test_it_counts_customers_and_deposits_per_channel_branch_and_currency(outage):
    # given
    incident, _people = outage
    # when
    figures = impact_figures(incident=incident, now=NOW)
    # then
    assert figures["customers_affected"] == 4
    deposits = figures["deposits"]
    assert deposits["count"] == 4
    assert deposits["by_currency"] == [
        {"currency": "CNY", "count": 2, "sum": Decimal("1500.00")},
        {"currency": "GBP", "count": 2, "sum": Decimal("150.50")},
    ]
    assert deposits["by_channel"] == [
        {"channel": "cash", "currency": "GBP", "count": 1, "sum": Decimal("100.00")},
        {
            "channel": "in_person",
            "currency": "CNY",
            "count": 2,
            "sum": Decimal("1500.00"),
        },
        {"channel": "phone", "currency": "GBP", "count": 1, "sum": Decimal("50.50")},
    ]
    assert deposits["by_branch"] == [
        {"branch_code": "HQ", "currency": "GBP", "count": 2, "sum": Decimal("150.50")},
        {
            "branch_code": "NORTH",
            "currency": "CNY",
            "count": 2,
            "sum": Decimal("1500.00"),
        },
    ]


def test_it_counts_unconfirmed_deposits_by_age(outage):
    incident, _people = outage
    figures = impact_figures(incident=incident, now=NOW)
    assert figures["unconfirmed"] == {
        "count": 4,
        "buckets": {
            "under_1h": 1,
            "from_1h_to_4h": 3,
            "from_4h_to_24h": 0,
            "from_1d_to_3d": 0,
            "over_3d": 0,
        },
    }


def test_age_buckets_put_each_edge_in_the_older_bucket():
    # given: ages just under 1 h, then exactly 1 h, 4 h, 24 h, 3 d and 3 d + 1 s
    incident = IncidentFactory(impact_started_at=NOW - dt.timedelta(days=5))
    for age in [
        dt.timedelta(minutes=59, seconds=59),
        dt.timedelta(hours=1),
        dt.timedelta(hours=4),
        dt.timedelta(hours=24),
        dt.timedelta(days=3),
        dt.timedelta(days=3, seconds=1),
    ]:
        DepositFactory(incident=incident, received_at=NOW - age)
    # when
    buckets = impact_figures(incident=incident, now=NOW)["unconfirmed"]["buckets"]
    # then
    assert buckets == {
        "under_1h": 1,
        "from_1h_to_4h": 1,
        "from_4h_to_24h": 1,
        "from_1d_to_3d": 1,
        "over_3d": 2,
    }


def test_first_notice_is_the_earliest_notice_naming_the_incident_by_id_or_reference(
    outage,
):
    incident, _people = outage
    figures = impact_figures(incident=incident, now=NOW)
    assert figures["first_notice"] == {"at": at(8, 12), "seconds": 720}


def test_notice_coverage_counts_customers_with_a_sent_notice(outage):
    # c1 (sent deposit notice) and c3 (sent outage notice) were told; c2's notice
    # failed (its sent one belongs to another incident); ACC4 has no contact.
    incident, _people = outage
    figures = impact_figures(incident=incident, now=NOW)
    assert figures["notice_coverage"] == {
        "told": 2,
        "affected": 4,
        "percent": Decimal("50.00"),
    }


def test_missed_cadence_counts_a_promised_update_that_came_late(outage):
    incident, _people = outage
    figures = impact_figures(incident=incident, now=NOW)
    first = incident.updates.get(created_at=at(8, 30))
    assert figures["missed_updates"] == {
        "count": 1,
        "items": [
            {
                "update_id": first.pk,
                "due_at": at(9),
                "came_at": at(9, 5),
                "late_seconds": 300,
            }
        ],
    }


def test_an_overdue_promise_on_an_open_incident_counts_until_now():
    incident = IncidentFactory(impact_started_at=T0)
    update = incident.updates.create(
        audience="public",
        status="investigating",
        texts={"en": "x"},
        created_at=at(9),
        next_update_due_at=at(10),
    )
    figures = impact_figures(incident=incident, now=at(10, 30))
    assert figures["missed_updates"]["items"] == [
        {
            "update_id": update.pk,
            "due_at": at(10),
            "came_at": None,
            "late_seconds": 1800,
        }
    ]
    # exactly on time is not late
    assert impact_figures(incident=incident, now=at(10))["missed_updates"]["count"] == 0


def test_estimated_cost_sums_offers_given_but_not_those_only_proposed(outage):
    incident, _people = outage
    figures = impact_figures(incident=incident, now=NOW)
    assert figures["estimated_cost"] == {
        "waived_fees": [{"currency": "GBP", "amount": Decimal("5.00")}],
        "compensation": [
            {"currency": "CNY", "amount": Decimal("15.00")},
            {"currency": "GBP", "amount": Decimal("10.00")},
        ],
        "total": [
            {"currency": "CNY", "amount": Decimal("15.00")},
            {"currency": "GBP", "amount": Decimal("15.00")},
        ],
    }


def test_full_confirmation_is_unknown_while_deposits_are_unconfirmed(outage):
    incident, _people = outage
    figures = impact_figures(incident=incident, now=NOW)
    assert figures["full_confirmation"] == {"at": None, "seconds_after_restore": None}


def _confirmed_incident():
    incident = IncidentFactory(impact_started_at=T0, restored_at=RESTORED)
    branch = BranchFactory(code="HQ")
    first = DepositFactory(
        incident=incident, branch=branch, status=Deposit.Status.CONFIRMED
    )
    second = DepositFactory(
        incident=incident, branch=branch, status=Deposit.Status.CONFIRMED
    )
    DepositFactory(incident=incident, branch=branch, status=Deposit.Status.REVERSED)
    return incident, first, second


def test_full_confirmation_is_the_last_deposits_confirmation_after_restore():
    # given: one confirmation in the audit trail (2 h after restore), one known
    # from its "confirmed" notice (3 h after restore); a reversed deposit ignored
    incident, first, second = _confirmed_incident()
    with time_machine.travel(RESTORED + dt.timedelta(hours=2), tick=False):
        audit_record(
            action="deposit.confirmed", obj=first, data={"status": "confirmed"}
        )
    make_notice(
        recipient="x@example.com",
        refs=[f"deposit:{second.pk}", f"incident:{incident.pk}"],
        status=Notice.Status.SENT,
        created_at=RESTORED + dt.timedelta(hours=3),
        kind="deposit_confirmed",
    )
    # when
    figures = impact_figures(incident=incident, now=NOW)
    # then
    assert figures["full_confirmation"] == {
        "at": RESTORED + dt.timedelta(hours=3),
        "seconds_after_restore": 10800,
    }


def test_full_confirmation_is_unknown_when_a_confirmation_left_no_trace():
    incident, first, _second = _confirmed_incident()
    audit_record(action="deposit.confirmed", obj=first, data={"status": "confirmed"})
    figures = impact_figures(incident=incident, now=NOW)
    assert figures["full_confirmation"]["at"] is None


def test_charts_count_deposits_per_hour_and_channel_and_notices_by_status(outage):
    incident, _people = outage
    charts = impact_charts(incident=incident)
    assert charts["hours"] == [
        "2026-11-20 08:00",
        "2026-11-20 09:00",
        "2026-11-20 10:00",
    ]
    assert charts["deposits_per_hour"] == {
        "Phone": [0, 1, 0],
        "In person": [0, 1, 1],
        "Cash": [1, 0, 0],
    }
    assert charts["confirmation"]["Confirmed"] == 1
    assert charts["confirmation"]["Reversed"] == 1
    assert charts["notices"]["Sent"] == 2
    assert charts["notices"]["Failed"] == 1
