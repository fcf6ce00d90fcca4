from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    branch = serializers.CharField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    """Who the caller is: username, branch code and roles."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        data = {
            "username": user.get_username(),
            "branch": user.branch.code if user.branch else None,  # type: ignore[union-attr]
            "roles": user.role_names,  # type: ignore[union-attr]
        }
        return Response(MeSerializer(data).data)
