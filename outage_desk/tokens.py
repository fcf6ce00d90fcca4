"""API tokens: create (the key is returned once), authenticate by hash, revoke."""

import functools
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import rawsql
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

    On PostgreSQL one statement brings the token, its user, the user's branch and
    the user's permissions (their own and their groups'), so the permission checks
    of the request ask nothing more.
    """
    if connection.vendor != "postgresql":
        return (
            ApiToken.objects.select_related("user__branch")
            .filter(
                key_hash=token_hash(key), revoked_at__isnull=True, user__is_active=True
            )
            .first()
        )
    with connection.cursor() as cursor:
        rawsql.execute(cursor, [(api_token_sql(), [token_hash(key)])])
        row = cursor.fetchone()
    return None if row is None else api_token_from_row(row)[0]


def api_token_from_row(row: Sequence[Any], at: int = 0) -> tuple[ApiToken, int]:
    """The token, user and branch of ``api_token_sql``'s columns from ``at`` on, and
    where the next columns start."""
    token, at = rawsql.row_instance(ApiToken, row, at)
    user, at = rawsql.row_instance(User, row, at)
    branch, at = rawsql.row_instance(_branch_model(), row, at)
    assert token is not None and user is not None  # noqa: S101 (inner joins)
    user.branch = branch  # type: ignore[assignment]
    # What Django's ModelBackend would load on the first has_perm().
    user._perm_cache = set(row[at])  # type: ignore[attr-defined]
    token.user = user
    return token, at + 1


def _branch_model() -> type[models.Model]:
    return User._meta.get_field("branch").related_model  # type: ignore[return-value]


@functools.cache
def api_token_sql() -> str:
    """The token by its hash with its user, branch and permissions; built once."""
    q = connection.ops.quote_name
    user_perms = User.user_permissions.through
    user_groups = User.groups.through
    branch = _branch_model()
    return (
        f"SELECT {rawsql.select_list(ApiToken, 't')}, "  # noqa: S608 (model names)
        f"{rawsql.select_list(User, 'u')}, {rawsql.select_list(branch, 'b')}, "
        "ARRAY(SELECT ct.app_label || '.' || p.codename"
        f" FROM {rawsql.table(Permission)} p"
        f" JOIN {rawsql.table(ContentType)} ct ON ct.id = p.content_type_id"
        f" WHERE p.id IN (SELECT up.permission_id FROM {rawsql.table(user_perms)} up"
        f" WHERE up.{q('user_id')} = u.id"
        f" UNION SELECT gp.permission_id FROM {rawsql.table(Group.permissions.through)} gp"
        f" JOIN {rawsql.table(user_groups)} ug ON ug.group_id = gp.group_id"
        f" WHERE ug.{q('user_id')} = u.id))"
        f" FROM {rawsql.table(ApiToken)} t JOIN {rawsql.table(User)} u ON u.id = t.user_id"
        f" LEFT JOIN {rawsql.table(branch)} b ON b.id = u.branch_id"
        " WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active"
    )
