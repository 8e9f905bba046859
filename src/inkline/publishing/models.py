"""Per-site publishing settings: when approved content goes live."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

from inkline.core.models import TimeStampedModel

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_publish_days() -> list[str]:
    return ["mon", "tue", "wed", "thu", "fri"]


def default_time_slots() -> list[str]:
    return ["09:00", "14:00", "18:00"]


class SchedulingMode(models.TextChoices):
    TIME_SLOTS = "time_slots", "Time slots"
    STAGGER = "stagger", "Staggered"
    IMMEDIATE = "immediate", "Immediate"


class PublishingSettings(TimeStampedModel):
    site = models.OneToOneField(
        "accounts.Site", on_delete=models.CASCADE, related_name="publishing_settings"
    )
    auto_approval_enabled = models.BooleanField(default=True)
    auto_publish_enabled = models.BooleanField(default=True)
    scheduling_mode = models.CharField(
        max_length=12, choices=SchedulingMode.choices, default=SchedulingMode.TIME_SLOTS
    )
    publish_days = models.JSONField(default=default_publish_days)
    publish_time_slots = models.JSONField(default=default_time_slots)
    stagger_start_time = models.TimeField(default=dt.time(9, 0))
    stagger_end_time = models.TimeField(default=dt.time(18, 0))
    stagger_interval_minutes = models.PositiveIntegerField(default=15)
    daily_publish_target = models.PositiveIntegerField(default=3)
    weekly_publish_target = models.PositiveIntegerField(default=15)
    monthly_publish_target = models.PositiveIntegerField(default=50)
    queue_limit = models.PositiveIntegerField(default=100)

    class Meta:
        verbose_name_plural = "publishing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(stagger_interval_minutes__gte=1), name="stagger_interval_positive"
            ),
            models.CheckConstraint(condition=Q(queue_limit__gte=1), name="queue_limit_positive"),
            models.CheckConstraint(
                condition=Q(stagger_end_time__gt=models.F("stagger_start_time")),
                name="stagger_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Publishing settings of {self.site}"
