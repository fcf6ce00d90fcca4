"""REST endpoints for incidents: reads for staff who may view, writes call services."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import BankContact, Incident, IncidentUpdate, RoleAssignment
from ..selectors import incident_get_for_user
from ..services import (
    bank_contact_record,
    incident_open,
    incident_transition,
    incident_update_post,
    role_assign,
)
from . import serializers as s


class IncidentPermission(BasePermission):
    """Reading needs incidents.view_incident; writing needs incidents.manage_incident."""

    def has_permission(self, request: Request, view: Any) -> bool:
        perm = (
            "incidents.view_incident"
            if request.method in ("GET", "HEAD", "OPTIONS")
            else "incidents.manage_incident"
        )
        return bool(request.user and request.user.has_perm(perm))


def _service_error(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(
            {k: [m for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        )
    return ValidationError({"non_field_errors": exc.messages})


class IncidentMixin:
    permission_classes = [IsAuthenticated, IncidentPermission]
    request: Request
    kwargs: dict[str, Any]

    def incident(self) -> Incident:
        return incident_get_for_user(
            user=self.request.user, reference=self.kwargs["reference"]
        )  # type: ignore[arg-type]


class IncidentListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """Incidents, newest first; POST opens one (or schedules maintenance)."""

    serializer_class = s.IncidentSerializer
    queryset = Incident.objects.prefetch_related("components").order_by("-declared_at")
    filterset_fields = ["kind", "status", "severity"]

    @extend_schema(
        request=s.IncidentOpenSerializer, responses={201: s.IncidentSerializer}
    )
    def post(self, request: Request) -> Response:
        data = s.IncidentOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incident_open(opened_by=request.user, **data.validated_data)  # type: ignore[arg-type]
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED
        )


class IncidentDetailView(IncidentMixin, APIView):
    @extend_schema(responses=s.IncidentSerializer)
    def get(self, request: Request, reference: str) -> Response:
        return Response(s.IncidentSerializer(self.incident()).data)


class IncidentStatusView(IncidentMixin, APIView):
    """Move the incident to another status (the lifecycle table decides)."""

    @extend_schema(request=s.TransitionSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, reference: str) -> Response:
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incident_transition(
                incident=self.incident(),
                to_status=data.validated_data["status"],
                at=data.validated_data["at"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(s.IncidentSerializer(incident).data)


class IncidentUpdateListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = s.IncidentUpdateSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return IncidentUpdate.objects.none()
        return self.incident().updates.select_related("created_by")  # type: ignore[attr-defined]

    @extend_schema(
        request=s.IncidentUpdateInputSerializer,
        responses={201: s.IncidentUpdateSerializer},
    )
    def post(self, request: Request, reference: str) -> Response:
        data = s.IncidentUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            update = incident_update_post(
                incident=self.incident(),
                author=request.user,
                **data.validated_data,  # type: ignore[arg-type]
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.IncidentUpdateSerializer(update).data, status=status.HTTP_201_CREATED
        )


class RoleListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = s.RoleAssignmentSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return RoleAssignment.objects.none()
        return self.incident().role_assignments.select_related("user")  # type: ignore[attr-defined]

    @extend_schema(
        request=s.RoleAssignInputSerializer, responses={201: s.RoleAssignmentSerializer}
    )
    def post(self, request: Request, reference: str) -> Response:
        data = s.RoleAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            assignment = role_assign(
                incident=self.incident(),
                assigned_by=request.user,
                **data.validated_data,  # type: ignore[arg-type]
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.RoleAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED
        )


class BankContactListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """The append-only bank-contact log (evidence files are uploaded on the staff page)."""

    serializer_class = s.BankContactSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return BankContact.objects.none()
        return self.incident().bank_contacts.select_related("staff", "recorded_by")  # type: ignore[attr-defined]

    @extend_schema(
        request=s.BankContactInputSerializer, responses={201: s.BankContactSerializer}
    )
    def post(self, request: Request, reference: str) -> Response:
        data = s.BankContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            entry = bank_contact_record(
                incident=self.incident(),
                staff=request.user,  # type: ignore[arg-type]
                recorded_by=request.user,  # type: ignore[arg-type]
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.BankContactSerializer(entry).data, status=status.HTTP_201_CREATED
        )
