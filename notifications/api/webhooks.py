"""Webhook endpoints for admins: list, register (secret shown once), deactivate."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.api.authentication import request_user
from outage_desk.api.serializers import StrictInputMixin

from ..models import EVENT_KINDS, WebhookEndpoint
from ..services.staff import webhook_endpoint_create, webhook_endpoint_deactivate


class IsAdmin(BasePermission):
    """Webhook endpoints carry secrets: administrators only."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_superuser)


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    events = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "events", "active", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret; shown only in this response."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(StrictInputMixin, serializers.Serializer[None]):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_KINDS)), allow_empty=False
    )


class WebhookEndpointListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Every endpoint, by limit and offset; POST registers one."""

    permission_classes = [IsAuthenticated, IsAdmin]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.order_by("pk")
    filterset_fields = ["active"]
    ordering_fields = ["name", "created_at"]

    @extend_schema(
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(
            actor=request_user(request), **data.validated_data
        )
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data,
            status=status.HTTP_201_CREATED,
        )


class WebhookEndpointDetailView(APIView):
    permission_classes = [IsAuthenticated, IsAdmin]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
        webhook_endpoint_deactivate(endpoint=endpoint, actor=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
