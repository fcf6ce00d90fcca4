"""The impact figures of one incident, read only."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.selectors import incident_get_for_user
from outage_desk.api.authentication import request_user

from ..selectors import impact_figures
from .serializers import ImpactSerializer


class ImpactPermission(BasePermission):
    """Incident leads and finance (incidents.view_impact)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm("incidents.view_impact"))


class ImpactView(APIView):
    """Customers affected, deposits, unconfirmed, notices, update cadence, cost."""

    permission_classes = [IsAuthenticated, ImpactPermission]

    @extend_schema(responses=ImpactSerializer)
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(
            user=request_user(request), reference=reference
        )
        return Response(ImpactSerializer(impact_figures(incident=incident)).data)
