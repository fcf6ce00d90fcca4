"""Admin for incidents. Logs and timelines are read-only here: writes go through the
staff screens, whose services audit every change."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    ActionItem,
    BankContact,
    CompensationOffer,
    CompensationRule,
    Component,
    Incident,
    IncidentUpdate,
    Review,
    RoleAssignment,
    StatusBanner,
    Subscriber,
)
from .services.compensation import compensation_rule_delete, compensation_rule_save


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UpdateInline(ReadOnlyInline):
    model = IncidentUpdate
    fields = ["created_at", "audience", "status", "texts", "eta", "notify_customers"]


class RoleInline(ReadOnlyInline):
    model = RoleAssignment
    fields = ["role", "user", "assigned_at", "ended_at"]


class ContactInline(ReadOnlyInline):
    model = BankContact
    fields = [
        "contacted_at",
        "channel",
        "bank_ticket_ref",
        "summary",
        "follow_up_due_at",
    ]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "position"]
    list_editable = ["position"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "reference",
        "title",
        "kind",
        "severity",
        "status",
        "impact_started_at",
    ]
    list_filter = ["kind", "severity", "status"]
    search_fields = ["reference", "title"]
    # Status and restore move only through the lifecycle services (audited).
    readonly_fields = [
        "reference",
        "kind",
        "status",
        "declared_at",
        "first_notice_at",
        "restored_at",
        "reminders_sent",
        "created_by",
    ]
    inlines = [UpdateInline, RoleInline, ContactInline]


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(ReadOnlyAdmin):
    list_display = ["incident", "created_at", "audience", "status", "notify_customers"]
    list_filter = ["audience", "notify_customers"]
    search_fields = ["incident__reference"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["incident", "role", "user", "assigned_at", "ended_at"]
    list_filter = ["role"]
    search_fields = ["incident__reference", "user__username"]


@admin.register(BankContact)
class BankContactAdmin(ReadOnlyAdmin):
    list_display = [
        "incident",
        "contacted_at",
        "channel",
        "bank_ticket_ref",
        "staff",
        "follow_up_due_at",
        "escalation",
    ]
    list_filter = ["channel", "escalation"]
    search_fields = ["incident__reference", "bank_ticket_ref", "bank_agent"]
    exclude = ["evidence"]  # served only through the permission-checked view


@admin.register(StatusBanner)
class StatusBannerAdmin(ReadOnlyAdmin):
    list_display = ["active", "changed_by", "changed_at"]


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    list_display = [
        "channel",
        "masked_address",
        "language",
        "confirmed_at",
        "unsubscribed_at",
    ]
    list_filter = ["channel", "language"]
    search_fields = ["address"]


@admin.register(CompensationRule)
class CompensationRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rules are configuration: edited here, each change audited by the service."""

    list_display = [
        "incident",
        "tier",
        "min_minutes",
        "max_minutes",
        "offer_kind",
        "value",
        "currency",
        "cap",
    ]
    list_filter = ["tier", "offer_kind"]

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        compensation_rule_save(rule=obj, actor=request.user)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        compensation_rule_delete(rule=obj, actor=request.user)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Bulk deletes would skip the audit; one rule at a time only.
        return obj is not None and super().has_delete_permission(request, obj)


@admin.register(CompensationOffer)
class CompensationOfferAdmin(ReadOnlyAdmin):
    list_display = [
        "incident",
        "account",
        "tier",
        "offer_kind",
        "cost",
        "currency",
        "status",
    ]
    list_filter = ["status", "offer_kind"]
    exclude = ["address"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["incident", "prepared_at", "completed_at"]


@admin.register(ActionItem)
class ActionItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "owner", "due_on", "done_at"]
    list_filter = ["kind"]
