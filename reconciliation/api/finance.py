"""Finance's work through the API: runs, matches, discrepancies, actions, approvals.

Permission-checked like the screens (finance's reconcile permission). Money-moving
POSTs (write-off, link, approve) need an ``Idempotency-Key``.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deposits.models import Deposit
from outage_desk.api.authentication import request_user
from outage_desk.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from outage_desk.models import User
from reconciliation import resolutions as r
from reconciliation.finance_models import ApprovalRequest, Case
from reconciliation.models import Match, ReconciliationRun, SystemRecord
from reconciliation.selectors import RUN_PERMISSION, permission_require

from .serializers import RunSerializer

INCIDENT_PARAMETER = OpenApiParameter(
    "incident", str, description="Incident reference, e.g. INC-2026-0001"
)


def _finance(request: Request) -> User:
    user = request_user(request)
    permission_require(user, RUN_PERMISSION)
    return user


def _refused(error: ValidationError) -> Response:
    if hasattr(error, "error_dict"):
        body: dict[str, Any] = {
            k: [str(m) for m in v] for k, v in error.message_dict.items()
        }
    else:
        body = {"detail": [str(m) for m in error.messages]}
    return Response(body, status=status.HTTP_409_CONFLICT if _stale(error) else 400)


def _stale(error: ValidationError) -> bool:
    return str(r.ERROR_STALE) in [str(m) for m in error.messages]


class DepositSideSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=3, coerce_to_string=True
    )

    class Meta:
        model = Deposit
        fields = [
            "id",
            "receipt_number",
            "account",
            "amount",
            "currency",
            "received_at",
            "reference",
        ]


class RecordSideSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=3, coerce_to_string=True
    )

    class Meta:
        model = SystemRecord
        fields = [
            "id",
            "external_id",
            "account",
            "amount",
            "currency",
            "value_date",
            "reference",
        ]


class MatchSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    manual_amount = serializers.DecimalField(
        max_digits=18, decimal_places=3, coerce_to_string=True
    )
    system_amount = serializers.DecimalField(
        max_digits=18, decimal_places=3, coerce_to_string=True
    )
    reasons = serializers.DictField(child=serializers.CharField())
    deposits = DepositSideSerializer(many=True, read_only=True)
    records = RecordSideSerializer(many=True, read_only=True)

    class Meta:
        model = Match
        fields = [
            "id",
            "run",
            "kind",
            "score",
            "reasons",
            "status",
            "manual_amount",
            "system_amount",
            "currency",
            "deposits",
            "records",
            "decided_at",
        ]


class CaseSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    resolution = serializers.CharField(read_only=True)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=3, coerce_to_string=True
    )
    assignee = serializers.CharField(
        source="assignee.username", default=None, read_only=True
    )
    hint = serializers.CharField(source="discrepancy.hint", read_only=True)
    difference = serializers.DecimalField(
        source="discrepancy.difference",
        max_digits=18,
        decimal_places=3,
        coerce_to_string=True,
        allow_null=True,
        read_only=True,
    )
    deposits = DepositSideSerializer(
        source="discrepancy.deposits", many=True, read_only=True
    )
    records = RecordSideSerializer(
        source="discrepancy.records", many=True, read_only=True
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "run",
            "kind",
            "state",
            "resolution",
            "reason_code",
            "amount",
            "difference",
            "currency",
            "hint",
            "assignee",
            "opened_at",
            "due_at",
            "version",
            "deposits",
            "records",
        ]


class ApprovalSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=3, coerce_to_string=True
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", default=None, read_only=True
    )

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "kind",
            "status",
            "case",
            "match",
            "amount",
            "currency",
            "reason_code",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
        ]


class ActionSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    reason_code = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True)
    evidence = serializers.FileField(required=False)
    match = serializers.IntegerField(required=False)
    assignee = serializers.CharField(
        required=False, allow_blank=True, help_text="username; blank unassigns"
    )
    deposits = serializers.ListField(child=serializers.IntegerField(), required=False)
    records = serializers.ListField(child=serializers.IntegerField(), required=False)


def _prefetched(queryset: QuerySet[Any], prefix: str = "") -> QuerySet[Any]:
    return queryset.prefetch_related(
        Prefetch(f"{prefix}deposits", queryset=Deposit.objects.order_by("pk")),
        Prefetch(f"{prefix}records", queryset=SystemRecord.objects.order_by("pk")),
    )


class RunListView(generics.ListAPIView):
    """Runs of an incident, newest first."""

    serializer_class = RunSerializer

    @extend_schema(parameters=[INCIDENT_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ReconciliationRun]:
        if getattr(self, "swagger_fake_view", False):
            return ReconciliationRun.objects.none()
        _finance(self.request)
        runs = ReconciliationRun.objects.select_related("incident").order_by("-pk")
        ref = self.request.query_params.get("incident")
        return runs.filter(incident__reference=ref) if ref else runs


class MatchListView(generics.ListAPIView):
    """A run's matches with both sides and the score's reasons."""

    serializer_class = MatchSerializer

    def get_queryset(self) -> QuerySet[Match]:
        if getattr(self, "swagger_fake_view", False):
            return Match.objects.none()
        _finance(self.request)
        return _prefetched(
            Match.objects.filter(run_id=self.kwargs["pk"]).order_by("pk")
        )


class MatchActionView(APIView):
    """Confirm a proposed match, or unmatch (a confirmed one asks for approval)."""

    @extend_schema(
        request=None,
        responses={
            200: MatchSerializer,
            202: ApprovalSerializer,
            400: OpenApiResponse(description="Refused, with the reason."),
        },
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        user = _finance(request)
        match = get_object_or_404(Match, pk=pk)
        from reconciliation.services import match_confirm

        try:
            if action == "confirm":
                result: Any = match_confirm(match=match, actor=user)
            elif action == "unmatch":
                result = r.match_unmatch(match=match, actor=user)
            else:
                return Response(status=404)
        except ValidationError as error:
            return _refused(error)
        if isinstance(result, ApprovalRequest):
            return Response(ApprovalSerializer(result).data, status=202)
        return Response(
            MatchSerializer(_prefetched(Match.objects.filter(pk=result.pk)).get()).data
        )


class CaseListView(generics.ListAPIView):
    """The discrepancy queue of an incident's latest run (filters as on the screen)."""

    serializer_class = CaseSerializer

    @extend_schema(
        parameters=[
            INCIDENT_PARAMETER,
            OpenApiParameter("state", str),
            OpenApiParameter("kind", str),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        _finance(self.request)
        from incidents.models import Incident
        from reconciliation.queue import CaseFilter
        from reconciliation.services import run_latest

        incident = get_object_or_404(
            Incident, reference=self.request.query_params.get("incident", "")
        )
        base = Case.objects.filter(run=run_latest(incident=incident))
        rows = CaseFilter(self.request.query_params, queryset=base).qs
        return _prefetched(
            rows.select_related("assignee", "discrepancy").order_by("due_at", "pk"),
            "discrepancy__",
        )


class CaseDetailView(generics.RetrieveAPIView):
    serializer_class = CaseSerializer

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        _finance(self.request)
        return _prefetched(
            Case.objects.select_related("assignee", "discrepancy"), "discrepancy__"
        )


def _case_response(case: Case) -> Response:
    fresh = _prefetched(
        Case.objects.select_related("assignee", "discrepancy"), "discrepancy__"
    ).get(pk=case.pk)
    return Response(CaseSerializer(fresh).data)


ACTIONS = ["assign", "note", "not-duplicate", "posted", "reopen", "confirm"]


class CaseActionView(APIView):
    """assign, note, not-duplicate, posted, reopen, confirm (a proposed ``match``)."""

    @extend_schema(
        request=ActionSerializer,
        responses={
            200: CaseSerializer,
            400: OpenApiResponse(description="Refused, with the reason."),
            409: OpenApiResponse(description="Someone else changed the item."),
        },
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        user = _finance(request)
        case = get_object_or_404(Case, pk=pk)
        data = ActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        version = v.get("version")
        try:
            if action == "assign":
                who = v.get("assignee") or ""
                assignee = get_object_or_404(User, username=who) if who else None
                r.cases_assign(cases=[case], assignee=assignee, actor=user)
            elif action == "note":
                r.case_note_add(
                    case=case,
                    actor=user,
                    text=v.get("text", ""),
                    evidence=v.get("evidence"),
                )
            elif action == "not-duplicate":
                r.case_not_duplicate(case=case, actor=user, version=version)
            elif action == "posted":
                r.case_mark_posted(case=case, actor=user, version=version)
            elif action == "reopen":
                r.case_reopen(
                    case=case, actor=user, reason=v.get("reason", ""), version=version
                )
            elif action == "confirm":
                match = get_object_or_404(Match, pk=v.get("match") or 0)
                r.case_confirm_match(
                    case=case, match=match, actor=user, version=version
                )
            else:
                return Response(status=404)
        except ValidationError as error:
            return _refused(error)
        return _case_response(case)


class CaseWriteOffView(APIView):
    """Ask for a write-off of the item's difference (a second finance user approves)."""

    @extend_schema(
        request=ActionSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            202: ApprovalSerializer,
            400: OpenApiResponse(description="Refused."),
            409: OpenApiResponse(description="Stale."),
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        user = _finance(request)
        case = get_object_or_404(Case, pk=pk)
        data = ActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            approval = r.case_write_off_request(
                case=case,
                actor=user,
                reason_code=data.validated_data.get("reason_code", ""),
                version=data.validated_data.get("version"),
            )
        except ValidationError as error:
            return _refused(error)
        return Response(ApprovalSerializer(approval).data, status=202)


class CaseLinkView(APIView):
    """Link deposits and records by hand; above the threshold it waits for approval (202)."""

    @extend_schema(
        request=ActionSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: CaseSerializer,
            202: ApprovalSerializer,
            400: OpenApiResponse(description="Refused."),
            409: OpenApiResponse(description="Stale."),
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        user = _finance(request)
        case = get_object_or_404(Case, pk=pk)
        data = ActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            result = r.case_link(
                case=case,
                actor=user,
                deposit_ids=v.get("deposits", []),
                record_ids=v.get("records", []),
                version=v.get("version"),
            )
        except ValidationError as error:
            return _refused(error)
        if isinstance(result, ApprovalRequest):
            return Response(ApprovalSerializer(result).data, status=202)
        return _case_response(result)


class ApprovalListView(generics.ListAPIView):
    """Requests waiting for a second finance user."""

    serializer_class = ApprovalSerializer

    @extend_schema(parameters=[INCIDENT_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ApprovalRequest]:
        if getattr(self, "swagger_fake_view", False):
            return ApprovalRequest.objects.none()
        _finance(self.request)
        from django.db.models import Q

        rows = ApprovalRequest.objects.select_related(
            "requested_by", "decided_by"
        ).order_by("-pk")
        ref = self.request.query_params.get("incident")
        if ref:
            rows = rows.filter(
                Q(case__incident__reference=ref)
                | Q(match__run__incident__reference=ref)
            )
        return rows


def _decide(request: Request, pk: int, approve: bool) -> Response:
    user = _finance(request)
    approval = get_object_or_404(ApprovalRequest, pk=pk)
    try:
        approval = r.approval_decide(request=approval, actor=user, approve=approve)
    except ValidationError as error:
        return _refused(error)
    return Response(ApprovalSerializer(approval).data)


class ApprovalApproveView(APIView):
    """The second finance user approves: the change is made."""

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: ApprovalSerializer,
            400: OpenApiResponse(description="Refused."),
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        return _decide(request, pk, True)


class ApprovalRejectView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: ApprovalSerializer,
            400: OpenApiResponse(description="Refused."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        return _decide(request, pk, False)
