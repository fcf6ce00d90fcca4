"""SMS: length and segments (GSM-7 or UCS-2), and pluggable sending backends.

``SMS_BACKEND`` names a class with ``open()``, ``send(to, text, reference) -> str``
(the provider's message id) and ``close()``. The default writes each message to a
file under ``SMS_FILE_PATH``; ``HttpSmsBackend`` is an example provider adapter.
"""

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

# The GSM 03.38 default alphabet, and the extension table whose characters cost two.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int


def sms_length(text: str) -> SmsLength:
    """How a text is encoded and how many segments it takes (concatenated SMS)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SmsLength(encoding, units, 1 if units else 0, single)
    return SmsLength(encoding, units, -(-units // multi), multi)


class SmsError(Exception):
    """The provider refused the message or could not be reached."""


class BaseSmsBackend:
    def open(self) -> None:
        """Open a connection for a batch; the default needs none."""

    def close(self) -> None:
        """Close what open() opened."""

    def send(self, *, to: str, text: str, reference: str) -> str:
        raise NotImplementedError


class FileSmsBackend(BaseSmsBackend):
    """Writes each message as a file a developer can read; the default backend."""

    def send(self, *, to: str, text: str, reference: str) -> str:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{reference}.txt"
        stamp = timezone.now().isoformat()
        (folder / name).write_text(
            f"To: {to}\nFrom: {settings.SMS_SENDER}\nDate: {stamp}\n\n{text}\n",
            encoding="utf-8",
        )
        return f"file:{name}"


class HttpSmsBackend(BaseSmsBackend):
    """An example provider adapter: POST JSON with a bearer token, read back an id.

    Providers differ in field names; copy this class and adjust ``payload`` and the
    response parsing. ``reference`` is sent so the provider can drop duplicates.
    """

    def send(self, *, to: str, text: str, reference: str) -> str:
        payload = {
            "from": settings.SMS_SENDER,
            "to": to,
            "text": text,
            "client_ref": reference,
        }
        request = urllib.request.Request(  # noqa: S310 (the URL is configured by staff)
            settings.SMS_HTTP_URL,
            data=json.dumps(payload).encode(),
            headers={
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                body = json.loads(response.read() or b"{}")
        except (OSError, ValueError) as exc:
            raise SmsError(str(exc)) from exc
        return str(body.get("message_id") or body.get("id") or "")


def sms_backend() -> BaseSmsBackend:
    """An instance of the configured backend."""
    backend: BaseSmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
