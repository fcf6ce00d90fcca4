"""REST endpoints for incidents: reads for staff who may view, writes call services."""

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.api.renderers import (
    CSVRenderer,
    FileDownloadMixin,
    OctetStreamRenderer,
    PDFRenderer,
)
from outage_desk.models import User

from .. import exports
from ..models import BankContact, Incident, IncidentUpdate, RoleAssignment
from ..selectors import incident_get_for_user
from ..services import (
    bank_contact_record,
    incident_open,
    incident_transition,
    incident_update_post,
    role_assign,
    role_release,
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


def _user(request: Request) -> User:
    """The signed-in caller (IsAuthenticated runs first on every view here)."""
    return cast(User, request.user)


class IncidentMixin:
    """Fetches the incident named in the URL through the scoped helper."""

    def incident(self) -> Incident:
        view = cast(APIView, self)
        return incident_get_for_user(
            user=_user(view.request), reference=view.kwargs["reference"]
        )


class IncidentListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """Incidents, newest first; POST opens one (or schedules maintenance)."""

    permission_classes = [IsAuthenticated, IncidentPermission]

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
            incident = incident_open(opened_by=_user(request), **data.validated_data)
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED
        )


class IncidentDetailView(IncidentMixin, APIView):
    permission_classes = [IsAuthenticated, IncidentPermission]

    @extend_schema(responses=s.IncidentSerializer)
    def get(self, request: Request, reference: str) -> Response:
        return Response(s.IncidentSerializer(self.incident()).data)


class IncidentStatusView(IncidentMixin, APIView):
    """Move the incident to another status (the lifecycle table decides)."""

    permission_classes = [IsAuthenticated, IncidentPermission]

    @extend_schema(request=s.TransitionSerializer, responses=s.IncidentSerializer)
    def post(self, request: Request, reference: str) -> Response:
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = incident_transition(
                incident=self.incident(),
                to_status=data.validated_data["status"],
                at=data.validated_data["at"],
                actor=_user(request),
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(s.IncidentSerializer(incident).data)


class IncidentUpdateListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated, IncidentPermission]
    serializer_class = s.IncidentUpdateSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return IncidentUpdate.objects.none()
        return self.incident().updates.select_related("created_by")

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
                author=_user(request),
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.IncidentUpdateSerializer(update).data, status=status.HTTP_201_CREATED
        )


class RoleListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated, IncidentPermission]
    serializer_class = s.RoleAssignmentSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return RoleAssignment.objects.none()
        return self.incident().role_assignments.select_related("user")

    @extend_schema(
        request=s.RoleAssignInputSerializer, responses={201: s.RoleAssignmentSerializer}
    )
    def post(self, request: Request, reference: str) -> Response:
        data = s.RoleAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            assignment = role_assign(
                incident=self.incident(),
                assigned_by=_user(request),
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.RoleAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED
        )


class BankContactListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """The append-only bank-contact log (evidence files are uploaded on the staff page)."""

    permission_classes = [IsAuthenticated, IncidentPermission]

    serializer_class = s.BankContactSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return BankContact.objects.none()
        return self.incident().bank_contacts.select_related("staff", "recorded_by")

    @extend_schema(
        request=s.BankContactInputSerializer, responses={201: s.BankContactSerializer}
    )
    def post(self, request: Request, reference: str) -> Response:
        data = s.BankContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            entry = bank_contact_record(
                incident=self.incident(),
                staff=_user(request),
                recorded_by=_user(request),
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(
            s.BankContactSerializer(entry).data, status=status.HTTP_201_CREATED
        )


class RoleEndView(IncidentMixin, APIView):
    """End a role assignment (as the staff page's "end" button); ending twice is a no-op."""

    permission_classes = [IsAuthenticated, IncidentPermission]

    @extend_schema(request=None, responses=s.RoleAssignmentSerializer)
    def post(self, request: Request, reference: str, pk: int) -> Response:
        assignment = get_object_or_404(RoleAssignment, pk=pk, incident=self.incident())
        assignment = role_release(assignment=assignment, actor=_user(request))
        return Response(s.RoleAssignmentSerializer(assignment).data)


class BankContactEvidenceView(FileDownloadMixin, IncidentMixin, APIView):
    """The evidence file of one bank-contact entry, always as a download."""

    permission_classes = [IsAuthenticated, IncidentPermission]
    renderer_classes = [JSONRenderer, OctetStreamRenderer]

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file as it was uploaded."
            )
        }
    )
    def get(self, request: Request, reference: str, pk: int) -> FileResponse:
        entry = get_object_or_404(BankContact, pk=pk, incident=self.incident())
        if not entry.evidence:
            raise Http404
        response = FileResponse(
            entry.evidence.open("rb"),
            as_attachment=True,
            filename=entry.evidence_name,
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _export(incident: Incident, fmt: str) -> HttpResponse:
    if fmt == "csv":
        response = HttpResponse(
            exports.bank_contacts_csv(incident), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            exports.bank_contacts_pdf(incident), content_type="application/pdf"
        )
    name = f"{incident.reference}-bank-contacts.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class BankContactCsvView(FileDownloadMixin, IncidentMixin, APIView):
    """The bank-contact log as CSV (the same file as the staff page's export)."""

    permission_classes = [IsAuthenticated, IncidentPermission]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, reference: str) -> HttpResponse:
        return _export(self.incident(), "csv")


class BankContactPdfView(FileDownloadMixin, IncidentMixin, APIView):
    """The bank-contact log as PDF, for the incident review."""

    permission_classes = [IsAuthenticated, IncidentPermission]
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, reference: str) -> HttpResponse:
        return _export(self.incident(), "pdf")
