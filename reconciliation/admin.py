from django.contrib import admin

from .models import ImportBatch, ImportProfile, MatchSettings, ReconciliationRun


@admin.register(ImportProfile)
class ImportProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "format", "encoding", "delimiter", "date_format", "sign"]
    search_fields = ["name"]


@admin.register(MatchSettings)
class MatchSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "incident",
        "date_window",
        "settlement_grace",
        "amount_tolerance",
        "fuzzy_threshold",
    ]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Imports and runs are written by services only; the admin just shows them."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "incident", "format", "status", "rows_loaded"]
    list_filter = ["status", "format"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "incident", "status", "dry_run", "started_at", "finished_at"]
    list_filter = ["status", "dry_run"]
