from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from inkline.accounts.models import Account
from inkline.billing.models import (
    CreditCostConfig,
    CreditHold,
    CreditTransaction,
    RunBudget,
    RunBudgetLine,
    SiteAIBudgetAllocation,
)
from inkline.billing.services.adjustments import MAX_ADJUSTMENT, MAX_REASON, credits_adjust
from inkline.core.errors import ApplicationError


class AdjustmentForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text="Credits to add (positive) or remove (negative) on each selected account.",
    )
    reason = forms.CharField(max_length=MAX_REASON, help_text="Kept in the ledger.")
    # One key per rendered form: submitting it twice adjusts once.
    key = forms.CharField(widget=forms.HiddenInput)


@admin.action(description="Adjust credits…", permissions=["change"])
def adjust_credits(
    modeladmin: admin.ModelAdmin[Account], request: HttpRequest, queryset: QuerySet[Account]
) -> TemplateResponse | None:
    """Ask for an amount and a reason, then adjust each selected account through the
    service (one ledger row each; a removal beyond an account's available credits is
    refused for that account only)."""
    form = AdjustmentForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        done = 0
        for account in queryset.order_by("pk"):
            try:
                credits_adjust(
                    account=account,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    idempotency_key=f"admin:{form.cleaned_data['key']}:{account.pk}",
                )
            except ApplicationError as exc:
                modeladmin.message_user(request, f"{account}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request, f"Adjusted {done} account{'s' if done != 1 else ''}.", messages.SUCCESS
            )
        return None
    if not form.is_bound:
        form = AdjustmentForm(initial={"key": uuid.uuid4().hex})
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "title": "Adjust credits",
        "opts": modeladmin.model._meta,
        "form": form,
        "accounts": list(queryset.order_by("pk")),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/billing/adjust_credits.html", context)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "credits", "credits_held", "low_balance_threshold", "created_at")
    search_fields = ("name",)
    # The balance changes only through the ledger: "Adjust credits…" writes an adjustment row.
    readonly_fields = ("credits", "credits_held")
    actions = [adjust_credits]


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
