"""Memberships and sites. Accounts are registered by billing's admin, which owns their
balance (changed only through the ledger)."""

from typing import Any

from django.contrib import admin

from inkline.accounts.models import BrandVoice, Membership, Site
from inkline.accounts.services import brand_voice_update
from inkline.accounts.voice import FIELDS


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


@admin.register(BrandVoice)
class BrandVoiceAdmin(admin.ModelAdmin):
    list_display = ("site", "point_of_view", "reading_ease", "updated_at")
    list_filter = ("point_of_view",)
    search_fields = ("site__name",)
    raw_id_fields = ("site",)
    fields = ("site", *FIELDS)

    def save_model(self, request: Any, obj: BrandVoice, form: Any, change: bool) -> None:
        """Saved by the service, so the admin keeps the API's rules (bounds, cleaned lists)."""
        changes = {name: getattr(obj, name) for name in FIELDS}
        obj.pk = brand_voice_update(site=obj.site, **changes).pk
