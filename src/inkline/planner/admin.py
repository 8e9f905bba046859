from django.contrib import admin

from inkline.planner.models import (
    Cluster,
    ContentIdea,
    Keyword,
    KeywordImportJob,
    KeywordImportUpload,
)


@admin.action(description="Retry: reset failed attempts")
def retry_items(modeladmin: admin.ModelAdmin, request: object, queryset: object) -> None:
    queryset.update(attempts=0, last_error="")  # type: ignore[attr-defined]


@admin.register(Keyword)
class KeywordAdmin(admin.ModelAdmin):
    list_display = ("phrase", "site", "status", "cluster", "volume", "attempts")
    list_filter = ("status", "intent")
    search_fields = ("phrase",)
    raw_id_fields = ("cluster",)
    actions = [retry_items]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "site", "status", "attempts", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    actions = [retry_items]


@admin.register(ContentIdea)
class ContentIdeaAdmin(admin.ModelAdmin):
    list_display = ("title", "site", "content_type", "status", "created_at")
    list_filter = ("status", "content_type")
    search_fields = ("title", "primary_keyword")
    raw_id_fields = ("cluster",)
    actions = [retry_items]


@admin.register(KeywordImportJob)
class KeywordImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "site",
        "status",
        "progress",
        "total_lines",
        "created_count",
        "duplicate_count",
        "error_count",
        "epoch",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "source")
    raw_id_fields = ("site",)
    readonly_fields = ("epoch", "lease_expires_at", "started_at", "finished_at")


@admin.register(KeywordImportUpload)
class KeywordImportUploadAdmin(admin.ModelAdmin):
    """Pieces of unfinished jobs' files (their bytes are not shown)."""

    list_display = ("job", "seq")
    exclude = ("data",)
    raw_id_fields = ("job",)
