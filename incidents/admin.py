from django.contrib import admin

from .models import Component, Incident


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
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
    readonly_fields = ["reference", "status"]
