from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    ApprovalThreshold,
    Branch,
    Customer,
    Deposit,
    DepositConflict,
    DepositEvidence,
    DepositReversal,
    ImportLog,
)


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "timezone",
        "currency",
        "offline_max_amount",
        "offline_max_total",
        "refreshed_at",
    ]
    search_fields = ["code", "name"]
    # Set by import_branches; read-only here (and its split widget has no labels).
    readonly_fields = ["refreshed_at"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["account", "name", "tier", "language", "branch", "refreshed_at"]
    list_filter = ["tier", "language", "branch"]
    search_fields = ["account", "name", "phone"]


@admin.register(ApprovalThreshold)
class ApprovalThresholdAdmin(admin.ModelAdmin):
    list_display = ["branch", "currency", "amount"]
    list_filter = ["branch"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records change only through services; the admin only shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = [
        "receipt_number",
        "branch",
        "account",
        "amount",
        "currency",
        "status",
        "source",
        "received_at",
    ]
    list_filter = ["status", "channel", "source", "branch", "currency"]
    search_fields = ["receipt_number", "account", "payer_name", "reference"]
    list_select_related = ["branch"]
    date_hierarchy = "received_at"


@admin.register(DepositConflict)
class DepositConflictAdmin(ReadOnlyAdmin):
    list_display = ["client_uuid", "deposit", "status", "submitted_by", "submitted_at"]
    list_filter = ["status"]


@admin.register(DepositReversal)
class DepositReversalAdmin(ReadOnlyAdmin):
    list_display = ["deposit", "status", "requested_by", "decided_by", "requested_at"]
    list_filter = ["status"]


@admin.register(DepositEvidence)
class DepositEvidenceAdmin(ReadOnlyAdmin):
    list_display = ["deposit", "content_type", "size", "uploaded_by", "uploaded_at"]
    exclude = ["file"]


@admin.register(ImportLog)
class ImportLogAdmin(ReadOnlyAdmin):
    list_display = ["kind", "file_name", "created", "updated", "skipped", "imported_at"]
    list_filter = ["kind"]
