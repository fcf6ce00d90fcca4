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

import contextlib
import datetime as dt
import gc
import hashlib
from collections.abc import Iterable, Iterator, Sequence

from .exact import match_partition
from .items import (
    DEFAULT_CONFIG,
    HINT_DECIMAL_SHIFT,
    HINT_SAME_AS,
    HINT_TRANSPOSED,
    PASSES,
    DiscrepancyResult,
    ManualItem,
    MatchConfig,
    MatchResult,
    Partial,
    Result,
    SystemItem,
    amount_hint,
    business_days_add,
    business_days_between,
    name_similarity,
    norm_name,
    norm_ref,
)
from .residual import match_residual
from .wire import partial_dump, partial_load


def partition_key(item: ManualItem | SystemItem, config: MatchConfig) -> str:
    """Items that can pair in the exact passes share a key (currency and amount).

    The amount is written without trailing zeros or exponent (``100``, ``12.3``),
    as PostgreSQL's ``trim_scale(amount)::text`` writes it.
    """
    if config.amount_tolerance:
        return item.currency
    return f"{item.currency}:{format(item.amount.normalize(), 'f')}"


def partition_of(key: str, count: int) -> int:
    """The partition of a key: the first 32 bits of its MD5, modulo ``count``.

    Stable across processes and machines, and the same number PostgreSQL gives
    with ``('x' || substr(md5(key), 1, 8))::bit(32)::bigint % count``, so a
    worker can select its partition's rows in SQL.
    """
    digest = hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % count


def partition(
    manual: Iterable[ManualItem],
    system: Iterable[SystemItem],
    count: int,
    config: MatchConfig,
) -> list[tuple[list[ManualItem], list[SystemItem]]]:
    """Split the inputs into ``count`` parts by ``partition_of(partition_key)``."""
    parts: list[tuple[list[ManualItem], list[SystemItem]]] = [
        ([], []) for _ in range(count)
    ]
    for m in manual:
        parts[partition_of(partition_key(m, config), count)][0].append(m)
    for s in system:
        parts[partition_of(partition_key(s, config), count)][1].append(s)
    return parts


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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector around a run's bulk work.

    A run makes hundreds of thousands of small objects (items, edges, results,
    rows); each burst of allocations sets off collections that walk every live
    object again, about a third of the matcher's time. None of them form cycles,
    so reference counting frees them all the same; the collector resumes after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def reconcile(
    manual: Sequence[ManualItem],
    system: Sequence[SystemItem],
    config: MatchConfig = DEFAULT_CONFIG,
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


__all__ = [
    "DEFAULT_CONFIG",
    "HINT_DECIMAL_SHIFT",
    "HINT_SAME_AS",
    "HINT_TRANSPOSED",
    "PASSES",
    "DiscrepancyResult",
    "ManualItem",
    "MatchConfig",
    "MatchResult",
    "Partial",
    "Result",
    "SystemItem",
    "amount_hint",
    "business_days_add",
    "business_days_between",
    "gc_paused",
    "in_scope",
    "match_partition",
    "match_residual",
    "name_similarity",
    "norm_name",
    "norm_ref",
    "partial_dump",
    "partial_load",
    "partition",
    "partition_key",
    "partition_of",
    "reconcile",
]
