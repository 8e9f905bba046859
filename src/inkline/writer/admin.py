from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from inkline.planner.admin import retry_items
from inkline.publishing.services import content_delete
from inkline.writer.models import Content, Image, SeoSettings, WritingTask
from inkline.writer.quality import seo_settings_update


@admin.register(WritingTask)
class WritingTaskAdmin(admin.ModelAdmin):
    list_display = ("title", "site", "status", "attempts", "created_at")
    list_filter = ("status",)
    search_fields = ("title",)
    raw_id_fields = ("idea", "cluster")
    actions = [retry_items]


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


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("content", "kind", "position", "status", "attempts")
    list_filter = ("status", "kind")
    raw_id_fields = ("content",)
    actions = [retry_items]


@admin.register(SeoSettings)
class SeoSettingsAdmin(admin.ModelAdmin):
    list_display = ("site", "approval_threshold", "updated_at")
    fields = ("site", "approval_threshold")
    raw_id_fields = ("site",)

    def save_model(self, request: Any, obj: SeoSettings, form: Any, change: bool) -> None:
        # Through the service, so content held under the old threshold is judged again.
        obj.pk = seo_settings_update(site=obj.site, approval_threshold=obj.approval_threshold).pk
