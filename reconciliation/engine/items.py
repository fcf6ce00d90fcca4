"""The matcher's inputs, settings and results, and the small measures it uses."""

import datetime as dt
import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz

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
DEFAULT_CONFIG = MatchConfig()


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
    if value.isascii() and value.isalnum():  # only [0-9A-Za-z]: nothing to drop
        return value.upper()
    return _NON_ALNUM.sub("", value.upper())


def norm_name(value: str) -> str:
    if value.isascii():  # NFKD and the ASCII filter change nothing
        if (
            value.replace(" ", "").isalnum()
            and "  " not in value
            and value[0] != " "
            and value[-1] != " "
        ):  # words of letters and digits, one space apart: nothing to collapse
            return value.casefold()
        return _SPACES.sub(" ", value.casefold()).strip()
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    if not text.strip():
        text = value  # keep names in other scripts as they are
    return _SPACES.sub(" ", text.casefold()).strip()


@functools.lru_cache(maxsize=1 << 16)  # a run's dates are few; pairs repeat
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
