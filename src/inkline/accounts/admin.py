"""Memberships and sites. Accounts are registered by billing's admin, which owns their
balance (changed only through the ledger); brand voices by writer's, whose service has held
articles judged again when what the SEO gate checks changes."""

from django.contrib import admin

from inkline.accounts.models import Membership, Site


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
