"""API answers when the database is unreachable: 503 JSON with Retry-After, never a 500.

A restart or failover of PostgreSQL drops every connection; the request fails before
or at its commit. Whether a commit that failed took effect is unknown to the
client, so the answer tells it to retry with the same Idempotency-Key: the key and
the deposit's UUID make the retry safe either way.
"""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

ERROR_DATABASE_UNAVAILABLE = _(
    "The database is unavailable. Retry in a few seconds with the same "
    "Idempotency-Key; a deposit is never recorded twice."
)
RETRY_AFTER_SECONDS = 5


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus 503 for a lost or refused database connection."""
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning(
            "database unavailable for an API request: %s", type(exc).__name__
        )
        response = Response({"detail": str(ERROR_DATABASE_UNAVAILABLE)}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return exception_handler(exc, context)
