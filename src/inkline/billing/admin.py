from django.contrib import admin

from inkline.billing.models import (
    CreditCostConfig,
    CreditHold,
    CreditTransaction,
    RunBudget,
    RunBudgetLine,
    SiteAIBudgetAllocation,
)


@admin.register(CreditCostConfig)
class CreditCostConfigAdmin(admin.ModelAdmin):
    list_display = (
        "operation_type",
        "unit",
        "cost_per_unit",
        "budget_percentage",
        "is_active",
    )


@admin.register(SiteAIBudgetAllocation)
class SiteAIBudgetAllocationAdmin(admin.ModelAdmin):
    list_display = ("site", "use_global_defaults")


@admin.register(CreditHold)
class CreditHoldAdmin(admin.ModelAdmin):
    list_display = ("key", "account", "operation_type", "amount", "status", "expires_at")
    list_filter = ("status", "operation_type")


@admin.register(CreditTransaction)
class CreditTransactionAdmin(admin.ModelAdmin):
    """The ledger is append-only: read-only here."""

    list_display = ("at", "account", "kind", "amount", "balance_after", "operation_type")
    list_filter = ("kind", "operation_type")
    search_fields = ("description", "idempotency_key")

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class RunBudgetLineInline(admin.TabularInline):
    model = RunBudgetLine
    fields = ("operation_type", "limit", "used", "spent")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(RunBudget)
class RunBudgetAdmin(admin.ModelAdmin):
    """A run's cap and what it used: written only by holds and captures, read-only here."""

    list_display = ("run", "cap", "used", "spent", "created_at")
    readonly_fields = ("run", "cap", "used", "spent", "percentages", "created_at")
    inlines = [RunBudgetLineInline]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(RunBudgetLine)
class RunBudgetLineAdmin(admin.ModelAdmin):
    list_display = ("budget", "operation_type", "limit", "used", "spent")
    list_filter = ("operation_type",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
