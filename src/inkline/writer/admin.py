"""Writing tasks, images, SEO settings and sites' brand voices. Articles are registered by
publishing's admin: deleting one goes through publishing (links of published articles are
decided again)."""

from typing import Any

from django.contrib import admin

from inkline.accounts.models import BrandVoice
from inkline.accounts.voice import FIELDS
from inkline.planner.admin import retry_items
from inkline.writer.models import ContentRevision, Image, SeoSettings, WritingTask
from inkline.writer.quality import brand_voice_change, seo_settings_update


@admin.register(WritingTask)
class WritingTaskAdmin(admin.ModelAdmin):
    list_display = ("title", "site", "status", "attempts", "created_at")
    list_filter = ("status",)
    search_fields = ("title",)
    raw_id_fields = ("idea", "cluster")
    actions = [retry_items]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("content", "kind", "position", "status", "attempts")
    list_filter = ("status", "kind")
    raw_id_fields = ("content",)
    actions = [retry_items]


@admin.register(SeoSettings)
class SeoSettingsAdmin(admin.ModelAdmin):
    list_display = ("site", "approval_threshold", "min_words", "updated_at")
    fields = ("site", "approval_threshold", "min_words")
    raw_id_fields = ("site",)

    def save_model(self, request: Any, obj: SeoSettings, form: Any, change: bool) -> None:
        # Through the service, so content held under the old threshold is judged again.
        obj.pk = seo_settings_update(
            site=obj.site, approval_threshold=obj.approval_threshold, min_words=obj.min_words
        ).pk


@admin.register(BrandVoice)
class BrandVoiceAdmin(admin.ModelAdmin):
    list_display = ("site", "point_of_view", "reading_ease", "updated_at")
    list_filter = ("point_of_view",)
    search_fields = ("site__name",)
    raw_id_fields = ("site",)
    fields = ("site", *FIELDS)

    def get_readonly_fields(self, request: Any, obj: BrandVoice | None = None) -> tuple[str, ...]:
        return ("site",) if obj is not None else ()  # a voice stays with its site

    def save_model(self, request: Any, obj: BrandVoice, form: Any, change: bool) -> None:
        # Through the service: the API's rules (the model's `clean` checked them), and held
        # articles judged again when the words to avoid or the reading-ease target change.
        changes = {name: getattr(obj, name) for name in FIELDS}
        obj.pk = brand_voice_change(site=obj.site, **changes).pk


@admin.register(ContentRevision)
class ContentRevisionAdmin(admin.ModelAdmin):
    """Refreshes of published articles: read here; decided on the review page or the API
    (approval pushes the article to its publisher)."""

    list_display = ("content", "number", "status", "trigger_type", "decided_by", "created_at")
    list_filter = ("status", "trigger_type")
    raw_id_fields = ("content", "site")

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: Any) -> bool:
        return False
