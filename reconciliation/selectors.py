"""Reads for the finance screens, scoped to what the user may see."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from deposits.models import Deposit
from incidents.models import Incident
from outage_desk.models import User

from .models import Discrepancy, ImportBatch, Match, ReconciliationRun, SystemRecord

VIEW_PERMISSION = "reconciliation.view_reconciliationrun"
RUN_PERMISSION = "reconciliation.run_reconciliation"
PAGE_ROWS = 200


def permission_require(user: User, permission: str) -> None:
    """Refuse (403) a user without the permission."""
    if not user.has_perm(permission):
        raise PermissionDenied


def incident_get_for_user(*, user: User, reference: str) -> Incident:
    """An incident finance may reconcile (reconciliation spans every branch)."""
    permission_require(user, VIEW_PERMISSION)
    return get_object_or_404(Incident, reference=reference)


def match_get_for_user(*, user: User, pk: int) -> Match:
    permission_require(user, RUN_PERMISSION)
    return get_object_or_404(Match.objects.select_related("run__incident"), pk=pk)


def run_get_for_user(*, user: User, pk: int) -> ReconciliationRun:
    permission_require(user, VIEW_PERMISSION)
    return get_object_or_404(
        ReconciliationRun.objects.select_related("incident"), pk=pk
    )


def batch_list(*, incident: Incident) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(incident=incident).select_related("profile")[:20]


def run_matches(*, run: ReconciliationRun) -> QuerySet[Match]:
    return run.matches.order_by("score", "pk").prefetch_related(
        Prefetch("deposits", queryset=Deposit.objects.only("receipt_number")),
        Prefetch("records", queryset=SystemRecord.objects.only("external_id")),
    )[:PAGE_ROWS]


def run_discrepancies(*, run: ReconciliationRun) -> QuerySet[Discrepancy]:
    return run.discrepancies.order_by("kind", "pk").prefetch_related(
        Prefetch("deposits", queryset=Deposit.objects.only("receipt_number")),
        Prefetch("records", queryset=SystemRecord.objects.only("external_id")),
    )[:PAGE_ROWS]
