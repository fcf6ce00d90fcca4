"""Customers' opt-out: signed one-click unsubscribe links and recording the choice."""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from outage_desk.audit import audit_record

from .models import OptOut

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
UNSUBSCRIBE_BAD_LINK = _(
    "This unsubscribe link is not valid. Please use the link from your latest message."
)


def unsubscribe_token(*, channel: str, address: str) -> str:
    """A signed token naming one channel and address; it does not expire."""
    return signing.dumps({"c": channel, "a": address}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> tuple[str, str]:
    """The channel and address a token names; BadSignature when it was tampered with."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    return str(data["c"]), str(data["a"])


def unsubscribe_url(*, channel: str, address: str) -> str:
    path = reverse(
        "notifications:unsubscribe",
        kwargs={"token": unsubscribe_token(channel=channel, address=address)},
    )
    return f"{settings.SITE_URL.rstrip('/')}{path}"


@transaction.atomic
def optout_record(*, channel: str, address: str) -> OptOut:
    """Stop non-mandatory notices to this address on this channel; repeating is harmless."""
    optout, created = OptOut.objects.get_or_create(channel=channel, address=address)
    if created:
        audit_record(
            action="notice.opt_out",
            obj=optout,
            data={"channel": channel, "address": address},
        )
    return optout
