"""The status page's staff side in the API: the unavailable banner, components and
subscribers, with the permissions of the staff screens and the admin."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.api.pagination import ApiCursorPagination
from outage_desk.api.serializers import StrictInputMixin

from ..models import Component, StatusBanner, Subscriber
from ..selectors import user_may_publish_status
from ..services import component_save, status_banner_set
from .views import _service_error, _user


class _Perms(BasePermission):
    """Reading needs ``read``; writing needs ``write`` (Django permission names)."""

    read = "incidents.view_incident"
    write = "incidents.manage_incident"

    def has_permission(self, request: Request, view: Any) -> bool:
        safe = request.method in ("GET", "HEAD", "OPTIONS")
        return bool(
            request.user and request.user.has_perm(self.read if safe else self.write)
        )


class BannerSerializer(serializers.ModelSerializer[StatusBanner]):
    changed_by = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = StatusBanner
        fields = ["active", "changed_by", "changed_at"]
        read_only_fields = fields


class BannerInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    active = serializers.BooleanField()


class MayPublishStatus(BasePermission):
    """Reading: staff who see incidents; switching: who may publish the status page
    (the permission, or the status-page publisher of an open incident)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return bool(request.user.has_perm("incidents.view_incident"))
        return user_may_publish_status(request.user)  # type: ignore[arg-type]


class BannerView(APIView):
    """The public status page's "temporarily unavailable" banner."""

    permission_classes = [IsAuthenticated, MayPublishStatus]

    @extend_schema(responses=BannerSerializer)
    def get(self, request: Request) -> Response:
        banner = StatusBanner.objects.filter(pk=1).first() or StatusBanner(id=1)
        return Response(BannerSerializer(banner).data)

    @extend_schema(request=BannerInputSerializer, responses=BannerSerializer)
    def post(self, request: Request) -> Response:
        data = BannerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        banner = status_banner_set(
            active=data.validated_data["active"], actor=_user(request)
        )
        return Response(BannerSerializer(banner).data)


class ComponentSerializer(serializers.ModelSerializer[Component]):
    name_translations = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = Component
        fields = ["id", "name", "name_translations", "position"]
        read_only_fields = fields


class ComponentInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=100)
    name_translations = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=100),
        required=False,
        help_text='language code -> name, e.g. {"zh-hans": ...}',
    )
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False)


class ComponentChangeSerializer(ComponentInputSerializer):
    name = serializers.CharField(max_length=100, required=False)


class ComponentPerms(_Perms):
    write = "incidents.add_component"


class ComponentChangePerms(_Perms):
    write = "incidents.change_component"


class ComponentListView(generics.ListAPIView):  # type: ignore[type-arg]
    """What customers pick on the status page; incidents name the ones they affect."""

    permission_classes = [IsAuthenticated, ComponentPerms]
    serializer_class = ComponentSerializer
    queryset = Component.objects.order_by("position", "name")

    @extend_schema(
        request=ComponentInputSerializer, responses={201: ComponentSerializer}
    )
    def post(self, request: Request) -> Response:
        data = ComponentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            component = component_save(actor=_user(request), **data.validated_data)
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(ComponentSerializer(component).data, status=201)


class ComponentDetailView(APIView):
    permission_classes = [IsAuthenticated, ComponentChangePerms]

    @extend_schema(responses=ComponentSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ComponentSerializer(get_object_or_404(Component, pk=pk)).data)

    @extend_schema(request=ComponentChangeSerializer, responses=ComponentSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        component = get_object_or_404(Component, pk=pk)
        data = ComponentChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            component = component_save(
                actor=_user(request), component=component, **data.validated_data
            )
        except DjangoValidationError as exc:
            raise _service_error(exc) from exc
        return Response(ComponentSerializer(component).data)


class SubscriberSerializer(serializers.ModelSerializer[Subscriber]):
    address = serializers.CharField(source="masked_address", read_only=True)
    components = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="name", many=True, read_only=True
    )
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Subscriber
        fields = [
            "id",
            "channel",
            "address",
            "language",
            "components",
            "active",
            "created_at",
            "confirmed_at",
            "unsubscribed_at",
        ]
        read_only_fields = fields


class SubscriberFilter(filters.FilterSet):
    active = filters.BooleanFilter(
        method="filter_active", label="Confirmed and not unsubscribed."
    )

    class Meta:
        model = Subscriber
        fields = ["channel", "language"]

    def filter_active(
        self, queryset: QuerySet[Subscriber], name: str, value: bool
    ) -> QuerySet[Subscriber]:
        live = {"confirmed_at__isnull": False, "unsubscribed_at__isnull": True}
        return queryset.filter(**live) if value else queryset.exclude(**live)


class SubscriberPerms(_Perms):
    read = "incidents.view_subscriber"


class SubscriberListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Status-page subscribers, addresses masked (as in the admin, which lists them
    read-only: people unsubscribe themselves through the link in every notice)."""

    permission_classes = [IsAuthenticated, SubscriberPerms]
    serializer_class = SubscriberSerializer
    queryset = Subscriber.objects.prefetch_related("components")
    pagination_class = ApiCursorPagination
    filterset_class = SubscriberFilter
    ordering_fields = ["created_at", "confirmed_at"]
    ordering = ["-pk"]
