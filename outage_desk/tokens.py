"""API tokens: create (the key is returned once), authenticate by hash, revoke."""

import hashlib
import secrets

from django.contrib.auth.models import Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import audit_record
from .models import ApiToken, User

ERROR_TOKEN_NAME_REQUIRED = _(
    "Give the token a name, such as the tool that will use it."
)
ERROR_TOKEN_NOT_YOURS = _("You can only revoke your own tokens.")
KEY_PREFIX = "od_"


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it with the plain key, which is never stored."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ERROR_TOKEN_NAME_REQUIRED})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[len(KEY_PREFIX) : len(KEY_PREFIX) + 8],
        key_hash=token_hash(key),
    )
    audit_record(action="api_token.created", obj=token, actor=user, data={"name": name})
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User) -> ApiToken:
    """Revoke a token; its owner or a superuser may do it. Revoking twice is a no-op."""
    if token.user_id != by.pk and not by.is_superuser:
        raise ValidationError(ERROR_TOKEN_NOT_YOURS)
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit_record(action="api_token.revoked", obj=token, actor=by)
    token.refresh_from_db()
    return token


def api_token_authenticate(key: str) -> ApiToken | None:
    """The active token with this key, or None.

    On PostgreSQL the same query brings the user's permissions (their own and
    their groups'), so the permission checks of the request ask nothing more.
    """
    tokens = ApiToken.objects.select_related("user__branch").filter(
        key_hash=token_hash(key), revoked_at__isnull=True, user__is_active=True
    )
    if connection.vendor != "postgresql":
        return tokens.first()
    perms = (
        Permission.objects.filter(
            Q(user=OuterRef("user_id")) | Q(group__user=OuterRef("user_id"))
        )
        .annotate(full=Concat("content_type__app_label", Value("."), "codename"))
        .values("full")
    )
    token = tokens.annotate(user_perms=ArraySubquery(perms)).first()
    if token is not None:
        # What Django's ModelBackend would load on the first has_perm().
        token.user._perm_cache = set(token.user_perms)  # type: ignore[attr-defined]
    return token
