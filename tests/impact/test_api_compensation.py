"""Compensation through the API: offers, approval by the comms approver, tracking, rules."""

from decimal import Decimal

import pytest

from incidents.models import (
    CompensationOffer,
    CompensationRule,
    OutageRole,
    RoleAssignment,
)
from incidents.services.compensation import (
    OFFER_MOVE_REFUSED,
    OFFERS_NONE_PROPOSED,
    OFFERS_NOT_APPROVER,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent
from tests.impact.api_support import API, REF, error_of, impact_state
from tests.impact.data import make_rule
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db

RULES = "/api/v1/impact/compensation-rules/"


def audits(action):
    return list(
        AuditEvent.objects.filter(action=action).values_list(
            "actor__username", flat=True
        )
    )


def offer(status):
    return CompensationOffer.objects.get(incident__reference=REF, status=status)


# --- offers -----------------------------------------------------------------------


def test_offers_are_listed_by_cursor_with_costs_as_strings(api_as, outage):
    response = api_as("finance").get(f"{API}/offers/", {"page_size": 3})
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"next", "previous", "results"}
    assert [o["account"] for o in page["results"]] == ["A1", "A2", "A3"]
    first = page["results"][0]
    assert (first["cost"], first["currency"], first["status"]) == (
        "5.00",
        "GBP",
        "sent",
    )
    assert first["offer_kind"] == "fee_waiver"
    assert "address" not in first
    rest = api_as("finance").get(page["next"]).json()
    assert [o["account"] for o in rest["results"]] == ["A4"]


def test_offers_filter_by_status_and_currency(api_as, outage):
    api = api_as("lead")
    sent = api.get(f"{API}/offers/", {"status": "proposed"}).json()["results"]
    assert [o["account"] for o in sent] == ["A4"]
    cny = api.get(f"{API}/offers/", {"currency": "CNY"}).json()["results"]
    assert [o["cost"] for o in cny] == ["15.00"]
    bad = api.get(f"{API}/offers/", {"status": "lost"})
    assert bad.status_code == 400
    assert list(error_of(bad)["fields"]) == ["status"]


def test_the_offer_list_costs_the_same_queries_for_more_offers(
    api_as, outage, django_assert_max_num_queries
):
    api = api_as("lead")
    with django_assert_max_num_queries(8):
        assert len(api.get(f"{API}/offers/").json()["results"]) == 4


@pytest.mark.parametrize("persona", ["clerk", "supervisor", "outsider"])
def test_clerks_see_no_offers(api_as, outage, persona):
    response = api_as(persona).get(f"{API}/offers/")
    assert response.status_code == 403
    assert "A1" not in response.content.decode()


@pytest.fixture
def approver(outage, finance):
    """Erin (finance) is the incident's comms approver; A4's offer has an address."""
    RoleAssignment.objects.create(
        incident=outage, role=OutageRole.COMMS_APPROVER, user=finance
    )
    CompensationOffer.objects.filter(account="A4").update(
        channel="email", address="a4@example.com"
    )
    return finance


def approve(api, key="k-1"):
    return api.post(f"{API}/offers/approve/", HTTP_IDEMPOTENCY_KEY=key)


def test_the_comms_approver_approves_and_the_offer_goes_out_once(api_as, approver):
    api = api_as("finance")
    # when
    response = approve(api)
    # then
    assert response.status_code == 200
    assert response.json() == {"approved": 1}
    a4 = CompensationOffer.objects.get(account="A4")
    assert (a4.status, a4.approved_by) == ("sent", approver)
    assert list(
        Notice.objects.filter(kind="compensation_offer").values_list(
            "recipient", flat=True
        )
    ) == ["a4@example.com"]
    assert audits("compensation.approved") == ["erin"]
    # a retry with the same key is answered from the first time
    again = approve(api)
    assert (again.status_code, again.json()) == (200, {"approved": 1})
    assert again["Idempotent-Replayed"] == "true"
    assert Notice.objects.filter(kind="compensation_offer").count() == 1
    assert audits("compensation.approved") == ["erin"]
    # a new attempt finds nothing left
    before = impact_state()
    late = approve(api, key="k-2")
    assert late.status_code == 409
    assert error_of(late)["fields"] == {
        "offers": [OFFERS_NONE_PROPOSED.format(reference=REF)]
    }
    assert impact_state() == before


def test_approval_needs_an_idempotency_key(api_as, approver):
    before = impact_state()
    response = api_as("finance").post(f"{API}/offers/approve/")
    assert response.status_code == 400
    assert error_of(response)["code"] == "idempotency_key_missing"
    assert impact_state() == before


def test_who_is_not_the_comms_approver_may_not_approve(api_as, approver):
    # the lead runs the incident but does not hold the comms approver role
    before = impact_state()
    response = approve(api_as("lead"))
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "permission_denied",
        "message": OFFERS_NOT_APPROVER.format(reference=REF),
    }
    assert impact_state() == before
    assert offer("proposed").account == "A4"


@pytest.mark.parametrize("persona", ["clerk", "outsider"])
def test_a_clerk_holding_the_role_still_may_not_approve(
    api_as, outage, request, persona
):
    # as on the screen: approving needs incidents.view_impact first
    RoleAssignment.objects.create(
        incident=outage,
        role=OutageRole.COMMS_APPROVER,
        user=request.getfixturevalue(persona),
    )
    before = impact_state()
    response = approve(api_as(persona))
    assert response.status_code == 403
    assert impact_state() == before


def test_an_offer_is_accepted_then_redeemed_one_step_at_a_time(api_as, outage):
    api = api_as("lead")
    sent = offer("sent")
    # redeemed straight from sent is refused
    before = impact_state()
    refused = api.post(
        f"{API}/offers/{sent.pk}/advance/", {"status": "redeemed"}, format="json"
    )
    assert refused.status_code == 409
    assert error_of(refused)["fields"] == {
        "status": [OFFER_MOVE_REFUSED.format(old="sent", new="redeemed")]
    }
    assert impact_state() == before
    # accepted, then redeemed
    accepted = api.post(
        f"{API}/offers/{sent.pk}/advance/", {"status": "accepted"}, format="json"
    )
    assert accepted.status_code == 200
    assert accepted.json()["accepted_at"] is not None
    redeemed = api.post(
        f"{API}/offers/{sent.pk}/advance/", {"status": "redeemed"}, format="json"
    )
    assert redeemed.status_code == 200
    assert redeemed.json()["status"] == "redeemed"
    assert redeemed.json()["redeemed_at"] is not None
    assert audits("compensation.accepted") == ["dana"]
    assert audits("compensation.redeemed") == ["dana"]


@pytest.mark.parametrize(
    "body", [{"status": "sent"}, {"status": "refunded"}, {}, {"state": "accepted"}]
)
def test_a_bad_advance_is_refused_naming_the_field(api_as, outage, body):
    sent = offer("sent")
    before = impact_state()
    response = api_as("lead").post(
        f"{API}/offers/{sent.pk}/advance/", body, format="json"
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) <= {"status", "state"}
    assert impact_state() == before


def test_finance_may_not_mark_offers_redeemed(api_as, outage):
    accepted = offer("accepted")
    before = impact_state()
    response = api_as("finance").post(
        f"{API}/offers/{accepted.pk}/advance/", {"status": "redeemed"}, format="json"
    )
    assert response.status_code == 403
    assert impact_state() == before


def test_an_offer_of_another_incident_is_404(api_as, outage):
    IncidentFactory(reference="INC-2026-0200")
    sent = offer("sent")
    response = api_as("lead").post(
        f"/api/v1/impact/INC-2026-0200/offers/{sent.pk}/advance/",
        {"status": "accepted"},
        format="json",
    )
    assert response.status_code == 404
    assert offer("sent").pk == sent.pk


# --- rules ------------------------------------------------------------------------

RULE = {
    "tier": "premium",
    "min_minutes": 30,
    "max_minutes": 120,
    "offer_kind": "fixed_credit",
    "value": "10.00",
    "currency": "GBP",
}


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("lead", 200),
        ("admin_user", 200),
        ("finance", 403),
        ("clerk", 403),
        ("outsider", 403),
    ],
)
def test_rules_are_read_by_who_may_see_them_in_the_admin(
    api_as, roles, persona, status
):
    make_rule(value=Decimal("2.50"), cap=Decimal("5.00"))
    response = api_as(persona).get(RULES)
    assert response.status_code == status
    if status == 200:
        assert response.json()["results"][0] | {"id": 0} == {
            "id": 0,
            "incident": None,
            "tier": "standard",
            "min_minutes": 0,
            "max_minutes": None,
            "offer_kind": "fixed_credit",
            "value": "2.50",
            "currency": "GBP",
            "cap": "5.00",
        }


def test_rules_filter_by_incident_and_defaults(api_as, outage):
    make_rule(incident=outage, tier="premium")
    api = api_as("lead")
    own = api.get(RULES, {"incident": REF}).json()["results"]
    defaults = api.get(RULES, {"default": "true"}).json()["results"]
    assert [r["incident"] for r in own] == [REF]
    assert [r["incident"] for r in defaults] == [None]


def test_the_lead_adds_a_rule_for_an_incident(api_as, outage):
    response = api_as("lead").post(RULES, {**RULE, "incident": REF}, format="json")
    assert response.status_code == 201
    assert response.json()["incident"] == REF
    rule = CompensationRule.objects.get(pk=response.json()["id"])
    assert (rule.value, rule.incident_id) == (Decimal("10.00"), outage.pk)
    assert audits("compensation.rule_created") == ["dana"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": "10.005"}, "value"),
        ({"value": "0"}, "value"),
        ({"value": 10.5}, "value"),
        ({"currency": "JPY", "value": "10.5"}, "value"),
        ({"currency": "ABC"}, "currency"),
        ({"cap": "-1"}, "cap"),
        ({"max_minutes": 30}, "max_minutes"),
        ({"tier": "gold"}, "tier"),
        ({"offer_kind": "voucher"}, "offer_kind"),
        ({"incident": "INC-2026-9999"}, "incident"),
        ({"amount": "1"}, "amount"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(api_as, outage, change, field):
    before = impact_state()
    response = api_as("lead").post(RULES, {**RULE, **change}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert list(error_of(response)["fields"]) == [field]
    assert impact_state() == before


def test_the_lead_changes_only_the_fields_sent(api_as, roles, lead):
    rule = make_rule(tier="premium", value=Decimal("10.50"))
    api = api_as("lead")
    response = api.patch(f"{RULES}{rule.pk}/", {"cap": "8.50"}, format="json")
    assert response.status_code == 200
    rule.refresh_from_db()
    assert (rule.tier, rule.value, rule.cap) == (
        "premium",
        Decimal("10.50"),
        Decimal("8.50"),
    )
    assert audits("compensation.rule_changed") == ["dana"]
    # a change checked against the rule as it stands: JPY has no decimals
    before = impact_state()
    refused = api.patch(f"{RULES}{rule.pk}/", {"currency": "JPY"}, format="json")
    assert refused.status_code == 400
    assert list(error_of(refused)["fields"]) == ["value", "cap"]
    assert impact_state() == before


def test_finance_may_not_change_rules(api_as, roles, finance):
    rule = make_rule()
    before = impact_state()
    assert api_as("finance").post(RULES, RULE, format="json").status_code == 403
    response = api_as("finance").patch(
        f"{RULES}{rule.pk}/", {"value": "1.00"}, format="json"
    )
    assert response.status_code == 403
    assert impact_state() == before


def test_a_rule_no_offer_used_is_deleted(api_as, roles, lead):
    rule = make_rule()
    response = api_as("lead").delete(f"{RULES}{rule.pk}/")
    assert response.status_code == 204
    assert not CompensationRule.objects.filter(pk=rule.pk).exists()
    assert audits("compensation.rule_deleted") == ["dana"]


def test_a_rule_offers_were_made_from_is_kept(api_as, outage):
    rule = CompensationRule.objects.get()
    before = impact_state()
    response = api_as("lead").delete(f"{RULES}{rule.pk}/")
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert impact_state() == before
