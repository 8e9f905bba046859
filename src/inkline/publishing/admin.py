from django.contrib import admin

from inkline.publishing.models import InternalLink, LinkSync, PublishingSettings


@admin.register(PublishingSettings)
class PublishingSettingsAdmin(admin.ModelAdmin):
    list_display = ("site", "scheduling_mode", "auto_approval_enabled", "auto_publish_enabled")


@admin.register(InternalLink)
class InternalLinkAdmin(admin.ModelAdmin):
    list_display = ("source", "target", "position", "cluster", "site")
    raw_id_fields = ("source", "target", "cluster", "site")


@admin.register(LinkSync)
class LinkSyncAdmin(admin.ModelAdmin):
    list_display = ("content", "site", "due_at", "attempts", "error")
    raw_id_fields = ("content", "site")
