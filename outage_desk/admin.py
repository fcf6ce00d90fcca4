from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, AuditEvent, TaskRun, User
from .tokens import api_token_revoke


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "branch", "is_staff", "is_active"]
    list_filter = ["groups", "branch", "is_staff", "is_active"]
    fieldsets = [
        *(BaseUserAdmin.fieldsets or ()),
        ("Outage Desk", {"fields": ["branch", "language"]}),
    ]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Audit events are append-only: visible, never added, changed or deleted here."""

    list_display = ["id", "created_at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "action"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see and revoke tokens; keys are never stored, so never shown."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = [
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):  # type: ignore[no-untyped-def]
        for token in queryset:
            api_token_revoke(token=token, by=request.user)


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    """Tasks running now, and those that failed for good (deleted once dealt with)."""

    list_display = ["started_at", "name", "task_id", "attempts", "status", "failed_at"]
    list_filter = ["status", "name"]
    search_fields = ["task_id", "name"]
    readonly_fields = [
        "task_id",
        "name",
        "attempts",
        "status",
        "error",
        "started_at",
        "failed_at",
    ]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
