"""The pure matcher: no database."""

import datetime as dt
from decimal import Decimal

import pytest

from reconciliation.engine import (
    HINT_DECIMAL_SHIFT,
    HINT_TRANSPOSED,
    DiscrepancyResult,
    ManualItem,
    MatchConfig,
    SystemItem,
    amount_hint,
    business_days_between,
    in_scope,
    reconcile,
)

MON = dt.date(2026, 3, 2)


def m(id, amount, account="GB01", name="Ann Lee", ref="", day=MON, currency="GBP"):
    return ManualItem(id, f"R{id}", account, name, Decimal(amount), currency, day, ref)


def s(id, amount, account="GB01", name="Ann Lee", ref="", day=MON, currency="GBP"):
    return SystemItem(id, f"X{id}", account, Decimal(amount), currency, day, name, ref)


def kinds(result):
    return (
        sorted((x.kind, x.manual_ids, x.system_ids) for x in result.matches),
        sorted((x.kind, x.manual_ids, x.system_ids) for x in result.discrepancies),
    )


def test_business_days_skip_the_weekend():
    friday = dt.date(2026, 3, 6)
    assert business_days_between(friday, friday + dt.timedelta(days=3)) == 1
    assert business_days_between(MON, MON + dt.timedelta(days=7)) == 5
    assert business_days_between(MON + dt.timedelta(days=2), MON) == 2


def test_a_reference_match_wins_over_account_and_date():
    result = reconcile(
        [m(1, "100.00", ref="inv-001", account="GB99")],
        [s(10, "100.00", ref="INV 001", account="GB01", day=MON + dt.timedelta(1))],
    )

    assert kinds(result) == ([("reference", (1,), (10,))], [])
    match = result.matches[0]
    assert match.reasons["reference"] == "equal"
    assert match.reasons["account"] == "differs"
    assert match.reasons["date"] == "1 business day(s) apart"


def test_account_amount_and_date_match_cash_without_a_reference():
    result = reconcile([m(1, "50.00")], [s(10, "50.00", day=MON + dt.timedelta(1))])

    assert kinds(result) == ([("account_amount_date", (1,), (10,))], [])


def test_a_value_date_outside_the_window_does_not_match_on_account():
    late = MON + dt.timedelta(days=7)
    result = reconcile([m(1, "50.00")], [s(10, "50.00", day=late)])

    assert kinds(result) == (
        [],
        [("missing_in_system", (1,), ()), ("missing_manual", (), (10,))],
    )


def test_a_misspelt_name_and_a_mistyped_account_match_fuzzily():
    result = reconcile(
        [m(1, "75.10", account="GB12345678", name="Jonathan Smith")],
        [s(10, "75.10", account="GB12345687", name="Jonathon Smith")],
    )

    assert kinds(result) == ([("fuzzy", (1,), (10,))], [])
    assert result.matches[0].reasons["account"] == "looks mistyped"


def test_two_equally_good_candidates_are_ambiguous_not_matched():
    result = reconcile(
        [m(1, "20.00", name="")],
        [s(10, "20.00", name="Ann Lee"), s(11, "20.00", name="Bo Chan")],
    )

    assert kinds(result) == ([], [("ambiguous", (1,), (10, 11))])


def test_interchangeable_entries_pair_up_in_id_order():
    result = reconcile([m(2, "20.00"), m(1, "20.00")], [s(11, "20.00"), s(10, "20.00")])

    assert kinds(result) == (
        [("account_amount_date", (1,), (10,)), ("account_amount_date", (2,), (11,))],
        [],
    )


def test_one_deposit_against_several_records_is_a_split():
    result = reconcile(
        [m(1, "300.00")],
        [s(10, "100.00"), s(11, "150.00"), s(12, "50.00", day=MON + dt.timedelta(1))],
    )

    assert kinds(result) == ([("split", (1,), (10, 11, 12))], [])


def test_several_deposits_against_one_record_is_a_split():
    result = reconcile([m(1, "100.00"), m(2, "25.50")], [s(10, "125.50")])

    assert kinds(result) == ([("split", (1, 2), (10,))], [])


def test_a_transposed_amount_is_a_mismatch_with_a_hint():
    result = reconcile([m(1, "153.00", ref="A1")], [s(10, "135.00", ref="A1")])

    assert result.discrepancies == [
        DiscrepancyResult(
            "amount_mismatch",
            (1,),
            (10,),
            Decimal("153.00"),
            Decimal("135.00"),
            Decimal("-18.00"),
            HINT_TRANSPOSED,
            "GBP",
        )
    ]


def test_hints_name_typing_slips():
    assert amount_hint(Decimal("12.34"), Decimal("12.43")) == HINT_TRANSPOSED
    assert amount_hint(Decimal("1000.00"), Decimal("100.00")) == HINT_DECIMAL_SHIFT
    assert amount_hint(Decimal("10.00"), Decimal("17.00")) == ""


def test_a_different_currency_is_a_currency_mismatch():
    result = reconcile(
        [m(1, "80.00", ref="Q7")], [s(10, "80.00", ref="Q7", currency="EUR")]
    )

    assert kinds(result) == ([], [("currency_mismatch", (1,), (10,))])


def test_a_deposit_recorded_twice_is_a_duplicate():
    result = reconcile([m(1, "42.00"), m(2, "42.00")], [s(10, "42.00")])

    assert kinds(result) == (
        [("account_amount_date", (1,), (10,))],
        [("duplicate_manual", (2,), ())],
    )
    assert result.discrepancies[0].hint == "same as R1"


def test_a_record_loaded_twice_is_a_system_duplicate():
    result = reconcile([m(1, "42.00")], [s(10, "42.00"), s(11, "42.00")])

    assert kinds(result) == (
        [("account_amount_date", (1,), (10,))],
        [("duplicate_system", (), (11,))],
    )


def test_rejected_pairs_are_not_proposed_again():
    result = reconcile([m(1, "42.00")], [s(10, "42.00")], rejected=frozenset({(1, 10)}))

    assert kinds(result) == (
        [],
        [("missing_in_system", (1,), ()), ("missing_manual", (), (10,))],
    )


def test_passes_can_be_turned_off():
    config = MatchConfig(passes=("reference",))
    result = reconcile([m(1, "50.00")], [s(10, "50.00")], config)

    assert kinds(result)[0] == []


def test_scope_keeps_credits_in_the_window_plus_grace():
    records = [
        s(1, "10.00", day=MON),
        s(2, "-10.00", day=MON),
        s(3, "10.00", day=MON - dt.timedelta(1)),
        s(4, "10.00", day=MON + dt.timedelta(days=3)),  # Thursday: 3 business days
        s(5, "10.00", day=MON + dt.timedelta(days=4)),
    ]

    kept = in_scope(
        records, first_day=MON, last_day=MON + dt.timedelta(1), grace_days=2
    )

    assert [r.id for r in kept] == [1, 4]


def test_gc_paused_restores_the_collector_even_when_the_work_fails():
    import gc

    from reconciliation.engine import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the outer one restores
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), gc_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()
