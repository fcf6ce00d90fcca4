from typing import cast

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.models import ApiToken, User
from outage_desk.tokens import api_token_create, api_token_revoke


class TokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


class TokenCreateInputSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100)


class TokenCreatedSerializer(TokenSerializer):
    key = serializers.CharField(help_text="The token; shown only in this response.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key"]


class TokenListView(generics.ListAPIView):  # type: ignore[type-arg]
    """The caller's API tokens, by limit and offset; POST creates one and returns
    its key once."""

    serializer_class = TokenSerializer
    ordering_fields = ["created_at", "last_used_at"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).order_by(  # type: ignore[misc]
            "-created_at", "-pk"
        )

    @extend_schema(
        request=TokenCreateInputSerializer, responses={201: TokenCreatedSerializer}
    )
    def post(self, request: Request) -> Response:
        data = TokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token, key = api_token_create(
                user=cast(User, request.user), name=data.validated_data["name"]
            )
        except ValidationError as exc:
            raise ApiValidationError(exc.message_dict) from exc
        token.key = key  # type: ignore[attr-defined]
        return Response(
            TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED
        )


class TokenDetailView(APIView):
    """Revoke one of the caller's tokens."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        token = get_object_or_404(ApiToken, pk=pk, user=request.user)
        api_token_revoke(token=token, by=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
