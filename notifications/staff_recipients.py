"""Who hears about notices that failed for good."""

from django.conf import settings
from django.db.models import Q

from outage_desk.models import User

from .models import Channel
from .services import Recipient


def staff_alert_recipients() -> list[Recipient]:
    """NOTICE_FAILURE_ALERT_EMAILS, or else every active user who may resend notices."""
    if settings.NOTICE_FAILURE_ALERT_EMAILS:
        return [
            Recipient(Channel.EMAIL, address, settings.LANGUAGE_CODE)
            for address in settings.NOTICE_FAILURE_ALERT_EMAILS
        ]
    perm = Q(codename="resend_notice", content_type__app_label="notifications")
    users = (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=_perms(perm))
            | Q(user_permissions__in=_perms(perm))
        )
        .distinct()
        .order_by("pk")
    )
    return [
        Recipient(Channel.EMAIL, user.email, user.language or settings.LANGUAGE_CODE)
        for user in users
    ]


def _perms(query: Q) -> list[int]:
    from django.contrib.auth.models import Permission

    return list(Permission.objects.filter(query).values_list("pk", flat=True))
