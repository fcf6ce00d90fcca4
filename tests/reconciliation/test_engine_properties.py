"""Invariants of the matcher over generated inputs (hypothesis)."""

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.engine import (
    DEFAULT_CONFIG,
    ManualItem,
    SystemItem,
    match_partition,
    match_residual,
    partial_dump,
    partial_load,
    partition,
    partition_key,
    partition_of,
    reconcile,
)

MON = dt.date(2026, 3, 2)
accounts = st.sampled_from(["GB01", "GB02", "GB10", "GB11"])
amounts = st.sampled_from(
    [Decimal(x) for x in ("10.00", "15.00", "25.00", "51.00", "15.10", "100.00")]
)
names = st.sampled_from(["Ann Lee", "Anne Lee", "Bo Chan", "", "Bob Chan"])
refs = st.sampled_from(["", "", "A1", "A2", "B7"])
days = st.integers(min_value=0, max_value=6).map(lambda n: MON + dt.timedelta(days=n))
currencies = st.sampled_from(["GBP", "GBP", "GBP", "EUR"])


@st.composite
def inputs(draw):
    manual_rows = draw(
        st.lists(
            st.tuples(accounts, names, amounts, currencies, days, refs), max_size=12
        )
    )
    system_rows = draw(
        st.lists(
            st.tuples(accounts, names, amounts, currencies, days, refs), max_size=14
        )
    )
    manual = [
        ManualItem(i + 1, f"R{i + 1}", a, n, amt, c, d, r)
        for i, (a, n, amt, c, d, r) in enumerate(manual_rows)
    ]
    system = [
        SystemItem(100 + i, f"X{i}", a, amt, c, d, n, r)
        for i, (a, n, amt, c, d, r) in enumerate(system_rows)
    ]
    return manual, system


def outcomes(result):
    return (
        [(x.kind, x.manual_ids, x.system_ids, x.score) for x in result.matches],
        [(x.kind, x.manual_ids, x.system_ids, x.hint) for x in result.discrepancies],
    )


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_every_item_lands_in_exactly_one_outcome(data):
    manual, system = data

    result = reconcile(manual, system)

    seen = Counter()
    for outcome in [*result.matches, *result.discrepancies]:
        seen.update(("m", i) for i in outcome.manual_ids)
        seen.update(("s", i) for i in outcome.system_ids)
    expected = Counter([("m", m.id) for m in manual] + [("s", s.id) for s in system])
    assert seen == expected


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_a_match_balances_to_the_cent(data):
    manual, system = data
    by_m = {m.id: m for m in manual}
    by_s = {s.id: s for s in system}

    result = reconcile(manual, system)

    for match in result.matches:
        left = sum(by_m[i].amount for i in match.manual_ids)
        right = sum(by_s[i].amount for i in match.system_ids)
        assert left == right == match.manual_amount == match.system_amount
        assert {by_m[i].currency for i in match.manual_ids} | {
            by_s[i].currency for i in match.system_ids
        } == {match.currency}


@settings(max_examples=200, deadline=None)
@given(inputs(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_row_order(data, random):
    manual, system = data
    shuffled_m, shuffled_s = list(manual), list(system)
    random.shuffle(shuffled_m)
    random.shuffle(shuffled_s)

    assert outcomes(reconcile(shuffled_m, shuffled_s)) == outcomes(
        reconcile(manual, system)
    )


@settings(max_examples=200, deadline=None)
@given(inputs(), st.integers(min_value=2, max_value=7))
def test_a_partitioned_run_equals_a_single_run(data, parts):
    manual, system = data

    assert outcomes(reconcile(manual, system, partitions=parts)) == outcomes(
        reconcile(manual, system)
    )


@settings(max_examples=200, deadline=None)
@given(inputs(), st.integers(min_value=2, max_value=7))
def test_partitions_sent_as_json_merge_to_the_single_run(data, parts):
    # As the Celery fan-out does: each partition matched apart, its result sent
    # through JSON, the merge run on what arrives.
    manual, system = data

    sent = [
        json.loads(json.dumps(partial_dump(match_partition(m, s))))
        for m, s in partition(manual, system, parts, DEFAULT_CONFIG)
    ]
    merged = match_residual([partial_load(p) for p in sent])

    single = reconcile(manual, system)
    assert merged == single
    assert outcomes(merged) == outcomes(single)


def test_the_partition_hash_is_the_one_postgresql_computes():
    # The workers select their rows in SQL with the same hash.
    items = [
        SystemItem(1, "X1", "GB01", Decimal("100.000"), "GBP", MON),
        SystemItem(2, "X2", "GB01", Decimal("1E+2"), "GBP", MON),
        SystemItem(3, "X3", "GB01", Decimal("12.30"), "EUR", MON),
    ]

    keys = [partition_key(s, DEFAULT_CONFIG) for s in items]

    assert keys == ["GBP:100", "GBP:100", "EUR:12.3"]
    # ('x' || substr(md5('GBP:100'), 1, 8))::bit(32)::bigint in PostgreSQL 15
    assert partition_of("GBP:100", 2**32) == 3627208350


_TEXT = st.text(alphabet=st.sampled_from("aZ09 _-.\t\u00e9\u00a0\u674e"), max_size=12)


@given(_TEXT | st.text(max_size=8))
def test_the_quick_normalising_paths_agree_with_the_full_rules(value):
    import re
    import unicodedata

    from reconciliation.engine import norm_name, norm_ref

    assert norm_ref(value) == re.sub(r"[^0-9A-Z]", "", value.upper())
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    if not value.isascii() and not text.strip():
        text = value
    assert norm_name(value) == re.sub(r"[^\w]+", " ", text.casefold()).strip()


@given(days, days)
def test_business_days_between_is_the_count_of_weekdays_stepped_over(a, b):
    from reconciliation.engine import business_days_between

    low, high = min(a, b), max(a, b)
    steps = [low + dt.timedelta(days=i) for i in range(1, (high - low).days + 1)]
    assert business_days_between(a, b) == sum(1 for d in steps if d.weekday() < 5)
