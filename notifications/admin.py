"""Read-only admin views: every change goes through the staff screens and services."""

from django.contrib import admin

from .models import (
    DeliveryAttempt,
    Notice,
    NoticeTemplateVersion,
    OptOut,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class DeliveryAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "channel", "ok", "provider_message_id", "error"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "channel",
        "recipient",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["recipient", "dedupe_key"]
    inlines = [DeliveryAttemptInline]


@admin.register(NoticeTemplateVersion)
class NoticeTemplateVersionAdmin(ReadOnlyAdmin):
    list_display = ["template", "number", "status", "created_by", "approved_by"]
    list_filter = [
        "status",
        "template__kind",
        "template__channel",
        "template__language",
    ]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["name", "url", "active", "created_at"]
    exclude = ["secret"]


@admin.register(OptOut)
class OptOutAdmin(ReadOnlyAdmin):
    list_display = ["channel", "address", "created_at"]
    search_fields = ["address"]
