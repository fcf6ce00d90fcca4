"""Global assignment within one pass: best score first, ambiguity refused."""

from collections import defaultdict
from collections.abc import Sequence

from .items import ManualItem, SystemItem, norm_name, norm_ref

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
        self.m_ref = {m.id: norm_ref(m.reference) for m in manual}
        self.m_refs = {
            m.id: {r for r in (self.m_ref[m.id], norm_ref(m.receipt_number)) if r}
            for m in manual
        }
        self.s_ref = {s.id: norm_ref(s.reference) for s in system}

    def m_print(self, i: int) -> tuple[object, ...]:
        m = self.m[i]
        return (
            self.m_acct[i],
            m.amount,
            m.currency,
            self.m_ref[i],
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
        # Most edges stand alone at their level (their deposit and record have no
        # other edge there): a component of one, paired without the union-find.
        m_degree: dict[int, int] = defaultdict(int)
        s_degree: dict[int, int] = defaultdict(int)
        for e in live:
            m_degree[e[1]] += 1
            s_degree[e[2]] += 1
        shared = []
        for e in live:
            if m_degree[e[1]] == 1 and s_degree[e[2]] == 1:
                pairs.append(e)
                taken_m.add(e[1])
                taken_s.add(e[2])
            else:
                shared.append(e)
        for group in _components(shared):
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
