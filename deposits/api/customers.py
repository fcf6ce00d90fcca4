"""Customers for integrators: the same search and permission as the capture screen."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.api.authentication import request_user

from ..models import Customer
from ..selectors import (
    SEARCH_LIMIT,
    SEARCH_MIN_LENGTH,
    customer_get_for_user,
    customer_search,
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


class CustomerSearchView(APIView):
    """Customers whose account, name or phone contains ``q`` (as on the capture form)."""

    permission_classes = [IsAuthenticated, has_perm("deposits.add_deposit")]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description=f"At least {SEARCH_MIN_LENGTH} characters; at most "
                f"{SEARCH_LIMIT} customers come back, an exact account first.",
            )
        ],
        responses=CustomerSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        customers = customer_search(
            user=request_user(request), query=request.query_params.get("q", "")
        )
        return Response(CustomerSerializer(customers, many=True).data)


class CustomerDetailView(APIView):
    """One customer by id (account numbers stay out of URLs, and so out of logs)."""

    permission_classes = [IsAuthenticated, has_perm("deposits.add_deposit")]

    @extend_schema(responses=CustomerSerializer)
    def get(self, request: Request, pk: int) -> Response:
        customer = customer_get_for_user(user=request_user(request), pk=pk)
        return Response(CustomerSerializer(customer).data)
