"""The matcher: pure Python over plain dataclasses, no database, deterministic.

A run is two stages, so it can be spread over workers:

1. ``match_partition`` runs the exact-amount passes (reference, account + amount +
   date, fuzzy name) over one partition. Every candidate pair in those passes has
   the same currency and amount, so partitioning by ``partition_key`` (currency
   and amount) never separates a pair, and each partition's result is exactly the
   slice of a single run's result.
2. ``match_residual`` takes what every partition left over (a small remainder)
   and runs the passes that cross amounts: splits, duplicates, amount and
   currency mismatches, then reports what is still missing on either side.

Within a pass assignment is global: candidate pairs are taken best score first,
one score level at a time; at each level connected groups whose members are
interchangeable (identical content) pair up, any other group with more than one
candidate is ``ambiguous`` and nothing in it is matched. All ordering goes by
ids and content, never by input order.
"""

import datetime as dt
import itertools
import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

PASSES = ("reference", "account_amount_date", "fuzzy", "split")
HINT_TRANSPOSED = "transposed digits"
HINT_DECIMAL_SHIFT = "decimal point shifted"
HINT_SAME_AS = "same as %s"


@dataclass(frozen=True, slots=True)
class ManualItem:
    """A deposit recorded by hand, as the matcher sees it."""

    id: int
    receipt_number: str
    account: str
    payer_name: str
    amount: Decimal
    currency: str
    received_on: dt.date
    reference: str = ""


@dataclass(frozen=True, slots=True)
class SystemItem:
    """A restored system record, as the matcher sees it."""

    id: int
    external_id: str
    account: str
    amount: Decimal
    currency: str
    value_date: dt.date
    counterparty: str = ""
    reference: str = ""


@dataclass(frozen=True)
class MatchConfig:
    """Per-incident settings of the passes."""

    passes: tuple[str, ...] = PASSES
    date_window: int = 2  # business days between receipt and value date
    amount_tolerance: Decimal = Decimal("0")
    fuzzy_threshold: int = 85
    max_split: int = 4
    split_candidates: int = 12  # larger groups are not searched for splits

    def as_dict(self) -> dict[str, object]:
        return {
            "passes": list(self.passes),
            "date_window": self.date_window,
            "amount_tolerance": str(self.amount_tolerance),
            "fuzzy_threshold": self.fuzzy_threshold,
            "max_split": self.max_split,
        }


# Results are plain slotted classes, not frozen: a frozen dataclass pays a
# setattr call per field, which shows at a hundred thousand matches.
@dataclass(slots=True)
class MatchResult:
    """Deposits and records the matcher pairs, with the score and why."""

    kind: str
    manual_ids: tuple[int, ...]
    system_ids: tuple[int, ...]
    score: int
    reasons: dict[str, str]
    manual_amount: Decimal
    system_amount: Decimal
    currency: str


@dataclass(slots=True)
class DiscrepancyResult:
    """Something left for finance to look at."""

    kind: str
    manual_ids: tuple[int, ...]
    system_ids: tuple[int, ...]
    manual_amount: Decimal | None = None
    system_amount: Decimal | None = None
    difference: Decimal | None = None
    hint: str = ""
    currency: str = ""


@dataclass
class Result:
    matches: list[MatchResult] = field(default_factory=list)
    discrepancies: list[DiscrepancyResult] = field(default_factory=list)

    def sort(self) -> "Result":
        self.matches.sort(key=lambda m: (m.manual_ids, m.system_ids))
        self.discrepancies.sort(key=lambda d: (d.kind, d.manual_ids, d.system_ids))
        return self

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for match in self.matches:
            counts[f"matched_{match.kind}"] += 1
        for item in self.discrepancies:
            counts[item.kind] += 1
        counts["matched"] = len(self.matches)
        counts["discrepancies"] = len(self.discrepancies)
        return dict(sorted(counts.items()))


@dataclass
class Partial:
    """What one partition produced, and what it left for the residual stage."""

    result: Result
    manual_left: list[ManualItem]
    system_left: list[SystemItem]
    duplicate_of: dict[tuple[str, int], str]  # ("m"|"s", id) -> receipt / external id


# ---- normalising and small measures ----------------------------------------------

_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_SPACES = re.compile(r"[^\w]+")


def norm_ref(value: str) -> str:
    return _NON_ALNUM.sub("", value.upper())


def norm_name(value: str) -> str:
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    if not text.strip():
        text = value  # keep names in other scripts as they are
    return _SPACES.sub(" ", text.casefold()).strip()


def business_days_between(a: dt.date, b: dt.date) -> int:
    """Weekdays stepped over going from the earlier date to the later one."""
    if a > b:
        a, b = b, a
    weeks, extra = divmod((b - a).days, 7)
    weekday = a.weekday()
    return weeks * 5 + sum(1 for i in range(1, extra + 1) if (weekday + i) % 7 < 5)


def business_days_add(day: dt.date, count: int) -> dt.date:
    while count > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def name_similarity(a: str, b: str) -> int:
    if not a or not b:
        return 0
    return round(fuzz.token_sort_ratio(a, b))


def amount_hint(manual: Decimal, system: Decimal) -> str:
    """Name the typing slip two amounts suggest, if any."""
    a, b = str(int(manual * 1000)), str(int(system * 1000))
    if len(a) == len(b) and a != b and sorted(a) == sorted(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return HINT_TRANSPOSED
    for power in (1, 2, 3):
        factor = Decimal(10) ** power
        if manual * factor == system or system * factor == manual:
            return HINT_DECIMAL_SHIFT
    return ""


def partition_key(item: ManualItem | SystemItem, config: MatchConfig) -> str:
    """Items that can pair in the exact passes share a key (currency and amount)."""
    if config.amount_tolerance:
        return item.currency
    return f"{item.currency}:{item.amount.normalize()}"


def partition(
    manual: Iterable[ManualItem],
    system: Iterable[SystemItem],
    count: int,
    config: MatchConfig,
) -> list[tuple[list[ManualItem], list[SystemItem]]]:
    """Split the inputs into ``count`` parts by a stable hash of ``partition_key``."""
    parts: list[tuple[list[ManualItem], list[SystemItem]]] = [
        ([], []) for _ in range(count)
    ]
    for m in manual:
        parts[zlib.crc32(partition_key(m, config).encode()) % count][0].append(m)
    for s in system:
        parts[zlib.crc32(partition_key(s, config).encode()) % count][1].append(s)
    return parts


# ---- global assignment within one pass -------------------------------------------


class _Norm:
    """Normalised views of the items, computed once per stage."""

    def __init__(self, manual: Sequence[ManualItem], system: Sequence[SystemItem]):
        self.m = {m.id: m for m in manual}
        self.s = {s.id: s for s in system}
        self.m_name = {m.id: norm_name(m.payer_name) for m in manual}
        self.s_name = {s.id: norm_name(s.counterparty) for s in system}
        self.m_acct = {m.id: norm_ref(m.account) for m in manual}
        self.s_acct = {s.id: norm_ref(s.account) for s in system}
        self.m_refs = {
            m.id: {r for r in (norm_ref(m.reference), norm_ref(m.receipt_number)) if r}
            for m in manual
        }
        self.s_ref = {s.id: norm_ref(s.reference) for s in system}

    def m_print(self, i: int) -> tuple[object, ...]:
        m = self.m[i]
        ref = norm_ref(m.reference)
        return (
            self.m_acct[i],
            m.amount,
            m.currency,
            ref,
            self.m_name[i],
            m.received_on,
        )

    def s_print(self, i: int) -> tuple[object, ...]:
        s = self.s[i]
        return (
            self.s_acct[i],
            s.amount,
            s.currency,
            self.s_ref[i],
            self.s_name[i],
            s.value_date,
        )


Edge = tuple[int, int, int, dict[str, str]]  # score, manual id, system id, reasons


def _components(edges: list[Edge]) -> list[list[Edge]]:
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(node: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for _score, m, s, _r in edges:
        a, b = find(("m", m)), find(("s", s))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[tuple[str, int], list[Edge]] = defaultdict(list)
    for edge in edges:
        groups[find(("m", edge[1]))].append(edge)
    return [sorted(g, key=lambda e: (e[1], e[2])) for _k, g in sorted(groups.items())]


def _assign(
    edges: list[Edge], norm: _Norm, taken_m: set[int], taken_s: set[int]
) -> tuple[list[Edge], list[tuple[set[int], set[int]]]]:
    """Best score first; interchangeable groups pair up, others are ambiguous."""
    pairs: list[Edge] = []
    ambiguous: list[tuple[set[int], set[int]]] = []
    by_score: dict[int, list[Edge]] = defaultdict(list)
    for edge in edges:
        by_score[edge[0]].append(edge)
    for score in sorted(by_score, reverse=True):
        live = [
            e for e in by_score[score] if e[1] not in taken_m and e[2] not in taken_s
        ]
        for group in _components(live):
            ms = sorted({e[1] for e in group})
            ss = sorted({e[2] for e in group})
            if len(ms) == 1 and len(ss) == 1:
                pairs.append(group[0])
                taken_m.add(ms[0])
                taken_s.add(ss[0])
                continue
            same_m = len({norm.m_print(i) for i in ms}) == 1
            same_s = len({norm.s_print(i) for i in ss}) == 1
            if not (same_m and same_s):
                ambiguous.append((set(ms), set(ss)))
                taken_m.update(ms)
                taken_s.update(ss)
                continue
            # Identical on both sides: any pairing is as good as another, so pair
            # in id order (skipping pairs finance rejected, which have no edge).
            lookup = {(e[1], e[2]): e for e in group}
            for m in ms:
                for s in ss:
                    if s not in taken_s and (m, s) in lookup:
                        pairs.append(lookup[(m, s)])
                        taken_m.add(m)
                        taken_s.add(s)
                        break
    return pairs, ambiguous


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
    config: MatchConfig = MatchConfig(),
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
    config: MatchConfig = MatchConfig(),
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


def in_scope(
    system: Iterable[SystemItem],
    *,
    first_day: dt.date,
    last_day: dt.date,
    grace_days: int,
) -> list[SystemItem]:
    """Credits valued inside the incident window plus the settlement grace."""
    end = business_days_add(last_day, grace_days)
    return [s for s in system if s.amount > 0 and first_day <= s.value_date <= end]


def reconcile(
    manual: Sequence[ManualItem],
    system: Sequence[SystemItem],
    config: MatchConfig = MatchConfig(),
    rejected: frozenset[tuple[int, int]] = frozenset(),
    partitions: int = 1,
) -> Result:
    """Match everything: one partition, or several merged; the result is the same."""
    if partitions <= 1:
        return match_residual(
            [match_partition(manual, system, config, rejected)], config, rejected
        )
    parts = partition(manual, system, partitions, config)
    return match_residual(
        [match_partition(m, s, config, rejected) for m, s in parts], config, rejected
    )
