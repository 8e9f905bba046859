from django.contrib import admin

from inkline.planner.admin import retry_items
from inkline.writer.models import Content, Image, WritingTask


@admin.register(WritingTask)
class WritingTaskAdmin(admin.ModelAdmin):
    list_display = ("title", "site", "status", "attempts", "created_at")
    list_filter = ("status",)
    search_fields = ("title",)
    raw_id_fields = ("idea", "cluster")
    actions = [retry_items]


@admin.register(Content)
class ContentAdmin(admin.ModelAdmin):
    list_display = ("title", "site", "status", "site_status", "scheduled_publish_at", "word_count")
    list_filter = ("status", "site_status")
    search_fields = ("title", "slug")
    raw_id_fields = ("task", "cluster")
    actions = [retry_items]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("content", "kind", "position", "status", "attempts")
    list_filter = ("status", "kind")
    raw_id_fields = ("content",)
    actions = [retry_items]
