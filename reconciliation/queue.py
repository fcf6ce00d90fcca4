"""Reads for the discrepancy queue, the run overview and the incident list, in a fixed
number of queries."""

import datetime as dt
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from deposits.models import Branch, Deposit
from incidents.models import Incident
from outage_desk.models import User

from .finance_models import ApprovalRequest, Case
from .models import Discrepancy, Match, ReconciliationRun, SystemRecord
from .resolutions import FINANCE_PERMISSION, TO_WORK_ON

SORTS = {
    "due": ("due_at", "pk"),
    "-due": ("-due_at", "-pk"),
    "age": ("opened_at", "pk"),
    "-age": ("-opened_at", "-pk"),
    "amount": ("amount", "pk"),
    "-amount": ("-amount", "-pk"),
    "kind": ("kind", "pk"),
}
AGEING_BUCKETS = [(0, 1), (1, 3), (3, 7), (7, 30), (30, None)]


def finance_users() -> QuerySet[User]:
    return (
        User.objects.filter(
            Q(groups__permissions__codename="run_reconciliation")
            | Q(user_permissions__codename="run_reconciliation")
            | Q(is_superuser=True),
            is_active=True,
        )
        .distinct()
        .order_by("username")
    )


class CaseFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=Discrepancy.Kind.choices, label=_("Type")
    )
    state = django_filters.MultipleChoiceFilter(
        choices=Case.State.choices, label=_("Status"), distinct=False
    )
    branch = django_filters.ModelChoiceFilter(
        queryset=Branch.objects.order_by("code"), label=_("Branch")
    )
    channel = django_filters.ChoiceFilter(
        choices=Deposit.Channel.choices, label=_("Channel")
    )
    amount_min = django_filters.NumberFilter(
        field_name="amount", lookup_expr="gte", label=_("Amount from")
    )
    amount_max = django_filters.NumberFilter(
        field_name="amount", lookup_expr="lte", label=_("Amount to")
    )
    age_min = django_filters.NumberFilter(
        method="filter_age", label=_("Older than (days)")
    )
    assignee = django_filters.ModelChoiceFilter(
        queryset=finance_users(), label=_("Assignee"), null_label=_("Nobody")
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def filter_age(
        self, queryset: QuerySet[Case], name: str, value: Decimal
    ) -> QuerySet[Case]:
        if value is None:
            return queryset
        cutoff = timezone.now() - dt.timedelta(days=float(value))
        return queryset.filter(opened_at__lte=cutoff)


def queue_rows(
    *, incident: Incident, params: Any, page: int | str | None, sort: str
) -> tuple[CaseFilter, Page[Case]]:
    """One page of the incident's items: count + page + two prefetches + the filter's lists."""
    from .services import run_latest

    base = Case.objects.filter(run=run_latest(incident=incident))
    data = params.copy()
    if not data.getlist("state"):
        data.setlist("state", [str(s) for s in TO_WORK_ON])
    flt = CaseFilter(data, queryset=base)
    rows = (
        flt.qs.order_by(*SORTS.get(sort, SORTS["due"]))
        .select_related("discrepancy", "assignee", "branch")
        .prefetch_related(
            Prefetch(
                "discrepancy__deposits",
                queryset=Deposit.objects.only(
                    "receipt_number",
                    "account",
                    "payer_name",
                    "amount",
                    "currency",
                    "received_at",
                    "reference",
                    "channel",
                ).order_by("pk"),
            ),
            Prefetch(
                "discrepancy__records",
                queryset=SystemRecord.objects.only(
                    "external_id",
                    "account",
                    "counterparty",
                    "amount",
                    "currency",
                    "value_date",
                    "reference",
                ).order_by("pk"),
            ),
        )
    )
    per_page = getattr(settings, "RECONCILIATION_FINANCE", {}).get(
        "QUEUE_PAGE_ROWS", 50
    )
    return flt, Paginator(rows, per_page).get_page(page)


def case_get_for_user(*, user: User, pk: int) -> Case:
    from django.shortcuts import get_object_or_404

    from .selectors import permission_require

    permission_require(user, FINANCE_PERMISSION)
    return get_object_or_404(
        Case.objects.select_related("discrepancy__run", "incident", "assignee"), pk=pk
    )


def approval_get_for_user(*, user: User, pk: int) -> ApprovalRequest:
    from django.shortcuts import get_object_or_404

    from .selectors import permission_require

    permission_require(user, FINANCE_PERMISSION)
    return get_object_or_404(ApprovalRequest, pk=pk)


def approvals_pending(*, incident: Incident) -> QuerySet[ApprovalRequest]:
    return (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
        .filter(Q(case__incident=incident) | Q(match__run__incident=incident))
        .select_related("requested_by", "case", "match")
        .order_by("requested_at", "pk")
    )


def run_overview(*, incident: Incident) -> dict[str, Any]:
    """Counts and sums per outcome and currency, match rate, series and ageing."""
    matches = (
        Match.objects.filter(run__incident=incident, run__dry_run=False)
        .exclude(status=Match.Status.REJECTED)
        .values("status", "currency")
        .annotate(n=Count("pk"), total=Sum("manual_amount"))
        .order_by("status", "currency")
    )
    # Only the latest run's proposals are live; confirmed matches stand across runs.
    from .services import run_latest

    latest = run_latest(incident=incident)
    labels: dict[str, Any] = {
        "match_proposed": _("Proposed matches"),
        "match_confirmed": _("Confirmed matches"),
        **dict(Discrepancy.Kind.choices),
    }
    rows: list[dict[str, Any]] = []
    for m in matches:
        rows.append(
            {
                "outcome": f"match_{m['status']}",
                "currency": m["currency"],
                "count": m["n"],
                "total": m["total"],
            }
        )
    cases = Case.objects.filter(run=latest) if latest else Case.objects.none()
    for c in (
        cases.values("kind", "currency")
        .annotate(
            n=Count("pk"),
            total=Sum("amount"),
            open=Count("pk", filter=Q(state__in=TO_WORK_ON)),
        )
        .order_by("kind", "currency")
    ):
        rows.append(
            {
                "outcome": c["kind"],
                "currency": c["currency"],
                "count": c["n"],
                "total": c["total"],
                "open": c["open"],
            }
        )
    confirmed = Match.objects.filter(
        run__incident=incident, status=Match.Status.CONFIRMED
    ).count()
    in_scope = (latest.counts.get("deposits", 0) if latest else 0) + confirmed
    matched = latest.counts.get("matched", 0) if latest else 0
    rate = (
        round(100 * min(matched + confirmed, in_scope) / in_scope, 1)
        if in_scope
        else 0.0
    )
    now = timezone.now()
    open_cases = cases.filter(state__in=TO_WORK_ON)
    ageing_q = {}
    for lo, hi in AGEING_BUCKETS:
        cond = Q(opened_at__lte=now - dt.timedelta(days=lo))
        if hi is not None:
            cond &= Q(opened_at__gt=now - dt.timedelta(days=hi))
        ageing_q[f"{lo}-{hi}" if hi else f"{lo}+"] = Count("pk", filter=cond)
    ageing = open_cases.aggregate(**ageing_q)
    series: dict[str, dict[str, int]] = {}
    for day, n in (
        Match.objects.filter(
            run__incident=incident,
            status=Match.Status.CONFIRMED,
            decided_at__isnull=False,
        )
        .annotate(day=TruncDate("decided_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    ):
        series.setdefault(day.isoformat(), {})["matched"] = n
    for day, n in (
        cases.annotate(day=TruncDate("opened_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    ):
        series.setdefault(day.isoformat(), {})["opened"] = n
    for day, n in (
        cases.filter(resolved_at__isnull=False)
        .annotate(day=TruncDate("resolved_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    ):
        series.setdefault(day.isoformat(), {})["resolved"] = n
    days = _every_day(sorted(series))
    still_open = 0
    chart: dict[str, list[Any]] = {
        "labels": days,
        "matched": [],
        "open": [],
        "resolved": [],
    }
    matched_total = resolved_total = 0
    for day in days:
        values = series.get(day, {})
        matched_total += values.get("matched", 0)
        resolved_total += values.get("resolved", 0)
        still_open += values.get("opened", 0) - values.get("resolved", 0)
        chart["matched"].append(matched_total)
        chart["open"].append(max(still_open, 0))
        chart["resolved"].append(resolved_total)
    for row in rows:
        row["label"] = labels.get(row["outcome"], row["outcome"])
    return {
        "latest": latest,
        "rows": rows,
        "match_rate": rate,
        "ageing": ageing,
        "chart": chart,
        "open_count": open_cases.count(),
    }


# The progress chart's axis is one label per day; over a longer span it keeps the
# days that had events, so an item dated long before the outage cannot blow it up.
CHART_MAX_DAYS = 400


def _every_day(days: list[str]) -> list[str]:
    """Every day from the first to the last of ``days`` (ISO dates, sorted), so the
    chart's axis keeps time to scale; the days as they are past CHART_MAX_DAYS."""
    if not days:
        return days
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    span = (last - first).days + 1
    if span > CHART_MAX_DAYS:
        return days
    return [(first + dt.timedelta(days=n)).isoformat() for n in range(span)]


def incidents_at_a_glance(*, limit: int = 50) -> list[dict[str, Any]]:
    """The newest incidents, each with its latest stored run and that run's items
    still to work on (None and 0 before the first run): three queries in all."""
    latest = (
        ReconciliationRun.objects.stored()
        .filter(incident=OuterRef("pk"))
        .order_by("-pk")
        .values("pk")[:1]
    )
    incidents = list(
        Incident.objects.annotate(latest_run=Subquery(latest)).order_by("-declared_at")[
            :limit
        ]
    )
    run_ids = [i.latest_run for i in incidents if i.latest_run]  # type: ignore[attr-defined]
    runs = ReconciliationRun.objects.in_bulk(run_ids)
    open_items = dict(
        Case.objects.filter(
            run_id__in=run_ids,
            state__in=TO_WORK_ON,
        )
        .values("run_id")
        .annotate(n=Count("pk"))
        .values_list("run_id", "n")
    )
    return [
        {
            "incident": incident,
            "run": runs.get(incident.latest_run),  # type: ignore[attr-defined]
            "open_items": open_items.get(incident.latest_run, 0),  # type: ignore[attr-defined]
        }
        for incident in incidents
    ]
