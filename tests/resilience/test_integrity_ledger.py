"""Property-based: capture, approve, reverse and re-capture keep every money invariant."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from deposits.models import Deposit, DepositReversal
from deposits.services import (
    deposit_approve,
    deposit_reversal_approve,
    deposit_reversal_reject,
    deposit_reversal_request,
)
from outage_desk.audit import audit_verify
from tests.security_support import branch_world, capture, open_incident

# GBP has two decimals, JPY none: amounts are drawn in each currency's minor unit.
CURRENCIES = {"GBP": Decimal("0.01"), "JPY": Decimal("1")}
_codes = iter(range(1, 10**6))
STEPS: Counter[str] = Counter()


class Ledger(RuleBasedStateMachine):
    """The deposits of two fresh branches, driven only through the services."""

    def __init__(self) -> None:
        super().__init__()
        self.incident = open_incident()
        self.worlds = {
            cur: branch_world(f"P{next(_codes)}", currency=cur) for cur in CURRENCIES
        }
        self.amounts: dict[int, Decimal] = {}
        self.captured: Counter[str] = Counter()
        self.reversed: Counter[str] = Counter()
        self.recaptures = 0

    def _pick(self, status: str, data: st.DataObject) -> Deposit:
        pks = sorted(
            Deposit.objects.filter(pk__in=self.amounts, status=status).values_list(
                "pk", flat=True
            )
        )
        return Deposit.objects.get(pk=data.draw(st.sampled_from(pks)))

    def _has(self, *statuses: str) -> bool:
        return Deposit.objects.filter(pk__in=self.amounts, status__in=statuses).exists()

    def _capture(self, currency: str, minor: int) -> Deposit:
        amount = Decimal(minor) * CURRENCIES[currency]
        world = self.worlds[currency]
        deposit = capture(
            world=world,
            incident=self.incident,
            amount=amount,
            currency=currency,
            # Equal amounts to one account are legitimate here, not duplicates.
            duplicate_reason="Counted at the counter",
        )
        self.amounts[deposit.pk] = amount
        self.captured[currency] += amount
        return deposit

    @rule(
        currency=st.sampled_from(sorted(CURRENCIES)),
        minor=st.integers(min_value=1, max_value=250_000),
    )
    def capture_one(self, currency: str, minor: int) -> None:
        self._capture(currency, minor)
        STEPS["capture"] += 1

    @precondition(lambda self: self._has(Deposit.Status.PENDING_APPROVAL))
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        deposit = self._pick(Deposit.Status.PENDING_APPROVAL, data)
        world = self.worlds[deposit.currency]
        deposit_approve(deposit=deposit, approved_by=world.supervisor)
        STEPS["approve"] += 1

    @precondition(lambda self: self._has(Deposit.Status.PROVISIONAL))
    @rule(data=st.data(), approve=st.booleans())
    def reverse(self, data: st.DataObject, approve: bool) -> None:
        deposit = self._pick(Deposit.Status.PROVISIONAL, data)
        world = self.worlds[deposit.currency]
        reversal = deposit_reversal_request(
            deposit=deposit, requested_by=world.clerk2, reason="Keyed wrongly"
        )
        if not approve:
            deposit_reversal_reject(reversal=reversal, rejected_by=world.supervisor)
            STEPS["reject"] += 1
            return
        deposit_reversal_approve(reversal=reversal, approved_by=world.supervisor)
        self.reversed[deposit.currency] += deposit.amount
        # The correction is a new entry for the right amount, never an edit.
        self._capture(
            deposit.currency, int(deposit.amount / CURRENCIES[deposit.currency]) + 1
        )
        self.recaptures += 1
        STEPS["reverse+recapture"] += 1

    @invariant()
    def no_amount_ever_changes(self) -> None:
        stored = dict(
            Deposit.objects.filter(pk__in=self.amounts).values_list("pk", "amount")
        )
        assert stored == self.amounts

    @invariant()
    def every_reversal_points_at_an_original(self) -> None:
        mine = Deposit.objects.filter(pk__in=self.amounts)
        approved = DepositReversal.objects.filter(
            deposit__in=mine, status=DepositReversal.Status.APPROVED
        )
        reversed_pks = set(
            mine.filter(status=Deposit.Status.REVERSED).values_list("pk", flat=True)
        )
        assert sorted(approved.values_list("deposit_id", flat=True)) == sorted(
            reversed_pks
        )
        for r in approved.select_related("deposit"):
            assert r.decided_by_id not in (r.requested_by_id, r.deposit.recorded_by_id)
        assert not DepositReversal.objects.filter(
            deposit__in=mine, status=DepositReversal.Status.PENDING
        ).exists()

    @invariant()
    def totals_balance_per_currency(self) -> None:
        for currency in CURRENCIES:
            rows = Deposit.objects.filter(pk__in=self.amounts, currency=currency)
            by_status = {
                s: rows.filter(status=s).aggregate(t=Sum("amount"))["t"] or Decimal(0)
                for s in Deposit.Status.values
            }
            assert sum(by_status.values(), Decimal(0)) == self.captured[currency]
            assert by_status[Deposit.Status.REVERSED] == self.reversed[currency]
            counting = self.captured[currency] - self.reversed[currency]
            assert counting == sum(
                v for s, v in by_status.items() if s != Deposit.Status.REVERSED
            )


@pytest.mark.django_db
def test_capture_reverse_and_recapture_keep_every_invariant():
    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

    checked, broken = audit_verify()
    print(f"ledger steps: {dict(sorted(STEPS.items()))}; audit events {checked}")
    assert broken is None
    assert checked > 0
