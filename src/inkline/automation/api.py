"""Automation API: input serializer → one service → output serializer."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern
from rest_framework import serializers

from inkline.automation import selectors
from inkline.automation.models import AutomationRun


class RunSerializer(serializers.ModelSerializer[AutomationRun]):
    site = serializers.IntegerField(source="site_id", read_only=True)
    items_remaining = serializers.SerializerMethodField()

    class Meta:
        model = AutomationRun
        fields = [
            "run_id",
            "site",
            "status",
            "trigger_type",
            "current_stage",
            "queued_at",
            "started_at",
            "paused_at",
            "resumed_at",
            "cancelled_at",
            "completed_at",
            "failed_at",
            "initial_snapshot",
            "stage_results",
            "progress_percent",
            "items_remaining",
            "total_credits_used",
            "stopped_reason",
            "error_message",
        ]
        read_only_fields = fields

    def get_items_remaining(self, run: AutomationRun) -> dict[str, Any]:
        return selectors.items_remaining(run.site_id)


urlpatterns: list[URLPattern] = []
