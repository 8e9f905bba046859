from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from inkline.planner.admin import retry_items
from inkline.publishing.models import (
    InternalLink,
    LinkSync,
    PublishingSettings,
    RemoteSchedule,
)
from inkline.publishing.services import content_delete
from inkline.writer.models import Content


@admin.register(PublishingSettings)
class PublishingSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "site",
        "scheduling_mode",
        "auto_approval_enabled",
        "auto_publish_enabled",
        "schedule_on_wordpress",
    )


@admin.register(InternalLink)
class InternalLinkAdmin(admin.ModelAdmin):
    list_display = ("source", "target", "position", "cluster", "site")
    raw_id_fields = ("source", "target", "cluster", "site")


@admin.register(LinkSync)
class LinkSyncAdmin(admin.ModelAdmin):
    list_display = ("content", "site", "due_at", "attempts", "error")
    raw_id_fields = ("content", "site")


@admin.register(RemoteSchedule)
class RemoteScheduleAdmin(admin.ModelAdmin):
    list_display = ("content", "site", "remote_id", "held_at", "due_at", "attempts", "error")
    raw_id_fields = ("content", "site")
    readonly_fields = ("token",)


@admin.register(Content)
class ContentAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "site",
        "status",
        "site_status",
        "scheduled_publish_at",
        "word_count",
        "seo_score",
    )
    list_filter = ("status", "site_status")
    search_fields = ("title", "slug")
    raw_id_fields = ("task", "cluster")
    actions = [retry_items]

    # Through the service, so published articles of the cluster drop their links to it.
    def delete_model(self, request: Any, obj: Content) -> None:
        content_delete(content=obj)

    def delete_queryset(self, request: Any, queryset: QuerySet[Content]) -> None:
        for content in queryset.select_related("site"):
            content_delete(content=content)
