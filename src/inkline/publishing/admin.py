from django.contrib import admin

from inkline.publishing.models import PublishingSettings


@admin.register(PublishingSettings)
class PublishingSettingsAdmin(admin.ModelAdmin):
    list_display = ("site", "scheduling_mode", "auto_approval_enabled", "auto_publish_enabled")
