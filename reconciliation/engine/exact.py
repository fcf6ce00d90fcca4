"""The exact-amount passes: reference, account + amount + date, fuzzy name."""

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from rapidfuzz.distance import Levenshtein

from .assign import Edge, _assign, _Norm
from .items import (
    DEFAULT_CONFIG,
    DiscrepancyResult,
    ManualItem,
    MatchConfig,
    MatchResult,
    Partial,
    Result,
    SystemItem,
    business_days_between,
    name_similarity,
)

# ---- the exact-amount passes ------------------------------------------------------


def _date_points(days: int, window: int, weight: int) -> int:
    return max(0, weight - weight * days // (window + 1))


def _reasons(**values: str) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def _common(
    norm: _Norm, m: ManualItem, s: SystemItem, config: MatchConfig
) -> tuple[int, int, dict[str, str]]:
    days = business_days_between(m.received_on, s.value_date)
    name = name_similarity(norm.m_name[m.id], norm.s_name[s.id])
    diff = s.amount - m.amount
    reasons = _reasons(
        amount="equal" if not diff else f"within tolerance ({diff})",
        date="same day" if not days else f"{days} business day(s) apart",
        name=f"{name}% similar" if norm.s_name[s.id] else "",
    )
    return days, name, reasons


def _edges_reference(
    norm: _Norm,
    items: list[ManualItem],
    config: MatchConfig,
    rejected: frozenset[tuple[int, int]],
) -> list[Edge]:
    index: dict[tuple[str, str], list[SystemItem]] = defaultdict(list)
    for s in norm.s.values():
        if norm.s_ref[s.id]:
            index[(norm.s_ref[s.id], s.currency)].append(s)
    edges = []
    for m in items:
        seen: set[int] = set()
        for ref in sorted(norm.m_refs[m.id]):
            for s in index.get((ref, m.currency), ()):
                if s.id in seen or (m.id, s.id) in rejected:
                    continue
                seen.add(s.id)
                if abs(s.amount - m.amount) > config.amount_tolerance:
                    continue
                days, name, reasons = _common(norm, m, s, config)
                same_acct = norm.m_acct[m.id] == norm.s_acct[s.id]
                score = 55 + (20 if s.amount == m.amount else 15)
                score += (10 if same_acct else 0) + _date_points(
                    days, config.date_window, 10
                )
                score += name // 20
                reasons.update(
                    reference="equal", account="equal" if same_acct else "differs"
                )
                edges.append((score, m.id, s.id, reasons))
    return edges


def _edges_account(
    norm: _Norm,
    items: list[ManualItem],
    config: MatchConfig,
    rejected: frozenset[tuple[int, int]],
) -> list[Edge]:
    index: dict[tuple[str, str], list[SystemItem]] = defaultdict(list)
    for s in norm.s.values():
        index[(norm.s_acct[s.id], s.currency)].append(s)
    edges = []
    for m in items:
        for s in index.get((norm.m_acct[m.id], m.currency), ()):
            if (m.id, s.id) in rejected or abs(
                s.amount - m.amount
            ) > config.amount_tolerance:
                continue
            days, name, reasons = _common(norm, m, s, config)
            if days > config.date_window:
                continue
            refs_differ = bool(norm.s_ref[s.id] and norm.m_refs[m.id]) and (
                norm.s_ref[s.id] not in norm.m_refs[m.id]
            )
            score = 30 + (30 if s.amount == m.amount else 25)
            score += _date_points(days, config.date_window, 20) + name // 10
            score += 0 if refs_differ else 10
            reasons.update(account="equal", reference="differs" if refs_differ else "")
            edges.append((score, m.id, s.id, _reasons(**reasons)))
    return edges


def _edges_fuzzy(
    norm: _Norm,
    items: list[ManualItem],
    config: MatchConfig,
    rejected: frozenset[tuple[int, int]],
) -> list[Edge]:
    index: dict[tuple[str, Decimal], list[SystemItem]] = defaultdict(list)
    for s in norm.s.values():
        index[(s.currency, s.amount.normalize())].append(s)
    edges = []
    for m in items:
        for s in index.get((m.currency, m.amount.normalize()), ()):
            if (m.id, s.id) in rejected:
                continue
            days, name, reasons = _common(norm, m, s, config)
            if days > config.date_window:
                continue
            a, b = norm.m_acct[m.id], norm.s_acct[s.id]
            typo = Levenshtein.distance(a, b) if a and b else 99
            if name < config.fuzzy_threshold and not (
                typo <= 2 and (name >= 60 or not norm.s_name[s.id])
            ):
                continue
            account_points = {0: 20, 1: 12, 2: 6}.get(typo, 0)
            score = 20 + name * 40 // 100 + account_points
            score += _date_points(days, config.date_window, 20)
            reasons["account"] = (
                "equal" if typo == 0 else "looks mistyped" if typo <= 2 else "differs"
            )
            edges.append((score, m.id, s.id, reasons))
    return edges


_EDGE_BUILDERS = {
    "reference": _edges_reference,
    "account_amount_date": _edges_account,
    "fuzzy": _edges_fuzzy,
}


def _match_of(kind: str, edge: Edge, norm: _Norm) -> MatchResult:
    m, s = norm.m[edge[1]], norm.s[edge[2]]
    return MatchResult(
        kind, (m.id,), (s.id,), edge[0], edge[3], m.amount, s.amount, m.currency
    )


def _ambiguous(ms: set[int], ss: set[int], norm: _Norm) -> DiscrepancyResult:
    return DiscrepancyResult(
        "ambiguous",
        tuple(sorted(ms)),
        tuple(sorted(ss)),
        sum((norm.m[i].amount for i in ms), Decimal(0)),
        sum((norm.s[i].amount for i in ss), Decimal(0)),
        currency=norm.m[min(ms)].currency,
    )


def match_partition(
    manual: Sequence[ManualItem],
    system: Sequence[SystemItem],
    config: MatchConfig = DEFAULT_CONFIG,
    rejected: frozenset[tuple[int, int]] = frozenset(),
) -> Partial:
    """Run the exact-amount passes over one partition (or everything)."""
    manual = sorted(manual, key=lambda m: m.id)
    system = sorted(system, key=lambda s: s.id)
    norm = _Norm(manual, system)
    result = Result()
    taken_m: set[int] = set()
    taken_s: set[int] = set()
    for kind in config.passes:
        builder = _EDGE_BUILDERS.get(kind)
        if builder is None:
            continue
        left = [m for m in manual if m.id not in taken_m]
        edges = [
            e for e in builder(norm, left, config, rejected) if e[2] not in taken_s
        ]
        pairs, ambiguous = _assign(edges, norm, taken_m, taken_s)
        result.matches += [_match_of(kind, e, norm) for e in pairs]
        result.discrepancies += [_ambiguous(ms, ss, norm) for ms, ss in ambiguous]
    return Partial(
        result,
        [m for m in manual if m.id not in taken_m],
        [s for s in system if s.id not in taken_s],
        _duplicates(norm, taken_m, taken_s, result),
    )


def _duplicates(
    norm: _Norm, taken_m: set[int], taken_s: set[int], result: Result
) -> dict[tuple[str, int], str]:
    """Leftovers identical to a matched item (or to an earlier leftover)."""
    in_match_m = {i for match in result.matches for i in match.manual_ids}
    in_match_s = {i for match in result.matches for i in match.system_ids}
    found: dict[tuple[str, int], str] = {}
    first_m: dict[tuple[object, ...], int] = {}
    for i in sorted(norm.m, key=lambda i: (i not in in_match_m, i)):
        key = norm.m_print(i)
        if key in first_m and i not in taken_m:
            found[("m", i)] = norm.m[first_m[key]].receipt_number
        first_m.setdefault(key, i)
    first_s: dict[tuple[object, ...], int] = {}
    for i in sorted(norm.s, key=lambda i: (i not in in_match_s, i)):
        key = norm.s_print(i)
        if key in first_s and i not in taken_s:
            found[("s", i)] = norm.s[first_s[key]].external_id
        first_s.setdefault(key, i)
    return found
