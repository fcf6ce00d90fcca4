"""Supervisors' queue in the API: reversals to decide, UUID conflicts, log imports."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.models import Incident
from outage_desk.api.authentication import request_user
from outage_desk.api.errors import ERROR_INVALID, ApiError
from outage_desk.api.pagination import ApiCursorPagination
from outage_desk.api.parsers import MultiPartParser
from outage_desk.api.serializers import StrictInputMixin
from outage_desk.idempotency import IDEMPOTENCY_PARAMETER, idempotent

from ..models import DepositConflict, DepositReversal
from ..selectors import (
    conflict_get_for_user,
    conflict_list_open,
    reversal_get_for_user,
    reversal_list_pending,
)
from ..services import deposit_conflict_resolve, deposit_reversal_reject
from ..services.imports import ImportRefused, deposits_import
from .serializers import ReversalSerializer
from .views import REFUSED_403, REFUSED_409, _refusal, has_perm

ERROR_NO_OPEN_INCIDENT = _("No open incident %(ref)s.")


class ConflictSerializer(serializers.ModelSerializer[DepositConflict]):
    deposit = serializers.IntegerField(source="deposit_id", read_only=True)
    receipt_number = serializers.CharField(
        source="deposit.receipt_number", read_only=True
    )
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True)
    differences = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = DepositConflict
        fields = [
            "id",
            "client_uuid",
            "deposit",
            "receipt_number",
            "submitted_by",
            "submitted_at",
            "source",
            "differences",
            "status",
            "resolved_at",
            "resolution_note",
        ]
        read_only_fields = fields


class ConflictResolveSerializer(StrictInputMixin, serializers.Serializer[None]):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ImportInputSerializer(StrictInputMixin, serializers.Serializer[None]):
    incident = serializers.CharField(max_length=20, help_text="INC-YYYY-NNNN")
    file = serializers.FileField(help_text="The branch's deposit log (CSV, UTF-8).")


class ImportResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())


SUPERVISOR: list[type[BasePermission]] = [
    IsAuthenticated,
    has_perm("deposits.approve_deposit"),
]


class ReversalPendingListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Reversal requests waiting for a second supervisor (your branch), by cursor."""

    permission_classes = SUPERVISOR
    serializer_class = ReversalSerializer
    pagination_class = ApiCursorPagination
    ordering_fields = ["requested_at"]
    ordering = ["-requested_at", "-pk"]

    def get_queryset(self) -> QuerySet[DepositReversal]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return DepositReversal.objects.none()
        return reversal_list_pending(user=request_user(self.request))


class ReversalRejectView(APIView):
    """Four eyes: turn a reversal request down; the deposit stays as it is."""

    permission_classes = SUPERVISOR

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: ReversalSerializer, 403: REFUSED_403, 409: REFUSED_409},
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        reversal = reversal_get_for_user(user=request_user(request), pk=pk)
        try:
            reversal = deposit_reversal_reject(
                reversal=reversal, rejected_by=request_user(request)
            )
        except (ValidationError, DjangoPermissionDenied) as exc:
            raise _refusal(exc) from exc
        return Response(ReversalSerializer(reversal).data)


class ConflictListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Open UUID conflicts of your branch (same client_uuid, other content), by cursor."""

    permission_classes = SUPERVISOR
    serializer_class = ConflictSerializer
    pagination_class = ApiCursorPagination
    ordering_fields = ["submitted_at"]
    ordering = ["-submitted_at", "-pk"]

    def get_queryset(self) -> QuerySet[DepositConflict]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return DepositConflict.objects.none()
        return conflict_list_open(user=request_user(self.request))


class ConflictResolveView(APIView):
    """Mark a conflict as looked at, with a note."""

    permission_classes = SUPERVISOR

    @extend_schema(
        request=ConflictResolveSerializer,
        responses={200: ConflictSerializer, 409: REFUSED_409},
    )
    def post(self, request: Request, pk: int) -> Response:
        conflict = conflict_get_for_user(user=request_user(request), pk=pk)
        data = ConflictResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            conflict = deposit_conflict_resolve(
                conflict=conflict,
                resolved_by=request_user(request),
                note=data.validated_data["note"],
            )
        except (ValidationError, DjangoPermissionDenied) as exc:
            raise _refusal(exc) from exc
        return Response(ConflictSerializer(conflict).data)


class DepositImportView(APIView):
    """Import a branch's deposit log: the whole file or nothing (row errors named)."""

    permission_classes = [IsAuthenticated, has_perm("deposits.import_deposits")]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: ImportResultSerializer,
            400: OpenApiResponse(
                description="Bad rows: error.fields names each as "
                "'line N, column C'; nothing was imported."
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request_user(request)
        ref = data.validated_data["incident"]
        incident = Incident.objects.filter(reference=ref, closed_at=None).first()
        if incident is None:
            raise ApiError(
                status=400,
                code="invalid",
                message=ERROR_INVALID,
                fields={"incident": [str(ERROR_NO_OPEN_INCIDENT % {"ref": ref})]},
            )
        upload = data.validated_data["file"]
        try:
            result = deposits_import(
                source=upload,
                incident=incident,
                file_name=upload.name or "",
                imported_by=user,
                only_branch=user.branch,
            )
        except ImportRefused as exc:
            fields: dict[str, list[str]] = {}
            for error in exc.errors:
                key = f"line {error.line}, column {error.column}"
                fields.setdefault(key, []).append(str(error.reason))
            raise ApiError(
                status=400, code="invalid", message=ERROR_INVALID, fields=fields
            ) from exc
        body = {
            "created": result.created,
            "skipped": result.skipped,
            "warnings": [str(w) for w in result.warnings],
        }
        return Response(
            ImportResultSerializer(body).data, status=status.HTTP_201_CREATED
        )
