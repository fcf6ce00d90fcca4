"""Labelled data for the matcher: deposits and system records with known truth.

    python -m bench.reconciliation_generate --deposits 10000 --records 100000

prints precision, recall and how many planted discrepancies were reported with
the right type, running the pure engine (no database). ``generate()`` is also
used by ``bench/reconciliation_speed.py`` to write files for the full job.
"""

import argparse
import datetime as dt
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciliation.engine import (
    ManualItem,
    SystemItem,
    business_days_add,
    in_scope,
    reconcile,
)

START = dt.date(2026, 3, 2)  # a Monday: the incident's first day
WINDOW_DAYS = 5  # business days of the outage
GRACE = 3
FIRST = [
    "Ann",
    "Bob",
    "Chen",
    "Dana",
    "Eve",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonathan",
    "Kofi",
    "Li",
    "Maria",
    "Nikhil",
    "Olga",
    "Pedro",
    "Qing",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Zhang",
    "Amelia",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Elena",
    "Felix",
    "Gita",
    "Hassan",
    "Ivy",
    "Jamal",
    "Keiko",
    "Lars",
]
LAST = [
    "Lee",
    "Stone",
    "Wang",
    "Fox",
    "Ray",
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Khan",
    "Okafor",
    "Silva",
    "Novak",
    "Tanaka",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Haddad",
    "Ivanova",
    "Costa",
    "Nguyen",
    "Patel",
    "Larsen",
    "Moreau",
    "Schmidt",
    "Yilmaz",
    "Hughes",
    "Kim",
    "Park",
    "Rahman",
    "Suzuki",
    "Bianchi",
    "Ortiz",
    "Popescu",
]
# Share of deposits in each planted category (the rest: exact references).
MIX = {
    "cash": 0.25,
    "misspelt": 0.08,
    "mistyped_account": 0.05,
    "split": 0.03,
    "reverse_split": 0.02,
    "transposed": 0.02,
    "missing": 0.03,
    "duplicate": 0.02,
}


@dataclass
class Truth:
    matches: set[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=set)
    # ("m"|"s", id) -> the discrepancy kind that should be reported for it
    discrepancies: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass
class DataSet:
    manual: list[ManualItem]
    system: list[SystemItem]
    truth: Truth


def _misspell(rng: random.Random, name: str) -> str:
    i = rng.randrange(1, len(name) - 1)
    if name[i] == " ":
        i -= 1
    return (
        name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        if rng.random() < 0.5
        else (name[:i] + rng.choice("aeiou") + name[i + 1 :])
    )


def _transpose(rng: random.Random, amount: Decimal) -> Decimal | None:
    digits = f"{amount:.2f}".replace(".", "")
    spots = [i for i in range(len(digits) - 1) if digits[i] != digits[i + 1]]
    if not spots:
        return None
    i = rng.choice(spots)
    swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
    value = Decimal(swapped) / 100
    return value if value > 0 and swapped[0] != "0" else None


def generate(deposits: int, records: int, seed: int = 7) -> DataSet:
    """Deposits of an outage and a restored file, with the answer key."""
    rng = random.Random(seed)
    manual: list[ManualItem] = []
    system: list[SystemItem] = []
    truth = Truth()
    used_accounts: set[str] = set()
    days = [business_days_add(START, i) for i in range(WINDOW_DAYS)]

    def account() -> str:
        while True:
            value = f"GB{rng.randrange(10**9, 10**10)}"
            if value not in used_accounts:
                used_accounts.add(value)
                return value

    def amount() -> Decimal:
        return Decimal(rng.randrange(500, 500000)) / 100

    def add_m(acct: str, name: str, value: Decimal, day: dt.date, ref: str = "") -> int:
        mid = len(manual) + 1
        manual.append(
            ManualItem(mid, f"R{mid:07d}", acct, name, value, "GBP", day, ref)
        )
        return mid

    def add_s(acct: str, name: str, value: Decimal, day: dt.date, ref: str = "") -> int:
        sid = len(system) + 1
        system.append(
            SystemItem(sid, f"X{sid:08d}", acct, value, "GBP", day, name, ref)
        )
        return sid

    kinds = [*MIX, "reference"]
    weights = [*MIX.values(), 1 - sum(MIX.values())]
    while len(manual) < deposits:
        kind = rng.choices(kinds, weights)[0]
        acct, value = account(), amount()
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        day = rng.choice(days)
        later = business_days_add(day, 1) if rng.random() < 0.3 else day
        if kind == "reference":
            ref = f"INV{rng.randrange(10**8):08d}"
            m = add_m(acct, name, value, day, ref)
            s = add_s(acct, name.upper(), value, later, ref)
            truth.matches.add(((m,), (s,)))
        elif kind == "cash":
            m = add_m(acct, name, value, day)
            s = add_s(acct, name, value, later)
            truth.matches.add(((m,), (s,)))
        elif kind == "misspelt":
            m = add_m(acct, name, value, day)
            s = add_s(acct, _misspell(rng, name), value, later)
            truth.matches.add(((m,), (s,)))
        elif kind == "mistyped_account":
            typo = (
                acct[:-2] + acct[-1] + acct[-2]
                if acct[-1] != acct[-2]
                else acct[:-1] + "0"
            )
            if typo == acct:
                continue
            m = add_m(typo, name, value, day)
            s = add_s(acct, name, value, later)
            truth.matches.add(((m,), (s,)))
        elif kind == "split":
            parts = rng.choice((2, 3))
            cuts = (
                sorted(rng.sample(range(1, int(value * 100)), parts - 1))
                if value > 1
                else []
            )
            if len(cuts) != parts - 1:
                continue
            bounds = [0, *cuts, int(value * 100)]
            m = add_m(acct, name, value, day)
            ss = tuple(
                add_s(acct, name, Decimal(bounds[i + 1] - bounds[i]) / 100, later)
                for i in range(parts)
            )
            truth.matches.add(((m,), ss))
        elif kind == "reverse_split":
            first = Decimal(rng.randrange(100, int(value * 100))) / 100
            if first >= value:
                continue
            m1 = add_m(acct, name, first, day)
            m2 = add_m(acct, name, value - first, day)
            s = add_s(acct, name, value, later)
            truth.matches.add(((m1, m2), (s,)))
        elif kind == "transposed":
            wrong = _transpose(rng, value)
            if wrong is None:
                continue
            ref = f"INV{rng.randrange(10**8):08d}" if rng.random() < 0.5 else ""
            m = add_m(acct, name, wrong, day, ref)
            s = add_s(acct, name, value, later, ref)
            truth.discrepancies[("m", m)] = "amount_mismatch"
        elif kind == "missing":
            m = add_m(acct, name, value, day)
            truth.discrepancies[("m", m)] = "missing_in_system"
        elif kind == "duplicate":
            m = add_m(acct, name, value, day)
            extra = add_m(acct, name, value, day)
            s = add_s(acct, name, value, later)
            truth.matches.add(((m,), (s,)))
            truth.discrepancies[("m", extra)] = "duplicate_manual"
    # In-window credits nobody recorded: a small share; the rest of the file is
    # debits and records outside the window, which scope must drop.
    unrecorded = max(1, deposits // 50)
    for _ in range(unrecorded):
        if len(system) >= records:
            break
        s = add_s(
            account(),
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            amount(),
            rng.choice(days),
        )
        truth.discrepancies[("s", s)] = "missing_manual"
    while len(system) < records:
        day = START - dt.timedelta(days=rng.randrange(10, 400))
        value = amount()
        if rng.random() < 0.3:
            day, value = rng.choice(days), -value
        add_s(f"GB{rng.randrange(10**9, 10**10)}", rng.choice(FIRST), value, day)
    return DataSet(manual, system, truth)


def score(data: DataSet, matches: list, discrepancies: list) -> dict[str, object]:
    """Precision and recall of matches; share of planted discrepancies typed right."""
    predicted = {(m.manual_ids, m.system_ids) for m in matches}
    right = len(predicted & data.truth.matches)
    found: dict[tuple[str, int], str] = {}
    for d in discrepancies:
        for i in d.manual_ids:
            found[("m", i)] = d.kind
        for i in d.system_ids:
            found.setdefault(("s", i), d.kind)
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, kind in data.truth.discrepancies.items():
        per_kind[kind][1] += 1
        per_kind[kind][0] += found.get(key) == kind
    planted = sum(v[1] for v in per_kind.values())
    typed = sum(v[0] for v in per_kind.values())
    return {
        "precision": right / len(predicted) if predicted else 1.0,
        "recall": right / len(data.truth.matches) if data.truth.matches else 1.0,
        "discrepancy_type_accuracy": typed / planted if planted else 1.0,
        "per_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per_kind.items())},
        "reported": dict(Counter(d.kind for d in discrepancies)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deposits", type=int, default=10000)
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=1)
    args = parser.parse_args()
    began = time.perf_counter()
    data = generate(args.deposits, args.records, args.seed)
    generated = time.perf_counter()
    last = business_days_add(START, WINDOW_DAYS - 1)
    scoped = in_scope(data.system, first_day=START, last_day=last, grace_days=GRACE)
    result = reconcile(data.manual, scoped, partitions=args.partitions)
    matched = time.perf_counter()
    report = score(data, result.matches, result.discrepancies)
    print(
        f"deposits={len(data.manual)} records={len(data.system)} in_scope={len(scoped)}"
    )
    print(f"generate {generated - began:.1f}s  match {matched - generated:.1f}s")
    print(
        f"precision {report['precision']:.5f}  recall {report['recall']:.5f}  "
        f"discrepancy types {report['discrepancy_type_accuracy']:.5f}"
    )
    print(f"planted, typed right: {report['per_kind']}")
    print(f"reported: {report['reported']}")


if __name__ == "__main__":
    main()
