"""Reads of deposits, always scoped to what the user may see."""

import datetime as dt
import functools
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.http import Http404
from django.utils import timezone

from incidents.models import Incident
from outage_desk import rawsql
from outage_desk.models import User

from .models import Branch, Customer, Deposit, DepositConflict, DepositReversal

# Two deposits of one account and amount this close together may be one deposit.
DUPLICATE_WINDOW = dt.timedelta(minutes=30)
SEARCH_LIMIT = 10
# Trigram indexes serve patterns of three characters or more.
SEARCH_MIN_LENGTH = 3


def _branch_scope(user: User, field: str = "branch_id") -> Q:
    """What a user may see: nothing without the permission, else their own branch
    (clerks, supervisors), or everything for staff who belong to no branch."""
    if not user.is_authenticated or not user.has_perm("deposits.view_deposit"):
        return Q(pk__in=[])
    if user.branch_id is None:
        return Q()
    return Q(**{field: user.branch_id})


def deposit_list_for_user(*, user: User) -> QuerySet[Deposit]:
    """Deposits this user may see: clerks and supervisors their own branch only."""
    return Deposit.objects.select_related(
        "branch", "customer", "incident", "recorded_by"
    ).filter(_branch_scope(user))


def deposit_get_for_user(*, user: User, pk: int) -> Deposit:
    """One deposit the user may see, or 404 (another branch's deposit does not exist)."""
    try:
        return deposit_list_for_user(user=user).get(pk=pk)
    except (Deposit.DoesNotExist, ValueError):
        raise Http404("No such deposit.") from None


def deposit_duplicates_q(
    *,
    branch: Branch,
    account: str,
    amount: Decimal,
    currency: str,
    received_at: dt.datetime,
    reference: str,
) -> Q:
    """The filter of deposits that may be this one (see deposit_possible_duplicates)."""
    close = Q(
        account=account,
        amount=amount,
        currency=currency,
        received_at__gte=received_at - DUPLICATE_WINDOW,
        received_at__lte=received_at + DUPLICATE_WINDOW,
    )
    if reference:
        close |= Q(reference=reference)
    return Q(branch=branch) & close & ~Q(status=Deposit.Status.REVERSED)


def deposit_possible_duplicates(
    *,
    branch: Branch,
    account: str,
    amount: Decimal,
    currency: str,
    received_at: dt.datetime,
    reference: str,
) -> list[Deposit]:
    """Deposits that may be this one: same account, amount and close time, or same reference."""
    close = deposit_duplicates_q(
        branch=branch,
        account=account,
        amount=amount,
        currency=currency,
        received_at=received_at,
        reference=reference,
    )
    return list(Deposit.objects.filter(close).order_by("received_at")[:5])


def branch_today_start(branch: Branch) -> dt.datetime:
    """Midnight today in the branch's time zone, as an aware datetime."""
    local = timezone.now().astimezone(zoneinfo.ZoneInfo(branch.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def deposit_list_today(*, user: User, limit: int = 100) -> QuerySet[Deposit]:
    """Today's deposits of the user's branch, unconfirmed first, newest first."""
    if user.branch_id is None or user.branch is None:
        return Deposit.objects.none()
    unconfirmed_last = Case(
        When(status=Deposit.Status.CONFIRMED, then=Value(1)),
        When(status=Deposit.Status.REVERSED, then=Value(2)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return (
        deposit_list_for_user(user=user)
        .filter(
            branch_id=user.branch_id, recorded_at__gte=branch_today_start(user.branch)
        )
        .select_related("branch")
        .order_by(unconfirmed_last, "-recorded_at", "-pk")[:limit]
    )


def deposit_totals_today(*, user: User) -> list[dict[str, Any]]:
    """Today's counted totals of the user's branch per currency and channel."""
    if user.branch_id is None or user.branch is None:
        return []
    rows = list(
        deposit_list_for_user(user=user)
        .filter(
            branch_id=user.branch_id, recorded_at__gte=branch_today_start(user.branch)
        )
        .exclude(status__in=[Deposit.Status.REVERSED, Deposit.Status.PENDING_APPROVAL])
        .values("currency", "channel")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .order_by("currency", "channel")
    )
    for row in rows:
        row["channel_label"] = Deposit.Channel(row["channel"]).label
    return rows


def customer_search(
    *, user: User, query: str, limit: int = SEARCH_LIMIT
) -> list[Customer]:
    """Customers whose account, name or phone contains the text (trigram-indexed).

    Clerks and supervisors search their own branch's customers (and those of no
    branch); a full account number finds its customer at any branch, for a
    customer who walks into another branch and states their own account.
    """
    query = query.strip()
    if len(query) < SEARCH_MIN_LENGTH or not user.has_perm("deposits.view_customer"):
        return []
    exact = list(Customer.objects.filter(account__iexact=query)[:1])
    scope = Q() if user.branch_id is None else Q(branch_id=user.branch_id)
    if user.branch_id is not None:
        scope |= Q(branch__isnull=True)
    rest = (
        Customer.objects.filter(scope)
        .filter(
            Q(account__icontains=query)
            | Q(name__icontains=query)
            | Q(phone__icontains=query)
        )
        .exclude(pk__in=[c.pk for c in exact])
        .order_by("name", "account")[: limit - len(exact)]
    )
    return exact + list(rest)


def customer_list_for_user(*, user: User, query: str = "") -> QuerySet[Customer]:
    """Customers to page through: the search's rules (own branch and no branch, plus
    a full account number at any branch) without its limit; all of them without text.
    """
    if not user.has_perm("deposits.view_customer"):
        return Customer.objects.none()
    scope = Q() if user.branch_id is None else Q(branch_id=user.branch_id)
    if user.branch_id is not None:
        scope |= Q(branch__isnull=True)
    query = query.strip()
    if query:
        contains = (
            Q(account__icontains=query)
            | Q(name__icontains=query)
            | Q(phone__icontains=query)
        )
        scope = (scope & contains) | Q(account__iexact=query)
    return Customer.objects.filter(scope).select_related("branch")


def customer_get_for_user(*, user: User, pk: int) -> Customer:
    """One customer of the user's branch (or of no branch); 404 for any other."""
    scope = Q() if user.branch_id is None else Q(branch_id=user.branch_id)
    if user.branch_id is not None:
        scope |= Q(branch__isnull=True)
    customer = Customer.objects.select_related("branch").filter(scope, pk=pk).first()
    if customer is None:
        raise Http404
    return customer


def deposit_list_pending_approval(*, user: User) -> QuerySet[Deposit]:
    return (
        deposit_list_for_user(user=user)
        .filter(status=Deposit.Status.PENDING_APPROVAL)
        .select_related("branch")
    )


def reversal_list_pending(*, user: User) -> QuerySet[DepositReversal]:
    return (
        DepositReversal.objects.filter(status=DepositReversal.Status.PENDING)
        .filter(_branch_scope(user, "deposit__branch_id"))
        .select_related("deposit", "deposit__branch", "requested_by")
    )


def reversal_get_for_user(*, user: User, pk: int) -> DepositReversal:
    qs = DepositReversal.objects.select_related("deposit", "deposit__branch").filter(
        _branch_scope(user, "deposit__branch_id")
    )
    try:
        return qs.get(pk=pk)
    except DepositReversal.DoesNotExist:
        raise Http404("No such reversal.") from None


def conflict_list_open(*, user: User) -> QuerySet[DepositConflict]:
    return (
        DepositConflict.objects.filter(status=DepositConflict.Status.OPEN)
        .filter(_branch_scope(user, "deposit__branch_id"))
        .select_related("deposit", "submitted_by")
    )


def conflict_get_for_user(*, user: User, pk: int) -> DepositConflict:
    qs = DepositConflict.objects.select_related("deposit").filter(
        _branch_scope(user, "deposit__branch_id")
    )
    try:
        return qs.get(pk=pk)
    except DepositConflict.DoesNotExist:
        raise Http404("No such conflict.") from None


def capture_lookups(
    *, incident: str, account: str
) -> tuple[Incident | None, Customer | None]:
    """The incident by reference and the customer by account, for one capture: one
    query built once on PostgreSQL (a capture's time is mostly its round trips)."""
    if connection.vendor != "postgresql":
        return (
            Incident.objects.filter(reference=incident).first(),
            Customer.objects.filter(account=account).first(),
        )
    with connection.cursor() as cursor:
        rawsql.execute(cursor, [(capture_lookups_sql(), [incident, account])])
        row = cursor.fetchone()
    return capture_lookups_from_row(row)


def capture_lookups_from_row(
    row: Sequence[Any], at: int = 0
) -> tuple[Incident | None, Customer | None]:
    """``capture_lookups`` from the columns of ``capture_lookups_sql``, from ``at`` on."""
    found, at = rawsql.row_instance(Incident, row, at)
    customer, _end = rawsql.row_instance(Customer, row, at)
    return found, customer


@functools.cache
def capture_lookups_sql() -> str:
    """One row: the incident by reference and the customer by account (parameters
    in that order), NULLs where there is none."""
    return (
        f"SELECT {rawsql.select_list(Incident, 'i')}, "  # noqa: S608 (model names)
        f"{rawsql.select_list(Customer, 'c')} FROM (SELECT 1) AS one"
        f" LEFT JOIN {rawsql.table(Incident)} i ON i.reference = %s"
        f" LEFT JOIN {rawsql.table(Customer)} c ON c.account = %s"
    )
