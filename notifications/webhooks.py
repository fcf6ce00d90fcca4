"""Signed webhooks: HMAC-SHA256 over ``timestamp.body``, sent as one header.

``X-OutageDesk-Signature: t=<unix seconds>,v1=<hex digest>``. A receiver recomputes
the digest with its secret, compares in constant time and rejects old timestamps.
"""

import hashlib
import hmac
import time
import urllib.error
import urllib.request

from django.conf import settings

SIGNATURE_HEADER = "X-OutageDesk-Signature"


class WebhookError(Exception):
    """The endpoint did not answer 2xx, or could not be reached."""


def webhook_sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The header value for one delivery."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_verify(
    *, secret: str, body: bytes, header: str, tolerance: int = 300
) -> bool:
    """What a receiver does: check the digest and that the timestamp is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = webhook_sign(secret=secret, body=body, timestamp=timestamp)
    return hmac.compare_digest(expected, header)


def webhook_post(*, url: str, secret: str, body: str, delivery_id: str) -> str:
    """POST one signed event; returns the response status as the provider id."""
    data = body.encode()
    request = urllib.request.Request(  # noqa: S310 (https enforced when the endpoint is saved)
        url,
        data=data,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "OutageDesk-Webhook/1",
            "X-OutageDesk-Delivery": delivery_id,
            SIGNATURE_HEADER: webhook_sign(
                secret=secret, body=data, timestamp=int(time.time())
            ),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT) as resp:  # noqa: S310
            return f"http {resp.status}"
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"HTTP {exc.code} from {url}") from exc
    except OSError as exc:
        raise WebhookError(f"{type(exc).__name__}: {exc}") from exc
