"""Every write of the notifications app; other apps call notify() and Recipient only."""

from .events import (
    EventOccurrence,
    webhook_endpoints_subscribed,
    webhook_events_publish,
)
from .outbox import (
    NOTIFY_INVALID_EMAIL,
    NOTIFY_INVALID_PHONE,
    NOTIFY_NO_TEMPLATE,
    NOTIFY_UNKNOWN_CHANNEL,
    NOTIFY_UNKNOWN_KIND,
    NOTIFY_UNKNOWN_WEBHOOK,
    Recipient,
    notify,
    recipient_clean,
    template_version_current,
    templates_load_defaults,
    webhook_event_publish,
)
from .staff import notice_resend, webhook_endpoint_create, webhook_url_validate
from .templates import (
    template_preview,
    template_sources_validate,
    template_version_approve,
    template_version_create,
)

__all__ = [
    "NOTIFY_INVALID_EMAIL",
    "NOTIFY_INVALID_PHONE",
    "NOTIFY_NO_TEMPLATE",
    "NOTIFY_UNKNOWN_CHANNEL",
    "NOTIFY_UNKNOWN_KIND",
    "NOTIFY_UNKNOWN_WEBHOOK",
    "EventOccurrence",
    "Recipient",
    "notice_resend",
    "notify",
    "recipient_clean",
    "template_preview",
    "template_sources_validate",
    "template_version_approve",
    "template_version_create",
    "template_version_current",
    "templates_load_defaults",
    "webhook_endpoint_create",
    "webhook_endpoints_subscribed",
    "webhook_event_publish",
    "webhook_events_publish",
    "webhook_url_validate",
]
