"""One error shape for every API error, and the schema that documents it.

Every 4xx answer of ``/api/v1/`` has the body::

    {"error": {"code": "invalid", "message": "...", "fields": {"amount": ["..."]}}}

``code`` is a stable machine-readable word, ``message`` a human sentence in the
caller's language, ``fields`` (only for bad input) the messages per field, and a
few answers carry one more key named in the schema (``conflict``,
``possible_duplicates``).
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from rest_framework import exceptions
from rest_framework.response import Response

ERROR_INVALID = _("The request has invalid fields.")
ERROR_NOT_FOUND = _("Not found.")
ERROR_TOO_LARGE = _("The request body is larger than the limit of %(limit)s bytes.")
ERROR_CONFLICT = _("The request conflicts with the current state.")

# Codes for the status codes DRF answers without a code of ours.
_DEFAULT_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
}


class ApiError(exceptions.APIException):
    """An API refusal with its status, code, message and optional field errors."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: Any,
        fields: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail=str(message), code=code)
        self.status_code = status
        self.error_code = code
        self.message = str(message)
        self.fields = fields
        self.extra = extra


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"


def error_body(
    code: str, message: Any, fields: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    """The documented error body."""
    error: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        error["fields"] = fields
    error.update(extra)
    return {"error": error}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Field errors as ``{"field": [messages]}``; nested fields joined by dots."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list) and any(isinstance(v, dict | list) for v in detail):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(
                    _flatten(value, f"{prefix}.{index}" if prefix else str(index))
                )
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]}


def _validation_body(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        fields = _flatten(detail)
        general = fields.pop("non_field_errors", None)
        message = " ".join(general) if general else ERROR_INVALID
        return error_body("invalid", message, fields or None)
    messages = [str(m) for m in detail] if isinstance(detail, list) else [str(detail)]
    return error_body("invalid", " ".join(messages))


def _code_of(exc: exceptions.APIException, status: int) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str) and codes not in ("error", "invalid"):
        return codes
    return _DEFAULT_CODES.get(status, "error")


logger = logging.getLogger(__name__)

# A restart or failover of PostgreSQL drops every connection; the request fails
# before or at its commit. Whether a failed commit took effect is unknown to the
# client, so the answer tells it to retry with the same Idempotency-Key: the key
# and the deposit's UUID make the retry safe either way.
ERROR_DATABASE_UNAVAILABLE = _(
    "The database is unavailable. Retry in a few seconds with the same "
    "Idempotency-Key; a deposit is never recorded twice."
)
RETRY_AFTER_SECONDS = 5


def _database_unavailable(exc: Exception) -> Response:
    """503 with Retry-After for a lost or refused database connection, never a 500."""
    logger.warning("database unavailable for an API request: %s", type(exc).__name__)
    response = Response(
        error_body("database_unavailable", ERROR_DATABASE_UNAVAILABLE), status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error in the documented shape."""
    # Imported here: rest_framework.views reads the settings, which name the
    # parsers of this package.
    from rest_framework.views import exception_handler

    if isinstance(exc, OperationalError | InterfaceError):
        return _database_unavailable(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(detail=str(exc))
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, exc.message, exc.fields, **exc.extra)
    elif isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
    elif isinstance(exc, Http404):
        response.data = error_body("not_found", ERROR_NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or str(exceptions.PermissionDenied.default_detail)
        response.data = error_body("permission_denied", message)
    elif isinstance(exc, exceptions.APIException):
        api_detail = exc.detail
        message = api_detail if isinstance(api_detail, str) else str(response.data)
        response.data = error_body(_code_of(exc, response.status_code), message)
    return response


_ERROR_COMPONENT: dict[str, Any] = {
    "type": "object",
    "description": "The body of every 4xx answer.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "A stable word: invalid, not_authenticated, "
                    "authentication_failed, permission_denied, not_found, conflict, "
                    "throttled, payload_too_large, idempotency_key_missing, "
                    "idempotency_key_reused, idempotency_key_in_flight, ...",
                },
                "message": {
                    "type": "string",
                    "description": "A sentence for people, in the caller's language.",
                },
                "fields": {
                    "type": "object",
                    "description": "Bad input: the messages for each field "
                    "(nested fields joined by dots).",
                    "additionalProperties": {
                        "type": "array",
                        "items": {"type": "string"},
                    },
                },
                "conflict": {
                    "type": "integer",
                    "description": "409 on a deposit: the conflicts-queue entry.",
                },
                "possible_duplicates": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Receipt numbers of deposits that look the same.",
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

_DESCRIPTIONS = {
    "400": "Bad input: the fields and reasons are named; nothing changed.",
    "401": "No credentials, or an invalid or revoked token.",
    "403": "Your roles do not allow this.",
    "404": "Not found, or not visible to you (another branch).",
    "409": "Conflicts with the current state (or the same Idempotency-Key is "
    "still being processed).",
    "413": "The request body is too large.",
    "422": "The Idempotency-Key was already used with a different body.",
    "429": "Rate limit of your token reached; see Retry-After.",
}


def error_responses_hook(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing: every operation's 4xx answers use Error."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = _ERROR_COMPONENT
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            codes = {"400", "401", "403", "404", "429"}
            if "requestBody" in operation:
                codes.add("413")
            if any(
                p.get("in") == "header" and p.get("name") == "Idempotency-Key"
                for p in operation.get("parameters", [])
            ):
                codes.update({"409", "422"})
            codes.update(c for c in responses if c.startswith("4"))
            for code in sorted(codes):
                description = _DESCRIPTIONS.get(code, "Refused.")
                old = responses.get(code, {}).get("description")
                if old and old not in ("", "No response body"):
                    description = old
                responses[code] = {"description": description, "content": content}
    return result


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an unknown URL under /api/ answers in the documented shape."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", ERROR_NOT_FOUND), status=404)
    return page_not_found(request, exception)


ERROR_SERVER = _("Something went wrong on our side; it has been logged. Retry later.")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an API caller gets the error shape rather than an HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", ERROR_SERVER), status=500)
    return default_server_error(request)
