from django.contrib import admin

from .models import Branch, Customer


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "timezone", "currency", "refreshed_at"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["account", "name", "tier", "language", "branch"]
    list_filter = ["tier", "language", "branch"]
    search_fields = ["account", "name", "phone"]
