"""Start a reconciliation run in the background and follow it."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reconciliation.selectors import (
    RUN_PERMISSION,
    incident_get_for_user,
    permission_require,
    run_get_for_user,
)
from reconciliation.services import run_start

from .serializers import RunSerializer, RunStartSerializer


class RunStartView(APIView):
    """Queue a run for the incident; poll the returned run for its counts."""

    @extend_schema(request=RunStartSerializer, responses={202: RunSerializer})
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
        permission_require(request.user, RUN_PERMISSION)  # type: ignore[arg-type]
        payload = RunStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = run_start(
            incident=incident,
            actor=request.user,  # type: ignore[arg-type]
            dry_run=payload.validated_data["dry_run"],
        )
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailView(APIView):
    """A run's status and, once finished, its counts."""

    @extend_schema(responses=RunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = run_get_for_user(user=request.user, pk=pk)  # type: ignore[arg-type]
        return Response(RunSerializer(run).data)
