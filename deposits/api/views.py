"""The deposits API: capture, list, detail, reversal and approvals."""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.api.authentication import request_user
from outage_desk.api.errors import ERROR_INVALID, ApiError
from outage_desk.api.pagination import ApiCursorPagination
from outage_desk.api.parsers import FormParser, JSONParser, MultiPartParser
from outage_desk.idempotency import IDEMPOTENCY_PARAMETER, idempotent

from ..errors import (
    ERROR_INCIDENT_CLOSED,
    ERROR_OTHER_BRANCH,
    DepositConflictError,
    DuplicateSuspectedError,
)
from ..models import Branch, Deposit
from ..selectors import (
    capture_lookups,
    deposit_get_for_user,
    deposit_list_for_user,
    reversal_get_for_user,
)
from ..services import (
    deposit_approve,
    deposit_record,
    deposit_reversal_approve,
    deposit_reversal_request,
)
from .filters import DepositFilter
from .lane import COUNTED, capture_lane
from .serializers import (
    DepositCreateSerializer,
    DepositSerializer,
    ReversalRequestSerializer,
    ReversalSerializer,
    capture_arguments,
)

REFUSED_403 = OpenApiResponse(description="Four eyes: not by the same person.")
REFUSED_409 = OpenApiResponse(description="Not possible in the deposit's status.")


def user_has_perm(user: Any, codename: str) -> bool:
    """``user.has_perm(codename)`` for the ModelBackend, in one query instead of two.

    Django loads every permission of the user and then of their groups to answer
    one question; an API write only needs this one answer.
    """
    if not user or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if hasattr(user, "_perm_cache"):  # already loaded in this request
        return bool(user.has_perm(codename))
    app_label, name = codename.split(".", 1)
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=name)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )


def has_perm(codename: str) -> type[BasePermission]:
    class HasPerm(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return user_has_perm(request.user, codename)

    return HasPerm


def _refusal(exc: Exception) -> ApiError:
    """A service refusal as an API error: 400 fields, 403 four eyes, 409 state."""
    if isinstance(exc, DjangoPermissionDenied):
        return ApiError(status=403, code="four_eyes", message=str(exc))
    assert isinstance(exc, ValidationError)  # noqa: S101
    if hasattr(exc, "error_dict"):
        return ApiError(
            status=400,
            code="invalid",
            message=ERROR_INVALID,
            fields={k: [str(m) for m in v] for k, v in exc.message_dict.items()},
        )
    return ApiError(status=409, code="conflict", message=" ".join(exc.messages))


class DepositListCreateView(generics.ListAPIView):
    """List the deposits you may see (filters below), or record one exactly once."""

    serializer_class = DepositSerializer
    permission_classes = [IsAuthenticated, has_perm("deposits.view_deposit")]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_class = DepositFilter
    pagination_class = ApiCursorPagination
    ordering_fields = ["recorded_at", "received_at", "amount", "receipt_number"]
    ordering = ["-recorded_at", "-pk"]

    def get_queryset(self) -> QuerySet[Deposit]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Deposit.objects.none()
        return deposit_list_for_user(user=request_user(self.request)).select_related(
            "approved_by"
        )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            response = capture_lane(request, self)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def get_throttles(self) -> list[Any]:
        # A request the fast lane counted already and passed on is not counted twice.
        if getattr(getattr(self, "request", None), COUNTED, False):
            return []
        return super().get_throttles()

    def get_permissions(self) -> Sequence[Any]:
        if self.request.method == "POST":
            return [IsAuthenticated(), has_perm("deposits.add_deposit")()]
        return super().get_permissions()

    @extend_schema(
        request=DepositCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: DepositSerializer,
            200: OpenApiResponse(
                DepositSerializer, "A retry: the deposit already recorded."
            ),
            400: OpenApiResponse(description="Bad input, named by field."),
            409: OpenApiResponse(
                description="The client_uuid was used for a different deposit "
                "(error.conflict names the conflicts-queue entry), or the same "
                "Idempotency-Key is still being processed."
            ),
            422: OpenApiResponse(
                description="The Idempotency-Key was used with a different body."
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = DepositCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = request_user(request)
        incident, customer = capture_lookups(
            incident=values["incident"], account=values["account"]
        )
        if incident is None:
            message = ERROR_INCIDENT_CLOSED % {"ref": values["incident"]}
            raise ApiError(
                status=400,
                code="invalid",
                message=ERROR_INVALID,
                fields={"incident": [str(message)]},
            )
        branch = (
            Branch.objects.filter(code=values["branch"]).first()
            if "branch" in values
            else user.branch
        )
        if branch is None:
            raise ApiError(
                status=400,
                code="invalid",
                message=ERROR_INVALID,
                fields={"branch": [str(ERROR_OTHER_BRANCH)]},
            )
        try:
            deposit, created = deposit_record(
                incident=incident,
                branch=branch,
                recorded_by=user,
                customer=customer,
                **capture_arguments(values),
            )
        except DepositConflictError as exc:
            raise ApiError(
                status=409,
                code="client_uuid_conflict",
                message=exc.message,
                conflict=exc.conflict.pk,
            ) from exc
        except DuplicateSuspectedError as exc:
            raise ApiError(
                status=400,
                code="duplicate_suspected",
                message=ERROR_INVALID,
                fields={k: [str(m) for m in v] for k, v in exc.message_dict.items()},
                possible_duplicates=[d.receipt_number for d in exc.candidates],
            ) from exc
        except ValidationError as exc:
            raise _refusal(exc) from exc
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(DepositSerializer(deposit).data, status=code)


class DepositDetailView(generics.RetrieveAPIView):
    serializer_class = DepositSerializer
    permission_classes = [IsAuthenticated, has_perm("deposits.view_deposit")]

    def get_object(self) -> Deposit:
        return deposit_get_for_user(
            user=request_user(self.request), pk=self.kwargs["pk"]
        )


class DepositReverseView(APIView):
    """Ask for a deposit to be reversed; a second supervisor approves it."""

    permission_classes = [IsAuthenticated, has_perm("deposits.add_deposit")]

    @extend_schema(
        request=ReversalRequestSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ReversalSerializer, 403: REFUSED_403, 409: REFUSED_409},
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        deposit = deposit_get_for_user(user=request_user(request), pk=pk)
        data = ReversalRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            reversal = deposit_reversal_request(
                deposit=deposit,
                requested_by=request_user(request),
                reason=data.validated_data["reason"],
            )
        except (ValidationError, DjangoPermissionDenied) as exc:
            raise _refusal(exc) from exc
        return Response(ReversalSerializer(reversal).data, status=201)


class DepositApproveView(APIView):
    """Four eyes: approve a deposit waiting for approval."""

    permission_classes = [IsAuthenticated, has_perm("deposits.approve_deposit")]

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: DepositSerializer, 403: REFUSED_403, 409: REFUSED_409},
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        deposit = deposit_get_for_user(user=request_user(request), pk=pk)
        try:
            deposit = deposit_approve(
                deposit=deposit, approved_by=request_user(request)
            )
        except (ValidationError, DjangoPermissionDenied) as exc:
            raise _refusal(exc) from exc
        return Response(DepositSerializer(deposit).data)


class ReversalApproveView(APIView):
    """Four eyes: approve a reversal; the deposit becomes reversed."""

    permission_classes = [IsAuthenticated, has_perm("deposits.approve_deposit")]

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: ReversalSerializer, 403: REFUSED_403, 409: REFUSED_409},
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        reversal = reversal_get_for_user(user=request_user(request), pk=pk)
        try:
            reversal = deposit_reversal_approve(
                reversal=reversal, approved_by=request_user(request)
            )
        except (ValidationError, DjangoPermissionDenied) as exc:
            raise _refusal(exc) from exc
        return Response(ReversalSerializer(reversal).data)
