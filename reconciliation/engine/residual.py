"""The residual stage: splits, duplicates, mismatches, what is missing."""

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from .assign import Edge, _assign, _Norm
from .exact import _date_points
from .items import (
    DEFAULT_CONFIG,
    HINT_SAME_AS,
    DiscrepancyResult,
    ManualItem,
    MatchConfig,
    MatchResult,
    Partial,
    Result,
    SystemItem,
    amount_hint,
    business_days_between,
    name_similarity,
    norm_ref,
)

# ---- the residual stage ----------------------------------------------------------


def _subsets(
    target: Decimal, pool: Sequence[ManualItem | SystemItem], config: MatchConfig
) -> list[tuple[int, ...]]:
    """Every set of 2..max_split items summing exactly to the target."""
    candidates = [p for p in pool if 0 < p.amount < target]
    if len(candidates) > config.split_candidates:
        return []
    found = []
    for size in range(2, config.max_split + 1):
        for combo in itertools.combinations(candidates, size):
            if sum(p.amount for p in combo) == target:
                found.append(tuple(p.id for p in combo))
    return found


def _splits(
    manual: list[ManualItem],
    system: list[SystemItem],
    config: MatchConfig,
    rejected: frozenset[tuple[int, int]],
) -> tuple[list[MatchResult], list[DiscrepancyResult], set[int], set[int]]:
    by_acct_s: dict[tuple[str, str], list[SystemItem]] = defaultdict(list)
    by_acct_m: dict[tuple[str, str], list[ManualItem]] = defaultdict(list)
    for s in system:
        by_acct_s[(norm_ref(s.account), s.currency)].append(s)
    for m in manual:
        by_acct_m[(norm_ref(m.account), m.currency)].append(m)
    groups: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    ambiguous: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    for m in manual:  # one deposit, several records
        pool = [
            s
            for s in by_acct_s[(norm_ref(m.account), m.currency)]
            if business_days_between(m.received_on, s.value_date) <= config.date_window
            and (m.id, s.id) not in rejected
        ]
        found = _subsets(m.amount, pool, config)
        if len(found) == 1:
            groups.append(((m.id,), found[0]))
        elif found:
            ambiguous.append(((m.id,), tuple(sorted({i for f in found for i in f}))))
    for s in system:  # several deposits, one record
        pool_m = [
            m
            for m in by_acct_m[(norm_ref(s.account), s.currency)]
            if business_days_between(m.received_on, s.value_date) <= config.date_window
            and (m.id, s.id) not in rejected
        ]
        found = _subsets(s.amount, pool_m, config)
        if len(found) == 1:
            groups.append((found[0], (s.id,)))
        elif found:
            ambiguous.append((tuple(sorted({i for f in found for i in f})), (s.id,)))
    return _settle_splits(groups, ambiguous, manual, system)


def _settle_splits(
    groups: list[tuple[tuple[int, ...], tuple[int, ...]]],
    ambiguous: list[tuple[tuple[int, ...], tuple[int, ...]]],
    manual: list[ManualItem],
    system: list[SystemItem],
) -> tuple[list[MatchResult], list[DiscrepancyResult], set[int], set[int]]:
    """Groups that share an item with another candidate are ambiguous too."""
    m_by_id = {m.id: m for m in manual}
    s_by_id = {s.id: s for s in system}
    uses: dict[tuple[str, int], int] = defaultdict(int)
    for ms, ss in groups + ambiguous:
        for i in ms:
            uses[("m", i)] += 1
        for i in ss:
            uses[("s", i)] += 1
    matches, discrepancies = [], []
    taken_m: set[int] = set()
    taken_s: set[int] = set()
    for ms, ss in sorted(set(groups)):
        clash = any(uses[("m", i)] > 1 for i in ms) or any(
            uses[("s", i)] > 1 for i in ss
        )
        if clash:
            ambiguous.append((ms, ss))
            continue
        first = m_by_id[ms[0]]
        days = max(
            business_days_between(m_by_id[a].received_on, s_by_id[b].value_date)
            for a in ms
            for b in ss
        )
        amount = sum((m_by_id[i].amount for i in ms), Decimal(0))
        reasons = {
            "amount": f"{len(ms)} deposit(s) = {len(ss)} record(s)",
            "account": "equal",
            "date": "same day" if not days else f"up to {days} business day(s) apart",
        }
        matches.append(
            MatchResult(
                "split", ms, ss, 90 - 5 * days, reasons, amount, amount, first.currency
            )
        )
        taken_m.update(ms)
        taken_s.update(ss)
    for ms, ss in sorted(set(ambiguous)):
        ms = tuple(i for i in ms if i not in taken_m)
        ss = tuple(i for i in ss if i not in taken_s)
        if not ms or not ss:
            continue
        discrepancies.append(
            DiscrepancyResult(
                "ambiguous",
                ms,
                ss,
                sum((m_by_id[i].amount for i in ms), Decimal(0)),
                sum((s_by_id[i].amount for i in ss), Decimal(0)),
                currency=m_by_id[ms[0]].currency,
            )
        )
        taken_m.update(ms)
        taken_s.update(ss)
    return matches, discrepancies, taken_m, taken_s


def _mismatches(
    manual: list[ManualItem],
    system: list[SystemItem],
    config: MatchConfig,
    rejected: frozenset[tuple[int, int]],
) -> list[DiscrepancyResult]:
    """Pair leftovers that are plainly the same deposit with a wrong amount or currency."""
    norm = _Norm(manual, system)
    by_ref: dict[str, list[SystemItem]] = defaultdict(list)
    by_acct: dict[str, list[SystemItem]] = defaultdict(list)
    for s in system:
        if norm.s_ref[s.id]:
            by_ref[norm.s_ref[s.id]].append(s)
        by_acct[norm.s_acct[s.id]].append(s)
    edges: list[Edge] = []
    for m in manual:
        cands = {s.id: s for r in norm.m_refs[m.id] for s in by_ref.get(r, ())}
        for s in by_acct.get(norm.m_acct[m.id], ()):
            cands.setdefault(s.id, s)
        for s in cands.values():
            if (m.id, s.id) in rejected:
                continue
            days = business_days_between(m.received_on, s.value_date)
            same_ref = norm.s_ref[s.id] in norm.m_refs[m.id]
            if days > config.date_window and not same_ref:
                continue
            hint = amount_hint(m.amount, s.amount) if m.currency == s.currency else ""
            name = name_similarity(norm.m_name[m.id], norm.s_name[s.id])
            same_amount = s.amount == m.amount
            if not (
                same_ref
                or hint
                or name >= config.fuzzy_threshold
                or (same_amount and m.currency != s.currency)
            ):
                continue
            score = (50 if same_ref else 0) + (20 if hint or same_amount else 0)
            score += _date_points(days, config.date_window, 10) + name // 10
            edges.append((score, m.id, s.id, {"hint": hint}))
    pairs, _ambiguous = _assign(edges, norm, set(), set())
    out = []
    for _score, mi, si, reasons in pairs:
        m, s = norm.m[mi], norm.s[si]
        if m.currency != s.currency:
            out.append(
                DiscrepancyResult(
                    "currency_mismatch",
                    (mi,),
                    (si,),
                    m.amount,
                    s.amount,
                    currency=m.currency,
                )
            )
        else:
            out.append(
                DiscrepancyResult(
                    "amount_mismatch",
                    (mi,),
                    (si,),
                    m.amount,
                    s.amount,
                    s.amount - m.amount,
                    reasons["hint"],
                    m.currency,
                )
            )
    return out


def match_residual(
    partials: Iterable[Partial],
    config: MatchConfig = DEFAULT_CONFIG,
    rejected: frozenset[tuple[int, int]] = frozenset(),
) -> Result:
    """Merge partitions and settle their leftovers: splits, duplicates, mismatches."""
    result = Result()
    manual: list[ManualItem] = []
    system: list[SystemItem] = []
    duplicate_of: dict[tuple[str, int], str] = {}
    for part in partials:
        result.matches += part.result.matches
        result.discrepancies += part.result.discrepancies
        manual += part.manual_left
        system += part.system_left
        duplicate_of.update(part.duplicate_of)
    manual.sort(key=lambda m: m.id)
    system.sort(key=lambda s: s.id)
    if "split" in config.passes:
        matches, ambiguous, taken_m, taken_s = _splits(manual, system, config, rejected)
        result.matches += matches
        result.discrepancies += ambiguous
        manual = [m for m in manual if m.id not in taken_m]
        system = [s for s in system if s.id not in taken_s]
    for m in manual:
        if ("m", m.id) in duplicate_of:
            result.discrepancies.append(
                DiscrepancyResult(
                    "duplicate_manual",
                    (m.id,),
                    (),
                    m.amount,
                    hint=HINT_SAME_AS % duplicate_of[("m", m.id)],
                    currency=m.currency,
                )
            )
    for s in system:
        if ("s", s.id) in duplicate_of:
            result.discrepancies.append(
                DiscrepancyResult(
                    "duplicate_system",
                    (),
                    (s.id,),
                    None,
                    s.amount,
                    hint=HINT_SAME_AS % duplicate_of[("s", s.id)],
                    currency=s.currency,
                )
            )
    manual = [m for m in manual if ("m", m.id) not in duplicate_of]
    system = [s for s in system if ("s", s.id) not in duplicate_of]
    mismatches = _mismatches(manual, system, config, rejected)
    result.discrepancies += mismatches
    paired_m = {i for d in mismatches for i in d.manual_ids}
    paired_s = {i for d in mismatches for i in d.system_ids}
    result.discrepancies += [
        DiscrepancyResult(
            "missing_in_system", (m.id,), (), m.amount, currency=m.currency
        )
        for m in manual
        if m.id not in paired_m
    ]
    result.discrepancies += [
        DiscrepancyResult(
            "missing_manual", (), (s.id,), None, s.amount, currency=s.currency
        )
        for s in system
        if s.id not in paired_s
    ]
    return result.sort()
