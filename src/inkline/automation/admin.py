from django.contrib import admin

from inkline.automation.models import AutomationConfig, AutomationRun, RunEvent


@admin.register(AutomationConfig)
class AutomationConfigAdmin(admin.ModelAdmin):
    list_display = ("site", "is_enabled", "frequency", "scheduled_time", "next_run_at")
    list_filter = ("is_enabled", "frequency")


class RunEventInline(admin.TabularInline):
    model = RunEvent
    extra = 0
    fields = ("at", "stage", "level", "message")
    readonly_fields = fields
    can_delete = False


@admin.register(AutomationRun)
class AutomationRunAdmin(admin.ModelAdmin):
    list_display = ("run_id", "site", "status", "trigger_type", "current_stage", "queued_at")
    list_filter = ("status", "trigger_type")
    search_fields = ("run_id",)
    readonly_fields = ("run_id", "lease_owner", "lease_epoch", "lease_expires_at")
    inlines = [RunEventInline]


@admin.register(RunEvent)
class RunEventAdmin(admin.ModelAdmin):
    list_display = ("at", "site", "run", "stage", "level", "message")
    list_filter = ("level",)
