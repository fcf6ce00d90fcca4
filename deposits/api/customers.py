"""Customers for integrators: the same search and permission as the capture screen."""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.api.authentication import request_user
from outage_desk.api.pagination import ApiCursorPagination

from ..models import Customer
from ..selectors import (
    SEARCH_MIN_LENGTH,
    customer_get_for_user,
    customer_list_for_user,
)
from .views import has_perm


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    branch = serializers.CharField(
        source="branch.code", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "account",
            "name",
            "tier",
            "language",
            "email",
            "phone",
            "branch",
            "refreshed_at",
        ]
        read_only_fields = fields


ERROR_QUERY_SHORT = _("Type at least %(count)s characters to search.")


@extend_schema(
    parameters=[
        OpenApiParameter(
            "q",
            str,
            required=False,
            description=f"Account, name or phone containing this text (at least "
            f"{SEARCH_MIN_LENGTH} characters), as on the capture form: customers of "
            "your branch and of no branch, and a full account number at any branch. "
            "Without it, every customer you may see.",
        )
    ]
)
class CustomerSearchView(generics.ListAPIView):  # type: ignore[type-arg]
    """Customers by cursor, ordered by account (or ``ordering=name``)."""

    permission_classes = [IsAuthenticated, has_perm("deposits.add_deposit")]
    serializer_class = CustomerSerializer
    pagination_class = ApiCursorPagination
    ordering_fields = ["account", "name"]
    ordering = ["account"]

    def get_queryset(self) -> QuerySet[Customer]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Customer.objects.none()
        query = self.request.query_params.get("q", "").strip()
        if "q" in self.request.query_params and len(query) < SEARCH_MIN_LENGTH:
            raise ValidationError(
                {"q": [str(ERROR_QUERY_SHORT % {"count": SEARCH_MIN_LENGTH})]}
            )
        return customer_list_for_user(user=request_user(self.request), query=query)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class CustomerDetailView(APIView):
    """One customer by id (account numbers stay out of URLs, and so out of logs)."""

    permission_classes = [IsAuthenticated, has_perm("deposits.add_deposit")]

    @extend_schema(responses=CustomerSerializer)
    def get(self, request: Request, pk: int) -> Response:
        customer = customer_get_for_user(user=request_user(request), pk=pk)
        return Response(CustomerSerializer(customer).data)
