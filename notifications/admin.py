from django.contrib import admin

from .models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
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
