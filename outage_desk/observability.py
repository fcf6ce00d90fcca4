"""Request ids on every log record, and an access log of logins and permission denials.

Log records name users by username and objects by id only: never an account number,
a customer's name, a password, a token or a session id.
"""

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.http import HttpRequest, HttpResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="-"
)
security_log = logging.getLogger("outage_desk.security")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RequestIdMiddleware:
    """Takes a sane incoming X-Request-ID or makes one, and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class AccessLogMiddleware:
    """Logs every 401/403 with the user and path (never the query string)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code in (401, 403):
            user = getattr(request, "user", None)
            security_log.warning(
                "permission denied user=%s method=%s path=%s status=%s",
                user.get_username() if user and user.is_authenticated else "anonymous",
                request.method,
                request.path,
                response.status_code,
            )
        return response


def _client_ip(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "-") if request is not None else "-"


def _on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    security_log.info("login user=%s ip=%s", user.get_username(), _client_ip(request))


def _on_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    name = user.get_username() if user else "anonymous"
    security_log.info("logout user=%s ip=%s", name, _client_ip(request))


def _on_login_failed(
    sender: Any,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    # Django already masks the password in ``credentials``; only the username is logged.
    security_log.warning(
        "login failed user=%s ip=%s",
        credentials.get("username", "-"),
        _client_ip(request),
    )


def connect_auth_logging() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="od_login_log")
    user_logged_out.connect(_on_logout, dispatch_uid="od_logout_log")
    user_login_failed.connect(_on_login_failed, dispatch_uid="od_login_failed_log")
