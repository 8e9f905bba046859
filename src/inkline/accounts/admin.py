from django.contrib import admin

from inkline.accounts.models import Account, Membership, Site
from inkline.billing.admin import adjust_credits


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "credits", "credits_held", "low_balance_threshold", "created_at")
    search_fields = ("name",)
    # The balance changes only through the ledger: "Adjust credits…" writes an adjustment row.
    readonly_fields = ("credits", "credits_held")
    actions = [adjust_credits]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "role")
    list_filter = ("role",)


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    # publisher_secrets is never shown: it is excluded from forms and lists.
    list_display = ("name", "account", "url", "timezone", "publisher")
    list_filter = ("publisher",)
    search_fields = ("name", "url")
    exclude = ("publisher_secrets",)
