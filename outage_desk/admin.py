from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import AuditEvent, User


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
