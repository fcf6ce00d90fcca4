from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from outage_desk.models import ApiToken, User
from outage_desk.tokens import api_token_authenticate

# last_used_at is informative; writing it on every request would cost a row update.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` against hashed, revocable ApiToken rows."""

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        token = api_token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        api_token_used(token)
        return token.user, token


def api_token_used(token: ApiToken) -> None:
    """Note when a token was last used, to the resolution above."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "outage_desk.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token-based authentication: `Authorization: Token <key>`.",
        }


def token_of(request: Request) -> ApiToken | None:
    """The ApiToken that authenticated this request, if any."""
    return request.auth if isinstance(request.auth, ApiToken) else None


def request_user(request: Request) -> User:
    """The signed-in staff user of an API request (views require authentication)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user
